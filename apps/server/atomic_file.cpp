#include "server/atomic_file.h"

#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cryptounet::server {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& op, const fs::path& path) {
  throw IoError(op + " " + path.string() + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

void fsync_directory(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) fail("fsync_directory: open", dir);
  if (::fsync(fd.get()) != 0) fail("fsync_directory: fsync", dir);
}

void make_private_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("make_private_directory " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
}

void write_file_atomic(const fs::path& path, std::string_view data) {
  // The project's one implementation (common/binary_io.h): temp file, fsync, rename, fsync folder.
  cryptounet::write_file_atomic(
      path.string(), {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
}

std::string read_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail("read_file: open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("read_file: stat", path);
  std::string out;
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("read_file: read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace cryptounet::server
