// Parallel first touch of fresh heap (math/first_touch.h): the buffer pool reserves touched heap
// ahead of its fresh allocations, in steps, only while it is on and a pool has more than one thread.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "cryptounet/math/first_touch.h"
#include "cryptounet/math/parallel.h"
#include "cryptounet/math/rns_poly.h"

namespace cryptounet::math {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Sizes no other test uses, so the buffer pool cannot serve them from its free list.
constexpr std::size_t kN = 1 << 12;

TEST(FirstTouch, FreshBuffersAreReservedAheadWhileOnAndNotWhileOff) {
  if (kSanitized) GTEST_SKIP() << "sanitizer build: buffers bypass the pool";
  ThreadPool pool(2);  // the touching uses the largest pool made so far
  ASSERT_GE(first_touch_stats().threads, 2);

  set_parallel_first_touch(false);
  const FirstTouchStats off0 = first_touch_stats();
  {
    RnsPoly p(kN, 1111);  // 35.5 MB, fresh
    p.limb(1110)[kN - 1] = 7;
    const FirstTouchStats off1 = first_touch_stats();
    EXPECT_EQ(off1.steps, off0.steps);
    EXPECT_EQ(off1.reserved_bytes, off0.reserved_bytes);
    EXPECT_GE(off1.held_bytes, off0.held_bytes + kN * 1111 * sizeof(std::uint64_t));
  }

  set_parallel_first_touch(true);
  const FirstTouchStats on0 = first_touch_stats();
  std::vector<RnsPoly> polys;
  for (std::size_t limbs = 1201; limbs < 1205; ++limbs) {  // 4 fresh buffers of ~39 MB
    polys.emplace_back(kN, limbs);
    RnsPoly& p = polys.back();
    for (std::size_t t = 0; t < limbs; ++t) p.limb(t)[t % kN] = t;  // the memory is there and writable
    const FirstTouchStats s = first_touch_stats();
    EXPECT_GE(s.reserved_bytes, s.held_bytes) << "every fresh buffer is covered by touched heap";
  }
  const FirstTouchStats on1 = first_touch_stats();
  EXPECT_GT(on1.steps, on0.steps);
  EXPECT_LT(on1.steps, on0.steps + 4) << "steps of at least 128 MiB: fewer steps than buffers";
  for (std::size_t k = 0; k < polys.size(); ++k)
    for (std::size_t t = 0; t < polys[k].limbs(); ++t) ASSERT_EQ(polys[k].limb(t)[t % kN], t);
  set_parallel_first_touch(false);
}

}  // namespace
}  // namespace cryptounet::math
