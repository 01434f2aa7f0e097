#include "cryptounet/common/file_io.h"

#include "cryptounet/common/error.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cryptounet {
namespace {

std::string not_regular(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) return "'" + path + "' is a folder, not a file";
  if (S_ISFIFO(mode)) return "'" + path + "' is a FIFO (named pipe), not a file; refused (it could block for ever)";
  return "'" + path + "' is not a regular file (a device or socket); refused";
}

// Reads into any contiguous byte container (vector<uint8_t> or string).
template <class Bytes>
Bytes read_whole(const std::string& path, std::uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw io_error("cannot open", path, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw io_error("cannot stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(not_regular(path, st.st_mode));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::FILE* f = ::fdopen(fd, "rb");
  if (!f) {
    const int err = errno;
    ::close(fd);
    throw io_error("cannot open", path, err);
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    std::fclose(f);
    throw FormatError("'" + path + "' is " + std::to_string(st.st_size) +
                      " bytes, more than the " + std::to_string(max_bytes) + " allowed here");
  }
  Bytes bytes(static_cast<std::size_t>(st.st_size), 0);
  std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  if (got != bytes.size()) throw IoError("short read from '" + path + "'");
  return bytes;
}

}  // namespace

void check_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw io_error("cannot open", path, errno);
  if (!S_ISREG(st.st_mode)) throw IoError(not_regular(path, st.st_mode));
}

std::vector<std::uint8_t> read_file(const std::string& path, std::uint64_t max_bytes) {
  return read_whole<std::vector<std::uint8_t>>(path, max_bytes);
}

std::string read_file_string(const std::string& path, std::uint64_t max_bytes) {
  return read_whole<std::string>(path, max_bytes);
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw io_error("fsync_directory: open", dir.string(), errno);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    throw io_error("fsync_directory: fsync", dir.string(), err);
  }
  ::close(fd);
}

void write_file_atomic(const std::filesystem::path& target, std::span<const std::uint8_t> bytes) {
  namespace fs = std::filesystem;
  const std::string path = target.string();
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
      throw io_error("cannot write", path, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw io_error("cannot flush", path, err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw io_error("cannot rename into", path, err);
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

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  write_file_atomic(path, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace cryptounet
