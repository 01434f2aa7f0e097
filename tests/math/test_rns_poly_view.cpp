// RnsPoly::view: a polynomial over memory the caller owns (the host-shared evaluation keys of an
// MPI run). Reads and writes go to that memory, destroying the view leaves it alone, and copies of
// a view (constructed or assigned) are ordinary polynomials with their own storage.
#include "cryptounet/math/rns_poly.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace cryptounet::math {
namespace {

TEST(RnsPolyView, UsesTheCallersMemoryAndNeverFreesIt) {
  constexpr std::size_t n = 16, limbs = 3;
  std::vector<std::uint64_t> memory(n * limbs + 1, 5);
  memory.back() = 99;  // past the view
  {
    RnsPoly v = RnsPoly::view(memory.data(), n, limbs);
    EXPECT_EQ(v.n(), n);
    EXPECT_EQ(v.limbs(), limbs);
    EXPECT_EQ(v.data(), memory.data());
    EXPECT_EQ(v.limb(2), memory.data() + 2 * n);
    v.limb(1)[3] = 42;
    EXPECT_EQ(memory[n + 3], 42u);

    RnsPoly copy = v;  // deep
    EXPECT_NE(copy.data(), memory.data());
    copy.limb(1)[3] = 7;
    EXPECT_EQ(memory[n + 3], 42u);
    EXPECT_EQ(copy.limb(0)[0], 5u);

    RnsPoly moved = std::move(v);  // still the caller's memory
    EXPECT_EQ(moved.data(), memory.data());

    RnsPoly other = RnsPoly::zeros(n, limbs);
    moved = other;  // assigning into a view gives it storage of its own; the memory is untouched
    EXPECT_NE(moved.data(), memory.data());
    EXPECT_EQ(moved.limb(1)[3], 0u);
    EXPECT_EQ(memory[n + 3], 42u);
  }  // destroying the views frees nothing of `memory` (ASan builds would report a bad free)
  EXPECT_EQ(memory[n + 3], 42u);
  EXPECT_EQ(memory.back(), 99u);
}

}  // namespace
}  // namespace cryptounet::math
