#include <gtest/gtest.h>

#include <random>
#include <set>

#include "cryptounet/common/error.h"
#include "cryptounet/packing/dvr_layout.h"
#include "cryptounet/packing/masks.h"

using namespace cryptounet;
using namespace cryptounet::packing;

namespace {

// Every value maps to a distinct slot, value_at inverts slot_of, and pack/unpack round-trip.
void check_round_trip(const DvrLayout& l, unsigned seed) {
  SCOPED_TRACE(l.describe() + " seed " + std::to_string(seed));
  std::set<std::pair<int, int>> used;
  for (int b = 0; b < l.batch(); ++b)
    for (int c = 0; c < l.channels(); ++c)
      for (int y = 0; y < l.height(); ++y)
        for (int x = 0; x < l.width(); ++x) {
          SlotRef s = l.slot_of({b, c, y, x});
          ASSERT_GE(s.ct, 0);
          ASSERT_LT(s.ct, l.team_size());
          ASSERT_TRUE(used.insert({s.ct, s.slot}).second);
          auto v = l.value_at(s);
          ASSERT_TRUE(v.has_value());
          EXPECT_EQ(*v, (ValueRef{b, c, y, x}));
          // Same plane position for the stride grid.
          EXPECT_EQ(s.slot % l.grid().plane, l.stride() * y * l.grid().width + l.stride() * x);
        }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<std::vector<double>> images(l.batch());
  for (auto& im : images) {
    im.resize(static_cast<std::size_t>(l.channels()) * l.height() * l.width());
    for (double& v : im) v = u(rng);
  }
  auto cts = pack(l, images);
  ASSERT_EQ(static_cast<int>(cts.size()), l.team_size());
  // Slots that hold no value are zero.
  for (int t = 0; t < l.team_size(); ++t)
    for (int s = 0; s < l.grid().slots; ++s) {
      if (!l.value_at({t, s})) {
        EXPECT_EQ(cts[t][s], 0.0) << "ct " << t << " slot " << s;
      }
    }
  EXPECT_EQ(unpack(l, cts), images);
}

}  // namespace

TEST(DvrLayout, GridGeometry) {
  Grid g = Grid::make(16384, 64, 64);
  EXPECT_EQ(g.plane, 4096);
  EXPECT_EQ(g.rows, 4);
  Grid h = Grid::make(2048, 10, 12);  // 120 pixels -> P = 128
  EXPECT_EQ(h.plane, 128);
  EXPECT_EQ(h.rows, 16);
  EXPECT_THROW((void)Grid::make(1000, 8, 8), InvalidArgument);
  EXPECT_THROW((void)Grid::make(2048, 64, 64), InvalidArgument);
}

TEST(DvrLayout, RoundTripLatencyAndThroughput) {
  const Grid g = Grid::make(2048, 16, 16);  // R = 8
  unsigned seed = 1;
  for (int stride : {1, 2, 4})
    for (int c : {1, 3, 8, 13}) {
      int h = 16 / stride;
      check_round_trip(DvrLayout::latency(g, c, h, h, stride), seed++);
      for (int batch : {1, 5, 8}) check_round_trip(DvrLayout::throughput(g, c, h, h, stride, batch), seed++);
    }
  const Grid odd = Grid::make(1024, 12, 10);  // P = 128 > 120: padding slots
  check_round_trip(DvrLayout::latency(odd, 5, 6, 5, 2), 99);
  check_round_trip(DvrLayout::throughput(odd, 2, 12, 10, 1, 3), 98);
}

TEST(DvrLayout, ReplicatedInputFillsEveryRow) {
  const Grid g = Grid::make(1024, 8, 8);  // R = 16
  DvrLayout l = DvrLayout::latency(g, 3, 8, 8, 1, true);
  EXPECT_EQ(l.team_size(), 1);
  EXPECT_EQ(l.locations(1).size(), 5u);  // rows 1, 4, 7, 10, 13
  std::vector<std::vector<double>> im(1, std::vector<double>(3 * 64));
  for (std::size_t i = 0; i < im[0].size(); ++i) im[0][i] = static_cast<double>(i + 1);
  auto cts = pack(l, im);
  for (int r = 0; r < 16; ++r)
    EXPECT_EQ(cts[0][r * 64 + 9], im[0][(r % 3) * 64 + 9]) << "row " << r;
  EXPECT_EQ(unpack(l, cts), im);
  EXPECT_THROW((void)DvrLayout::latency(g, 17, 8, 8, 1, true), InvalidArgument);
}

TEST(DvrLayout, ConcatJoinsTeams) {
  const Grid g = Grid::make(1024, 8, 8);  // R = 16
  DvrLayout a = DvrLayout::latency(g, 6, 4, 4, 2), b = DvrLayout::latency(g, 20, 4, 4, 2);
  DvrLayout c = DvrLayout::concat(a, b);
  EXPECT_EQ(c.channels(), 26);
  EXPECT_EQ(c.team_size(), 3);
  EXPECT_EQ(c.locations(6).front(), (RowRef{1, 0}));
  EXPECT_EQ(c.locations(25).front(), (RowRef{2, 3}));
  check_round_trip(c, 7);
  DvrLayout t = DvrLayout::concat(DvrLayout::throughput(g, 2, 8, 8, 1, 4),
                                  DvrLayout::throughput(g, 3, 8, 8, 1, 4));
  EXPECT_EQ(t.team_size(), 5);
  check_round_trip(t, 8);
  EXPECT_THROW((void)DvrLayout::concat(a, DvrLayout::latency(g, 2, 8, 8, 1)), InvalidArgument);
  EXPECT_THROW((void)DvrLayout::latency(g, 2, 3, 3, 3), InvalidArgument);
}

TEST(DvrLayout, FromPartsValidates) {
  const Grid g = Grid::make(1024, 8, 8);
  DvrLayout a = DvrLayout::latency(g, 20, 8, 8, 1);
  DvrLayout b = DvrLayout::from_parts(a.mode(), a.grid(), a.channels(), a.height(), a.width(),
                                      a.stride(), a.batch(), a.row_table());
  EXPECT_EQ(a, b);
  auto rows = a.row_table();
  rows[1][3] = 40;
  EXPECT_THROW((void)DvrLayout::from_parts(a.mode(), a.grid(), 20, 8, 8, 1, 1, rows), InvalidArgument);
}

TEST(Masks, TapMasksKeepOnlyInsideSources) {
  const Grid g = Grid::make(512, 8, 8);  // R = 8, P = 64
  for (int stride : {1, 2, 4}) {
    int h = 8 / stride;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        for (int row : {-1, 3}) {
          MaskKey k{stride, h, h, dy, dx, row};
          auto m = make_mask(g, k);
          int ones = 0;
          for (int s = 0; s < g.slots; ++s) {
            int r = s / g.plane, off = s % g.plane, gy = off / 8, gx = off % 8;
            bool on_grid = gy % stride == 0 && gx % stride == 0;
            int y = gy / stride, x = gx / stride;
            bool want = (row < 0 || r == row) && on_grid && y + dy >= 0 && y + dy < h &&
                        x + dx >= 0 && x + dx < h;
            EXPECT_EQ(m[s], want ? 1.0 : 0.0) << "stride " << stride << " tap " << dy << "," << dx;
            ones += want;
            // The tap's rotation moves a valid output's source into place within its plane.
            if (want) {
              int src = s + tap_step(g, stride, dy, dx);
              EXPECT_EQ(src / g.plane, r);
              EXPECT_EQ(src % g.plane, stride * (y + dy) * 8 + stride * (x + dx));
            }
          }
          EXPECT_EQ(ones, mask_weight(k) * (row < 0 ? g.rows : 1));
        }
  }
  EXPECT_EQ(normalize_step(-3, 512), 509);
  EXPECT_EQ(normalize_step(515, 512), 3);
  EXPECT_EQ(row_turn_step(g, 3), 192);
}
