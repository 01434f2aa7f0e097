#include "cryptounet/common/binary_io.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

namespace cryptounet {
namespace {

std::vector<std::uint8_t> sample_file(std::uint64_t fingerprint) {
  BinaryWriter payload;
  payload.u32(7);
  payload.f64(-1.5);
  payload.str("hello");
  std::vector<std::uint64_t> words{1, 2, 3, 0xFFFFFFFFFFFFFFFFULL};
  payload.u64s(words);
  BinaryWriter file;
  write_header(file, ObjectKind::Ciphertext, fingerprint, payload.size());
  file.raw(payload.bytes());
  return file.take();
}

TEST(BinaryIoTest, RoundTrip) {
  auto bytes = sample_file(42);
  BinaryReader r(bytes, "ciphertext");
  FileHeader h = read_header(r, ObjectKind::Ciphertext, 42);
  EXPECT_EQ(h.fingerprint, 42u);
  EXPECT_EQ(r.u32(), 7u);
  EXPECT_EQ(r.f64(), -1.5);
  EXPECT_EQ(r.str(100), "hello");
  auto words = r.u64s(10, "words");
  ASSERT_EQ(words.size(), 4u);
  EXPECT_EQ(words[3], 0xFFFFFFFFFFFFFFFFULL);
  r.expect_end();
}

TEST(BinaryIoTest, EveryTruncationIsAFormatError) {
  auto bytes = sample_file(42);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    BinaryReader r(cut, "ciphertext");
    EXPECT_THROW(
        {
          read_header(r, ObjectKind::Ciphertext, 42);
          r.u32();
          r.f64();
          r.str(100);
          r.u64s(10, "words");
        },
        FormatError)
        << "length " << len;
  }
}

TEST(BinaryIoTest, RejectsWrongKindMagicVersionFingerprintAndTrailingBytes) {
  auto bytes = sample_file(42);
  {
    BinaryReader r(bytes, "key");
    EXPECT_THROW(read_header(r, ObjectKind::GaloisKeys, 42), FormatError);
  }
  {
    BinaryReader r(bytes, "ciphertext");
    EXPECT_THROW(read_header(r, ObjectKind::Ciphertext, 43), SecurityError);
  }
  auto bad_magic = bytes;
  bad_magic[3] ^= 1;
  {
    BinaryReader r(bad_magic, "ciphertext");
    EXPECT_THROW(read_header(r, ObjectKind::Ciphertext, 42), FormatError);
  }
  auto bad_version = bytes;
  bad_version[8] = 9;
  {
    BinaryReader r(bad_version, "ciphertext");
    EXPECT_THROW(read_header(r, ObjectKind::Ciphertext, 42), FormatError);
  }
  auto longer = bytes;
  longer.push_back(0);
  {
    BinaryReader r(longer, "ciphertext");
    EXPECT_THROW(read_header(r, ObjectKind::Ciphertext, 42), FormatError);
  }
}

TEST(BinaryIoTest, CountRefusesHugeLengthBeforeAllocating) {
  BinaryWriter w;
  w.u64(1ULL << 60);  // a hostile length field
  auto bytes = w.take();
  BinaryReader r(bytes, "galois key");
  EXPECT_THROW(r.u64s(1ULL << 62, "limbs"), FormatError);
  BinaryReader r2(bytes, "galois key");
  EXPECT_THROW(r2.count(100, 8, "limbs"), FormatError);
}

TEST(BinaryIoTest, AtomicWriteAndBoundedRead) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "cu_binary_io_test";
  fs::create_directories(dir);
  std::string path = (dir / "x.bin").string();
  std::vector<std::uint8_t> data{1, 2, 3, 4, 5};
  write_file_atomic(path, data);
  EXPECT_EQ(read_file(path, 5), data);
  EXPECT_THROW(read_file(path, 4), FormatError);
  EXPECT_THROW(read_file((dir / "missing.bin").string(), 10), IoError);
  for (const auto& e : fs::directory_iterator(dir))  // no temporary files are left behind
    EXPECT_EQ(e.path().filename().string(), "x.bin");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cryptounet
