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
          // Same plane position for the stride grid (multiplexed: plus a sub-offset < mux).
          const int off = s.slot % l.grid().plane - (l.stride() * y * l.grid().width + l.stride() * x);
          if (!l.multiplexed()) EXPECT_EQ(off, 0);
          EXPECT_GE(off, 0);
          EXPECT_LT(off / l.grid().width, l.mux());
          EXPECT_LT(off % l.grid().width, l.mux());
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

TEST(DvrLayout, MultiplexOffsetsInvert) {
  for (int q : {1, 2, 4, 8}) {
    std::set<std::pair<int, int>> seen;
    for (int m = 0; m < q * q; ++m) {
      const auto [oy, ox] = multiplex_offset(m, q);
      ASSERT_LT(oy, q);
      ASSERT_LT(ox, q);
      EXPECT_TRUE(seen.insert({oy, ox}).second);
      EXPECT_EQ(multiplex_index(oy, ox, q), m);
    }
  }
  // A merge of four groups of side 2 puts group blk at (blk's bit 1, bit 0) x 2.
  EXPECT_EQ(multiplex_offset(4 * 3 + 1, 4), std::make_pair(2 + 0, 2 + 1));
}

TEST(DvrLayout, MultiplexedRoundTrip) {
  const Grid g = Grid::make(1024, 16, 16);  // R = 4
  unsigned seed = 300;
  for (int stride : {1, 2, 4})
    for (int mux = 1; mux <= stride; mux *= 2)
      for (int groups : {1, 4})
        for (int c : {1, 3}) {
          const int h = 16 / stride, cap = 4 * groups * mux * mux;
          for (int batch : {1, cap / 2 + 1, cap})
            if (groups > 1 || mux > 1) check_round_trip(DvrLayout::throughput(g, c, h, h, stride, batch, groups, mux), seed++);
        }
  const DvrLayout l = DvrLayout::throughput(g, 2, 4, 4, 4, 64, 1, 4);
  EXPECT_EQ(l.team_size(), 2);
  const DvrLayout half = DvrLayout::throughput(g, 5, 4, 4, 4, 64, 4, 2);  // the same 64 images, 2 per side
  EXPECT_EQ(half.groups(), 4);
  EXPECT_EQ(half.team_size(), 20);
  EXPECT_EQ(DvrLayout::concat(l, l).team_size(), 4);
  EXPECT_THROW((void)DvrLayout::concat(l, DvrLayout::throughput(g, 2, 4, 4, 4, 64, 4, 2)), InvalidArgument);
}

TEST(DvrLayout, MultiplexedValidates) {
  const Grid g = Grid::make(1024, 16, 16);
  EXPECT_THROW((void)DvrLayout::throughput(g, 1, 8, 8, 2, 4, 1, 4), InvalidArgument);   // mux > stride
  EXPECT_THROW((void)DvrLayout::throughput(g, 1, 8, 8, 2, 4, 1, 3), InvalidArgument);   // not a power of two
  EXPECT_THROW((void)DvrLayout::throughput(g, 1, 8, 8, 2, 17, 1, 2), InvalidArgument);  // batch > capacity
  EXPECT_THROW((void)DvrLayout::throughput(g, 1, 8, 8, 2, 4, 0, 1), InvalidArgument);   // no group
  EXPECT_THROW((void)DvrLayout::from_parts(PackingMode::latency, g, 1, 8, 8, 2, 1, {{0, -1, -1, -1}}, 4, 1),
               InvalidArgument);
  const Grid banded = Grid::from_parts(1024, 128, 16, 2);
  EXPECT_THROW((void)DvrLayout::throughput(banded, 1, 64, 8, 2, 1, 1, 2), InvalidArgument);
}

TEST(Masks, MultiplexedMaskRepeatsOverSubOffsets) {
  const Grid g = Grid::make(256, 16, 16);  // R = 1
  MaskKey k{4, 4, 4, 0, 1, -1, 0};  // tap (0, +1) at stride 4: columns 0..2 valid
  k.mux = 2;
  k.sub_y = 2;
  k.sub_x = 0;
  const auto m = make_mask(g, k);
  for (int gy = 0; gy < 16; ++gy)
    for (int gx = 0; gx < 16; ++gx) {
      const bool on = gy % 4 >= 2 && gx % 4 < 2 && gx / 4 < 3;
      EXPECT_EQ(m[gy * 16 + gx], on ? 1.0 : 0.0) << gy << "," << gx;
    }
  k.sub_y = 3;  // 3 + 2 > 4: leaves the cell
  EXPECT_THROW((void)make_mask(g, k), InvalidArgument);
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
