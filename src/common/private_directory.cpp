#include "cryptounet/common/private_directory.h"

#include "cryptounet/common/error.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

namespace cryptounet {
namespace fs = std::filesystem;

void check_private_directory(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) throw io_error("cannot use folder", dir.string(), errno);
  if (!S_ISDIR(st.st_mode)) throw IoError("'" + dir.string() + "' exists and is not a folder");
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw SecurityError("folder '" + dir.string() + "' can be written by " +
                        ((st.st_mode & S_IWOTH) ? "every user" : "its group") + " (mode " + mode +
                        "): others could replace or plant files in it. Use a new folder (it is "
                        "created 0700) or remove group/other write permission yourself");
  }
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
      throw io_error("cannot create folder", it->string(), errno);
    }
    ::chmod(it->c_str(), 0700);
  }
}

}  // namespace cryptounet
