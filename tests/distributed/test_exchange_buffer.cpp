// ExchangeBuffer (distributed/exchange_buffer.h): 2 MiB-aligned, growing within its reservation
// keeps its address (and the pages already touched), a larger request replaces it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "cryptounet/distributed/exchange_buffer.h"

using cryptounet::distributed::ExchangeBuffer;

TEST(ExchangeBuffer, GrowsWithinOneReservationOnA2MiBBoundary) {
  ExchangeBuffer b;
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.capacity(), 0u);
  std::uint8_t* p = b.reserve(5 << 20);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % (std::uintptr_t{2} << 20), 0u);
  EXPECT_GE(b.capacity(), std::size_t{5} << 20);
  std::memset(p, 0xab, std::size_t{5} << 20);
  // 38 then 57 MiB (brain64's exchanges at 2 ranks): the same buffer, the bytes written still there.
  EXPECT_EQ(b.reserve(std::size_t{38} << 20), p);
  EXPECT_EQ(b.reserve(std::size_t{57} << 20), p);
  EXPECT_EQ(p[(std::size_t{5} << 20) - 1], 0xab);
  std::memset(p, 1, std::size_t{57} << 20);
  EXPECT_EQ(b.reserve(10), p);
  // Past the reservation: a new one at least as large as asked, still aligned.
  const std::size_t big = b.capacity() + 1;
  std::uint8_t* q = b.reserve(big);
  ASSERT_NE(q, nullptr);
  EXPECT_GE(b.capacity(), big);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(q) % (std::uintptr_t{2} << 20), 0u);
  q[big - 1] = 7;
  EXPECT_EQ(q[big - 1], 7);
}
