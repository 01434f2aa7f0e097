#include "cryptounet/common/binary_io.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace cryptounet {

const char* object_kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::Params: return "parameters";
    case ObjectKind::SecretKey: return "secret key";
    case ObjectKind::PublicKey: return "public key";
    case ObjectKind::RelinKey: return "relinearisation key";
    case ObjectKind::GaloisKeys: return "Galois keys";
    case ObjectKind::EvaluationKeys: return "evaluation keys";
    case ObjectKind::Plaintext: return "plaintext";
    case ObjectKind::Ciphertext: return "ciphertext";
    case ObjectKind::CiphertextSet: return "ciphertext set";
    case ObjectKind::Plan: return "plan";
    case ObjectKind::EncryptedTensor: return "encrypted tensor";
  }
  return "unknown object";
}

void write_header(BinaryWriter& w, ObjectKind kind, std::uint64_t fingerprint, std::uint64_t payload_bytes) {
  w.u64(FileHeader::kMagic);
  w.u16(FileHeader::kVersion);
  w.u16(static_cast<std::uint16_t>(kind));
  w.u32(0);  // reserved, must be zero
  w.u64(fingerprint);
  w.u64(payload_bytes);
}

template <class Reader>
FileHeader read_header(Reader& r, ObjectKind expected_kind, std::uint64_t expected_fingerprint) {
  const std::string want = object_kind_name(expected_kind);
  if (r.remaining() < FileHeader::kSize)
    throw FormatError(r.what() + ": truncated: " + std::to_string(r.remaining()) +
                      " bytes is shorter than the 32-byte file header (expected: " + want + ")");
  if (r.u64() != FileHeader::kMagic)
    throw FormatError(r.what() + ": not a CryptoUNet file (bad magic number)");
  FileHeader h;
  h.version = r.u16();
  if (h.version != FileHeader::kVersion)
    throw FormatError(r.what() + ": format version " + std::to_string(h.version) +
                      " is not supported (this build reads version " +
                      std::to_string(FileHeader::kVersion) + ")");
  h.kind = static_cast<ObjectKind>(r.u16());
  if (h.kind != expected_kind)
    throw FormatError(r.what() + ": wrong kind of file (holds: " + std::string(object_kind_name(h.kind)) + "; expected: " + want + ")");
  if (r.u32() != 0) throw FormatError(r.what() + ": reserved header field is not zero");
  h.fingerprint = r.u64();
  if (expected_fingerprint != 0 && h.fingerprint != expected_fingerprint)
    throw SecurityError(r.what() + ": made for other CKKS parameters or keys (fingerprint " +
                        std::to_string(h.fingerprint) + ", expected " +
                        std::to_string(expected_fingerprint) + ")");
  h.payload_bytes = r.u64();
  if (h.payload_bytes != r.remaining())
    throw FormatError(r.what() + ": header announces " + std::to_string(h.payload_bytes) +
                      " payload bytes but " + std::to_string(r.remaining()) + " follow" +
                      (h.payload_bytes > r.remaining() ? " (truncated file?)" : ""));
  return h;
}
template FileHeader read_header(BinaryReader&, ObjectKind, std::uint64_t);
template FileHeader read_header(FileReader&, ObjectKind, std::uint64_t);

namespace {
std::string not_regular(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) return "'" + path + "' is a folder, not a file";
  if (S_ISFIFO(mode)) return "'" + path + "' is a FIFO (named pipe), not a file; refused (it could block for ever)";
  return "'" + path + "' is not a regular file (a device or socket); refused";
}
}  // namespace

namespace {
// Opens a regular file of at most max_bytes for reading (blocking mode); returns the fd and its size.
int open_regular(const std::string& path, std::uint64_t max_bytes, std::size_t& size) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw IoError("cannot stat '" + path + "': " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(not_regular(path, st.st_mode));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    throw FormatError("'" + path + "' is " + std::to_string(st.st_size) +
                      " bytes, more than the " + std::to_string(max_bytes) + " allowed here");
  }
  size = static_cast<std::size_t>(st.st_size);
  return fd;
}

// Reads up to len bytes (fewer only at end of file); throws IoError on a read error.
std::size_t read_some(int fd, std::uint8_t* out, std::size_t len, const std::string& path) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = ::read(fd, out + done, len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read '" + path + "': " + std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}
}  // namespace

FileReader::FileReader(const std::string& path, std::uint64_t max_bytes, std::string what)
    : path_(path), what_(std::move(what)) {
  fd_ = open_regular(path, max_bytes, size_);
}

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::span<const std::uint8_t> FileReader::raw(std::size_t n) {
  if (n > remaining())
    throw FormatError(what_ + ": truncated at byte " + std::to_string(pos_) + " (need " + std::to_string(n) +
                      " more, " + std::to_string(remaining()) + " left)");
  if (end_ - begin_ < n) {
    // Keep the unread tail, grow the buffer (uninitialised) if n does not fit, then read ahead:
    // at least n bytes, at most what is left of the file, in reads of at least 1 MiB.
    const std::size_t have = end_ - begin_;
    const std::size_t want = std::max(n, std::min<std::size_t>(std::size_t{1} << 20, remaining()));
    if (want > cap_) {
      auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(want);
      if (have != 0) std::memcpy(bigger.get(), buf_.get() + begin_, have);
      buf_ = std::move(bigger);
      cap_ = want;
    } else if (have != 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, have);
    }
    begin_ = 0;
    end_ = have;
    const std::size_t ahead = std::min(cap_, remaining()) - have;  // file bytes not yet buffered
    const std::size_t got = read_some(fd_, buf_.get() + end_, ahead, path_);
    end_ += got;
    if (end_ - begin_ < n)  // the file shrank since it was opened
      throw FormatError(what_ + ": truncated at byte " + std::to_string(pos_ + end_ - begin_) + " ('" + path_ +
                        "' ended early)");
  }
  const std::span<const std::uint8_t> out(buf_.get() + begin_, n);
  begin_ += n;
  pos_ += n;
  return out;
}

std::size_t FileReader::check_count(std::uint64_t n, std::uint64_t max, std::size_t element_bytes,
                                    const char* field) const {
  if (n > max)
    throw FormatError(what_ + ": " + field + " " + std::to_string(n) + " exceeds the limit " + std::to_string(max));
  if (element_bytes != 0 && n > remaining() / element_bytes)
    throw FormatError(what_ + ": truncated: " + field + " says " + std::to_string(n) + " elements of " +
                      std::to_string(element_bytes) + " bytes, " + std::to_string(remaining()) + " bytes left");
  return static_cast<std::size_t>(n);
}

void FileReader::expect_end() const {
  if (remaining() != 0) throw FormatError(what_ + ": " + std::to_string(remaining()) + " unexpected trailing bytes");
}


}  // namespace cryptounet
