#include "client/progress.h"

#include <cstdio>
#include <unistd.h>

namespace cryptounet::client {

ByteProgress stderr_progress(std::string what) {
  return [what = std::move(what), tty = ::isatty(STDERR_FILENO) != 0, last = -1](std::uint64_t done,
                                                                                 std::uint64_t total) mutable {
    const int pct = total > 0 ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)) : 100;
    const bool end = done >= total;
    if (pct == last || (!tty && pct / 10 == last / 10 && !end)) return;
    last = pct;
    std::fprintf(stderr, "%s%s %.1f / %.1f MiB (%d%%)%s", tty ? "\r" : "", what.c_str(),
                 static_cast<double>(done) / 1048576.0, static_cast<double>(total) / 1048576.0, pct,
                 tty && !end ? "" : "\n");
    std::fflush(stderr);
  };
}

}  // namespace cryptounet::client
