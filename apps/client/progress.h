// Progress of the client's long steps (making the keys, uploading them: hundreds of MiB and
// seconds to minutes at 128-bit parameters), on stderr only, so that stdout stays for results.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace cryptounet::client {

/// Called with (bytes done, bytes in all).
using ByteProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// A ByteProgress printing "<what> 118.0 / 400.0 MiB (29%)" on stderr: on a terminal one line
/// rewritten in place, otherwise a line at every 10 % step and at the end.
[[nodiscard]] ByteProgress stderr_progress(std::string what);

}  // namespace cryptounet::client
