#include "cryptounet/math/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace cryptounet::math {
namespace {

TEST(ThreadPoolTest, RunsEveryIndexOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int rep = 0; rep < 50; ++rep) {
      std::vector<std::atomic<int>> hits(97);
      pool.parallel_for(0, hits.size(), [&](std::size_t i) { hits[i].fetch_add(1); });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPoolTest, NestedCallsRunInlineAndExceptionsPropagate) {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  pool.parallel_for(0, 4, [&](std::size_t) { pool.parallel_for(0, 5, [&](std::size_t) { total.fetch_add(1); }); });
  EXPECT_EQ(total.load(), 20);
  EXPECT_THROW(pool.parallel_for(0, 10, [](std::size_t i) { if (i == 7) throw std::runtime_error("boom"); }),
               std::runtime_error);
  // Still usable afterwards.
  std::atomic<int> after{0};
  pool.parallel_for(0, 10, [&](std::size_t) { after.fetch_add(1); });
  EXPECT_EQ(after.load(), 10);
}

}  // namespace
}  // namespace cryptounet::math
