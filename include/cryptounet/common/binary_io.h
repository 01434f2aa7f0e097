// Bounds-checked little-endian binary encoding shared by every file and wire format of CryptoUNet
// (keys, ciphertexts, plaintexts, plans). A reader never trusts a length field: every read checks
// the bytes left first, and `count()` checks an element count against a caller-given bound before
// anything is allocated, so truncated or hostile input ends in a FormatError, never a crash.
#pragma once

#include "cryptounet/common/error.h"
// Whole-file read and atomic write live in file_io.h; included here for the readers of file
// formats, which take their bytes from read_file.
#include "cryptounet/common/file_io.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cryptounet {

class BinaryWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u16(std::uint16_t v) { put_le(v); }
  void u32(std::uint32_t v) { put_le(v); }
  void u64(std::uint64_t v) { put_le(v); }
  void i32(std::int32_t v) { put_le(static_cast<std::uint32_t>(v)); }
  void f64(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    put_le(bits);
  }
  void raw(std::span<const std::uint8_t> data) { bytes_.insert(bytes_.end(), data.begin(), data.end()); }
  /// A length-prefixed (u32) UTF-8 string.
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  /// An array of u64 words: u64 count, then the words.
  void u64s(std::span<const std::uint64_t> words) {
    u64(words.size());
    reserve_more(words.size() * 8);
    for (std::uint64_t w : words) put_le(w);
  }
  void reserve_more(std::size_t n) { bytes_.reserve(bytes_.size() + n); }
  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  [[nodiscard]] std::vector<std::uint8_t>& bytes() { return bytes_; }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  template <class T>
  void put_le(T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> bytes_;
};

class BinaryReader {
 public:
  /// `what` names the object being read in every error ("ciphertext", "galois key").
  BinaryReader(std::span<const std::uint8_t> data, std::string what)
      : data_(data), what_(std::move(what)) {}

  std::uint8_t u8() { return get_le<std::uint8_t>(); }
  std::uint16_t u16() { return get_le<std::uint16_t>(); }
  std::uint32_t u32() { return get_le<std::uint32_t>(); }
  std::uint64_t u64() { return get_le<std::uint64_t>(); }
  std::int32_t i32() { return static_cast<std::int32_t>(get_le<std::uint32_t>()); }
  double f64() {
    std::uint64_t bits = get_le<std::uint64_t>();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  std::span<const std::uint8_t> raw(std::size_t n) {
    need(n);
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::string str(std::size_t max_len) {
    std::size_t n = check_count(u32(), max_len, 1, "string length");
    auto s = raw(n);
    return std::string(s.begin(), s.end());
  }
  /// Reads a u64 element count and checks it against `max` and against the bytes left
  /// (`element_bytes` each) before the caller allocates anything.
  std::size_t count(std::uint64_t max, std::size_t element_bytes, const char* field) {
    return check_count(u64(), max, element_bytes, field);
  }
  /// Checks an element count read by the caller, as `count` does.
  std::size_t check_count(std::uint64_t n, std::uint64_t max, std::size_t element_bytes,
                          const char* field) const {
    if (n > max)
      throw FormatError(what_ + ": " + field + " " + std::to_string(n) + " exceeds the limit " +
                        std::to_string(max));
    if (element_bytes != 0 && n > remaining() / element_bytes)
      throw FormatError(what_ + ": truncated: " + field + " says " + std::to_string(n) +
                        " elements of " + std::to_string(element_bytes) + " bytes, " +
                        std::to_string(remaining()) + " bytes left");
    return static_cast<std::size_t>(n);
  }
  /// Reads `u64s` written by BinaryWriter::u64s, at most `max` words.
  std::vector<std::uint64_t> u64s(std::uint64_t max, const char* field) {
    std::size_t n = count(max, 8, field);
    std::vector<std::uint64_t> out(n);
    for (auto& w : out) w = get_le<std::uint64_t>();
    return out;
  }
  [[nodiscard]] std::size_t remaining() const { return data_.size() - pos_; }
  [[nodiscard]] std::size_t position() const { return pos_; }
  [[nodiscard]] const std::string& what() const { return what_; }
  /// Throws if bytes are left over (a reader must consume exactly its object).
  void expect_end() const {
    if (remaining() != 0)
      throw FormatError(what_ + ": " + std::to_string(remaining()) + " unexpected trailing bytes");
  }

 private:
  void need(std::size_t n) const {
    if (n > remaining())
      throw FormatError(what_ + ": truncated at byte " + std::to_string(pos_) + " (need " +
                        std::to_string(n) + " more, " + std::to_string(remaining()) + " left)");
  }
  template <class T>
  T get_le() {
    need(sizeof(T));
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(data_[pos_ + i]) << (8 * i));
    pos_ += sizeof(T);
    return v;
  }
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
  std::string what_;
};

/// Kinds of object in a CryptoUNet file; the header names one so a key is never read as a ciphertext.
enum class ObjectKind : std::uint16_t {
  Params = 1,
  SecretKey = 2,
  PublicKey = 3,
  RelinKey = 4,
  GaloisKeys = 5,
  EvaluationKeys = 6,
  Plaintext = 7,
  Ciphertext = 8,
  CiphertextSet = 9,
  Plan = 10,
  EncryptedTensor = 11,  // workflow/he_files.h: a ciphertext set bound to a plan and a key
};

const char* object_kind_name(ObjectKind kind);

/// Every file starts with this 32-byte header: magic "CUNET\0\0\1"-style tag, format version,
/// object kind, the CKKS parameter fingerprint (0 where none applies) and the payload length.
struct FileHeader {
  static constexpr std::uint64_t kMagic = 0x31'54'45'4E'55'43'00'00ULL;  // bytes: 00 00 'C' 'U' 'N' 'E' 'T' '1'
  static constexpr std::uint16_t kVersion = 1;
  static constexpr std::size_t kSize = 32;
  ObjectKind kind{};
  std::uint16_t version = kVersion;
  std::uint64_t fingerprint = 0;
  std::uint64_t payload_bytes = 0;
};

/// Writes the header for a payload of `payload_bytes` that follows it.
void write_header(BinaryWriter& w, ObjectKind kind, std::uint64_t fingerprint, std::uint64_t payload_bytes);

/// Reads and checks a header: magic, version, the expected kind, the expected fingerprint (unless
/// `expected_fingerprint` is 0) and that exactly `payload_bytes` follow. Throws FormatError (or
/// SecurityError for a fingerprint that belongs to other parameters) with a clear message.
/// Defined for BinaryReader and FileReader.
template <class Reader>
FileHeader read_header(Reader& r, ObjectKind expected_kind, std::uint64_t expected_fingerprint);

/// BinaryReader's checks over a file read in pieces, for files too large to hold twice (evaluation
/// keys): the file is opened as read_file opens it (regular files only, at most `max_bytes`, refused
/// before reading), and bytes are read on demand into one reused buffer that is never zero-filled.
/// A span from raw() stays valid only until the next read. A file that ends early (or shrinks while
/// read) gives the FormatError a truncated buffer gives; remaining() counts from the size at open.
class FileReader {
 public:
  FileReader(const std::string& path, std::uint64_t max_bytes, std::string what);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  std::uint8_t u8() { return get_le<std::uint8_t>(); }
  std::uint16_t u16() { return get_le<std::uint16_t>(); }
  std::uint32_t u32() { return get_le<std::uint32_t>(); }
  std::uint64_t u64() { return get_le<std::uint64_t>(); }
  double f64() {
    const std::uint64_t bits = get_le<std::uint64_t>();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  /// The next n bytes, valid until the next read.
  std::span<const std::uint8_t> raw(std::size_t n);
  /// As BinaryReader::check_count.
  std::size_t check_count(std::uint64_t n, std::uint64_t max, std::size_t element_bytes, const char* field) const;
  [[nodiscard]] std::size_t remaining() const { return size_ - pos_; }
  [[nodiscard]] std::size_t position() const { return pos_; }
  [[nodiscard]] const std::string& what() const { return what_; }
  void expect_end() const;

 private:
  template <class T>
  T get_le() {
    const auto b = raw(sizeof(T));
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(b[i]) << (8 * i));
    return v;
  }
  int fd_ = -1;
  std::string path_, what_;
  std::size_t size_ = 0, pos_ = 0;  // file size at open; bytes handed out so far
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;  // buffered bytes are buf_[begin_, end_)
};

}  // namespace cryptounet
