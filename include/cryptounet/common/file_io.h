// Whole files: bounded reads and atomic, durable writes. Every reader of an outside file goes
// through read_file (a size bound checked before anything is allocated; folders, FIFOs and
// devices refused with a clear message), every writer of a result, key or job file through
// write_file_atomic (a crash leaves the old file or the new one, never a torn one).
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cryptounet {

/// The size bound for a file this program wrote itself into its own private (0700) folder: a
/// server's job store, a client's key folder. Never for a file a user or a peer hands in.
inline constexpr std::uint64_t kOwnFileAnySize = std::numeric_limits<std::uint64_t>::max();

/// Throws IoError unless `path` names a regular file (after symlinks): a folder, FIFO, device or
/// socket as an input gets a clear message instead of "short read" or a hang. Never blocks.
void check_regular_file(const std::string& path);

/// Reads a whole file, refusing files larger than `max_bytes` (FormatError) before reading them.
std::vector<std::uint8_t> read_file(const std::string& path, std::uint64_t max_bytes);

/// read_file's bytes as a std::string (JSON, blobs handed on as text-typed buffers).
std::string read_file_string(const std::string& path, std::uint64_t max_bytes);

/// Writes a file atomically and durably: a temporary file ".tmp-NAME-XXXXXX" (mode 0600) in the same
/// folder, fsync, rename, fsync the folder. A crash leaves either the old file or the new one, never a
/// torn one. Throws IoError.
void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/// fsync of a folder, so that renames and creations in it are durable. Throws IoError.
void fsync_directory(const std::filesystem::path& dir);

}  // namespace cryptounet
