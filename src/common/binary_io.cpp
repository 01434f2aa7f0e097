#include "cryptounet/common/binary_io.h"

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

FileHeader read_header(BinaryReader& r, ObjectKind expected_kind, std::uint64_t expected_fingerprint) {
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

namespace {
std::string not_regular(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) return "'" + path + "' is a folder, not a file";
  if (S_ISFIFO(mode)) return "'" + path + "' is a FIFO (named pipe), not a file; refused (it could block for ever)";
  return "'" + path + "' is not a regular file (a device or socket); refused";
}
}  // namespace

void check_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw IoError(not_regular(path, st.st_mode));
}

std::vector<std::uint8_t> read_file(const std::string& path, std::uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw IoError("cannot stat '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(not_regular(path, st.st_mode));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::FILE* f = ::fdopen(fd, "rb");
  if (!f) {
    ::close(fd);
    throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    std::fclose(f);
    throw FormatError("'" + path + "' is " + std::to_string(st.st_size) +
                      " bytes, more than the " + std::to_string(max_bytes) + " allowed here");
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  if (got != bytes.size()) throw IoError("short read from '" + path + "'");
  return bytes;
}

void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  // ".tmp-" prefix: readers of a data folder (the server's job store) recognise and remove leftovers.
  std::string tmp = (dir / (".tmp-" + target.filename().string() + "-XXXXXX")).string();
  int fd = mkstemp(tmp.data());
  if (fd < 0) throw IoError("cannot create a temporary file in '" + dir.string() + "': " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw IoError("cannot write '" + path + "': " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw IoError("cannot flush '" + path + "': " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw IoError("cannot rename into '" + path + "': " + std::strerror(err));
  }
  // The rename is durable only once the folder itself is on disk.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    int err = errno;
    if (dfd >= 0) ::close(dfd);
    throw IoError("cannot fsync folder '" + dir.string() + "' after writing '" + path + "': " + std::strerror(err));
  }
  ::close(dfd);
}

}  // namespace cryptounet
