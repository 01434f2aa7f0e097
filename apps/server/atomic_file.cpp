#include "server/atomic_file.h"

#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>
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

void check_private_directory(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) fail("cannot use folder", dir);
  if (!S_ISDIR(st.st_mode)) throw IoError("'" + dir.string() + "' exists and is not a folder");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    throw SecurityError("folder '" + dir.string() + "' can be written by " +
                        ((st.st_mode & S_IWOTH) ? "every user" : "its group") +
                        " (mode " + [&] {
                          char m[8];
                          std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(st.st_mode & 07777));
                          return std::string(m);
                        }() + "): others could replace or plant files in it. Use a new folder (it is "
                        "created 0700) or remove group/other write permission yourself");
}

void make_private_directory(const fs::path& dir) {
  if (dir.empty()) throw InvalidArgument("make_private_directory: empty path");
  // Existing folders are checked, never chmod-ed: they are not ours to change.
  std::error_code ec;
  if (fs::exists(dir, ec) || fs::is_symlink(dir, ec)) return check_private_directory(dir);
  // Create the missing components top-down, each 0700 (and chmod-ed to 0700 against the umask:
  // these we did create).
  std::vector<fs::path> missing;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0) {
      if (errno == EEXIST) {  // a concurrent creator: check what is there
        check_private_directory(*it);
        continue;
      }
      fail("cannot create folder", *it);
    }
    ::chmod(it->c_str(), 0700);
  }
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
