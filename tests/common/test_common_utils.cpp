// common/bit_reverse.h, stopwatch.h, secure_random.h, private_directory.h, file_io.h's string forms.
#include "cryptounet/common/bit_reverse.h"
#include "cryptounet/common/error.h"
#include "cryptounet/common/file_io.h"
#include "cryptounet/common/private_directory.h"
#include "cryptounet/common/secure_random.h"
#include "cryptounet/common/stopwatch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

namespace cryptounet {
namespace {
namespace fs = std::filesystem;

TEST(BitReverse, SmallWidthsAndInvolution) {
  EXPECT_EQ(bit_reverse(0b0001, 4), 0b1000u);
  EXPECT_EQ(bit_reverse(0b0110, 4), 0b0110u);
  EXPECT_EQ(bit_reverse(0b1011, 4), 0b1101u);
  EXPECT_EQ(bit_reverse(5, 0), 0u);
  EXPECT_EQ(bit_reverse(0b111, 2), 0b11u);  // bits above `bits` are dropped
  for (std::size_t x = 0; x < 1024; ++x) EXPECT_EQ(bit_reverse(bit_reverse(x, 10), 10), x);
  static_assert(bit_reverse(1, 12) == 2048);
}

TEST(Stopwatch, CountsForward) {
  Stopwatch w;
  const double a = w.seconds();
  EXPECT_GE(a, 0.0);
  EXPECT_GE(w.restart(), a);
  EXPECT_LT(w.seconds(), 10.0);
}

TEST(SecureRandom, HexIdsAndCompare) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string id = random_hex(16);
    EXPECT_TRUE(is_hex_id(id, 32)) << id;
    EXPECT_TRUE(seen.insert(id).second) << "repeated id " << id;
  }
  EXPECT_FALSE(is_hex_id("ABCDEF", 6));  // upper case is not an id
  EXPECT_FALSE(is_hex_id("abc", 4));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secrets"));
}

class CommonFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cu-common-" + random_hex(8));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CommonFiles, PrivateDirectoryCreatedAndChecked) {
  const fs::path d = dir_ / "a" / "b";
  make_private_directory(d);
  struct stat st {};
  ASSERT_EQ(::stat(d.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  make_private_directory(d);  // existing and private: fine
  const fs::path open_dir = dir_ / "open";
  fs::create_directories(open_dir);
  fs::permissions(open_dir, fs::perms::all);
  try {
    make_private_directory(open_dir);
    FAIL() << "a world-writable folder was accepted";
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("can be written by every user"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_private_directory(""), InvalidArgument);
}

TEST_F(CommonFiles, StringReadWriteRoundTripAndBound) {
  const fs::path f = dir_ / "x.json";
  write_file_atomic(f, std::string_view("{\"a\": 1}"));
  EXPECT_EQ(read_file_string(f.string(), 100), "{\"a\": 1}");
  try {
    (void)read_file_string(f.string(), 3);
    FAIL() << "a file over the bound was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("more than the 3 allowed"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)read_file_string(dir_.string(), 100), IoError);  // a folder
  fsync_directory(dir_);
  EXPECT_THROW(fsync_directory(dir_ / "missing"), IoError);
}

}  // namespace
}  // namespace cryptounet
