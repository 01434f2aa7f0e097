// Crash-safe files for the server's data directory: write to a temporary name in the same
// directory, fsync it, rename over the target, fsync the directory. After a crash a reader sees
// either the old file or the complete new one, never a torn write.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace cryptounet::server {

/// Writes `data` to `path` atomically and durably (mode 0600). Throws IoError.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

/// Reads a whole file. Throws IoError if it cannot be opened or read.
std::string read_file(const std::filesystem::path& path);

/// fsync of a directory so that renames and creations in it are durable. Throws IoError.
void fsync_directory(const std::filesystem::path& dir);

/// Creates `dir` (and missing parents) with mode 0700. An existing `dir` is never chmod-ed: it
/// must be a folder that neither its group nor others can write, else SecurityError says why
/// (issue 9: `--out /tmp` once made /tmp 0700). Throws IoError if it cannot be created or is
/// not a folder.
void make_private_directory(const std::filesystem::path& dir);

/// The check make_private_directory applies to an existing folder.
void check_private_directory(const std::filesystem::path& dir);

}  // namespace cryptounet::server
