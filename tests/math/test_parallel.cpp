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

TEST(ThreadPoolTest, AccountingSimulatesListSchedulingOfTaskCpuTimes) {
  // Busy tasks of known relative cost: 3 equal tasks on 2 simulated threads span 2 of them
  // (one thread idle for the third); 4 span 2 (no serial part). Nested calls count once.
  auto spin = [] {
    volatile double x = 0;
    for (int i = 0; i < 3000000; ++i) x = x + 1.0;
  };
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    set_pool_accounting(2);
    EXPECT_EQ(pool_accounting_threads(), 2);
    const PoolAccount a0 = pool_account();
    pool.parallel_for(0, 3, [&](std::size_t) { spin(); });
    const PoolAccount a1 = pool_account();
    pool.parallel_for(0, 4, [&](std::size_t) { pool.parallel_for(0, 2, [&](std::size_t) { spin(); }); });
    const PoolAccount a2 = pool_account();
    set_pool_accounting(0);
    pool.parallel_for(0, 4, [&](std::size_t) { spin(); });
    EXPECT_EQ(pool_account().regions, a2.regions);  // off: nothing counted
    EXPECT_EQ(a1.regions - a0.regions, 1u);
    EXPECT_EQ(a1.tasks - a0.tasks, 3u);
    EXPECT_EQ(a2.regions - a1.regions, 1u);  // the nested regions ran inside the outer tasks
    EXPECT_EQ(a2.tasks - a1.tasks, 4u);
    const double w1 = a1.work_s - a0.work_s, s1 = a1.span_s - a0.span_s;
    const double w2 = a2.work_s - a1.work_s, s2 = a2.span_s - a1.span_s;
    // CPU times of equal tasks vary a little (timer, caches): generous bounds.
    EXPECT_NEAR(s1 / w1, 2.0 / 3.0, 0.12) << threads;
    EXPECT_NEAR(s2 / w2, 0.5, 0.08) << threads;
  }
}

}  // namespace
}  // namespace cryptounet::math
