// Element-wise work over the limbs of a polynomial, as pool tasks of (limb, coefficient range):
// with a limb count that is not a multiple of the pool size, whole-limb tasks leave threads idle
// at the end of the region (9 limbs on 2 threads: 5 + 4), so each limb is then split in
// pool-size ranges. Only for per-coefficient work (the words do not depend on the split).
#pragma once

#include <algorithm>
#include <cstddef>

#include "cryptounet/math/parallel.h"

namespace cryptounet::ckks::detail {

/// fn(t, lo, hi) for every limb t in [0, limbs), over coefficient ranges that cover [0, n).
template <class F>
void parallel_for_limb_ranges(math::ThreadPool& pool, std::size_t limbs, std::size_t n, F&& fn) {
  const std::size_t threads = static_cast<std::size_t>(pool.size());
  const std::size_t splits = (threads > 1 && limbs % threads != 0 && n % 8 == 0 && n >= 64 * threads) ? threads : 1;
  // Ranges of a multiple of 8 words (vector kernels), the last one possibly shorter.
  const std::size_t chunk = splits == 1 ? n : (n / splits + 7) / 8 * 8;
  pool.parallel_for(0, limbs * splits, [&](std::size_t task) {
    const std::size_t t = task / splits, lo = (task % splits) * chunk;
    if (lo < n) fn(t, lo, std::min(n, lo + chunk));
  });
}

}  // namespace cryptounet::ckks::detail
