// Folders only their owner may write: a server's data directory, a client's key folder and
// session cache. Created 0700; an existing folder is checked, never chmod-ed.
#pragma once

#include <filesystem>

namespace cryptounet {

/// Creates `dir` (and missing parents) with mode 0700. An existing `dir` is never chmod-ed: it
/// must be a folder that neither its group nor others can write, else SecurityError says why
/// (issue 9: `--out /tmp` once made /tmp 0700). Throws IoError if it cannot be created or is
/// not a folder.
void make_private_directory(const std::filesystem::path& dir);

/// The check make_private_directory applies to an existing folder.
void check_private_directory(const std::filesystem::path& dir);

}  // namespace cryptounet
