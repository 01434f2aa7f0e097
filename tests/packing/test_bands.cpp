// Band splits (packing/bands.h): a plane over 2-4 ciphertexts. The operators are played out on
// plain slot vectors with cyclic rotations (what a ciphertext rotation does to the slots) and
// compared with the float64 operator on the tensor: 3x3 convolutions at strides 1, 2, 4 (own +
// cross terms, the cross term being the neighbour band rotated by the same step), AvgPool 2x2
// inside each band, ConvTranspose(k=2, s=2) inside each band. Exact up to rounding (1e-12).
#include <gtest/gtest.h>

#include "cryptounet/common/error.h"
#include "cryptounet/packing/bands.h"

#include <random>
#include <vector>

using namespace cryptounet;
using namespace cryptounet::packing;

namespace {

using Vec = std::vector<double>;

Vec rot_left(const Vec& v, long step) {
  const long n = static_cast<long>(v.size());
  Vec out(v.size());
  for (long i = 0; i < n; ++i) out[i] = v[((i + step) % n + n) % n];
  return out;
}

Vec random_vec(std::size_t n, std::mt19937& g) {
  std::uniform_real_distribution<double> d(-1, 1);
  Vec v(n);
  for (double& x : v) x = d(g);
  return v;
}

// A H0 x W0 full-resolution plane holding a (H0/s) x (W0/s) tensor at stride s, random off the
// grid too (stale values between grid points must never reach a valid output).
Vec plane_with_tensor(int h0, int w0, int s, const Vec& t, std::mt19937& g) {
  Vec p = random_vec(static_cast<std::size_t>(h0) * w0, g);
  const int th = h0 / s, tw = w0 / s;
  for (int y = 0; y < th; ++y)
    for (int x = 0; x < tw; ++x) p[static_cast<std::size_t>(s * y) * w0 + s * x] = t[static_cast<std::size_t>(y) * tw + x];
  return p;
}

struct Case {
  int height, width, slots, max_stride, bands;
};

}  // namespace

TEST(BandSplit, SizesAndRefusals) {
  auto s = BandSplit::make(16384, 256, 256, 4);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bands, 4);
  EXPECT_EQ(s->band_rows, 64);
  s = BandSplit::make(32768, 256, 256, 4);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bands, 2);
  s = BandSplit::make(32768, 512, 512, 4);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bands, 8);
  s = BandSplit::make(16384, 128, 128, 4);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bands, 1);  // fits one ciphertext
  std::string why;
  EXPECT_FALSE(BandSplit::make(16384, 240, 240, 4, &why));
  EXPECT_NE(why.find("width must divide"), std::string::npos);
  EXPECT_FALSE(BandSplit::make(64, 16, 16, 4, &why));  // 4-row bands cannot hold stride-4 pool pairs
  EXPECT_NE(why.find("pooling"), std::string::npos);
  EXPECT_THROW((void)band_tap_mask(*BandSplit::make(32, 16, 8, 2), 4, 1, 0, 0, BandTerm::own), InvalidArgument);
}

TEST(BandSplit, SplitAndJoinAreInverse) {
  std::mt19937 g(1);
  const auto s = *BandSplit::make(32, 16, 8, 2);
  const Vec p = random_vec(16 * 8, g);
  EXPECT_EQ(join_plane(s, split_plane(s, p)), p);
  EXPECT_EQ(split_plane(s, p).size(), 4u);
}

TEST(BandSplit, OwnPlusCrossIsTheWholeTapMask) {
  const auto s = *BandSplit::make(64, 24, 8, 2);  // 3 bands of 8 rows
  for (int stride : {1, 2})
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        int total = 0;
        for (int b = 0; b < s.bands; ++b) {
          const Vec own = band_tap_mask(s, b, stride, dy, dx, BandTerm::own);
          const Vec cross = band_tap_mask(s, b, stride, dy, dx, BandTerm::cross);
          for (std::size_t i = 0; i < own.size(); ++i) {
            EXPECT_FALSE(own[i] != 0 && cross[i] != 0);
            total += own[i] != 0 || cross[i] != 0;
          }
          if (dy == 0) {
            EXPECT_EQ(std::count(cross.begin(), cross.end(), 1.0), 0);
          }
        }
        const int th = 24 / stride, tw = 8 / stride;
        const int want = (th - (dy != 0)) * (tw - (dx != 0));  // outputs whose source is inside
        EXPECT_EQ(total, want) << stride << " " << dy << " " << dx;
      }
}

TEST(BandSplit, Conv3x3AcrossBandsIsExact) {
  std::mt19937 g(7);
  for (const Case c : {Case{16, 8, 32, 2, 4}, Case{16, 8, 64, 4, 2}, Case{24, 8, 64, 2, 3}, Case{32, 16, 128, 4, 4}}) {
    const auto split = BandSplit::make(c.slots, c.height, c.width, c.max_stride);
    ASSERT_TRUE(split);
    ASSERT_EQ(split->bands, c.bands);
    for (int s = 1; s <= c.max_stride; s *= 2) {
      const int th = c.height / s, tw = c.width / s;
      const Vec t = random_vec(static_cast<std::size_t>(th) * tw, g);
      const Vec w = random_vec(9, g);
      const std::vector<Vec> in = split_plane(*split, plane_with_tensor(c.height, c.width, s, t, g));
      std::vector<Vec> out(in.size(), Vec(c.slots, 0.0));
      for (int b = 0; b < split->bands; ++b)
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            const long step = static_cast<long>(s) * (dy * c.width + dx);
            const double wt = w[(dy + 1) * 3 + dx + 1];
            const Vec own = band_tap_mask(*split, b, s, dy, dx, BandTerm::own);
            const Vec r = rot_left(in[b], step);
            for (int i = 0; i < c.slots; ++i) out[b][i] += wt * r[i] * own[i];
            const int nb = cross_band(*split, b, dy);
            if (nb < 0) continue;
            const Vec cross = band_tap_mask(*split, b, s, dy, dx, BandTerm::cross);
            const Vec rn = rot_left(in[nb], step);  // the same step, so the same Galois key
            for (int i = 0; i < c.slots; ++i) out[b][i] += wt * rn[i] * cross[i];
          }
      const Vec got = join_plane(*split, out);
      for (int y = 0; y < th; ++y)
        for (int x = 0; x < tw; ++x) {
          double want = 0;
          for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx) {
              const int sy = y + dy, sx = x + dx;
              if (sy >= 0 && sy < th && sx >= 0 && sx < tw) want += w[(dy + 1) * 3 + dx + 1] * t[sy * tw + sx];
            }
          ASSERT_NEAR(got[static_cast<std::size_t>(s * y) * c.width + s * x], want, 1e-12)
              << c.height << "x" << c.width << " over " << c.bands << " bands, stride " << s << ", pixel " << y << "," << x;
        }
    }
  }
}

TEST(BandSplit, PoolAndUpConvolutionStayInsideBands) {
  std::mt19937 g(11);
  const Case c{32, 16, 128, 4, 4};  // 4 bands of 8 rows
  const auto split = *BandSplit::make(c.slots, c.height, c.width, c.max_stride);
  for (int s = 1; s < c.max_stride; s *= 2) {
    // AvgPool 2x2 (sum; the 1/4 folds into the next weights) from stride s to 2s, band by band.
    const int th = c.height / s, tw = c.width / s;
    const Vec t = random_vec(static_cast<std::size_t>(th) * tw, g);
    std::vector<Vec> bands = split_plane(split, plane_with_tensor(c.height, c.width, s, t, g));
    for (Vec& v : bands) {
      const Vec a = rot_left(v, s);
      for (int i = 0; i < c.slots; ++i) v[i] += a[i];
      const Vec b = rot_left(v, static_cast<long>(s) * c.width);
      for (int i = 0; i < c.slots; ++i) v[i] += b[i];
    }
    const Vec pooled = join_plane(split, bands);
    for (int y = 0; y < th / 2; ++y)
      for (int x = 0; x < tw / 2; ++x) {
        const double want = t[(2 * y) * tw + 2 * x] + t[(2 * y) * tw + 2 * x + 1] + t[(2 * y + 1) * tw + 2 * x] +
                            t[(2 * y + 1) * tw + 2 * x + 1];
        ASSERT_NEAR(pooled[static_cast<std::size_t>(2 * s * y) * c.width + 2 * s * x], want, 1e-12) << s;
      }

    // ConvTranspose(k=2, s=2) from stride 2s to s: per phase (a, b), the coarse grid times the
    // weight (zero elsewhere), rotated right by s·(a·W0 + b).
    const int ch = c.height / (2 * s), cw = c.width / (2 * s);
    const Vec u = random_vec(static_cast<std::size_t>(ch) * cw, g);
    const Vec w = random_vec(4, g);
    const std::vector<Vec> in = split_plane(split, plane_with_tensor(c.height, c.width, 2 * s, u, g));
    std::vector<Vec> out(in.size(), Vec(c.slots, 0.0));
    for (int b = 0; b < split.bands; ++b) {
      const Vec grid = band_tap_mask(split, b, 2 * s, 0, 0, BandTerm::own);
      for (int pa = 0; pa < 2; ++pa)
        for (int pb = 0; pb < 2; ++pb) {
          Vec m(c.slots);
          for (int i = 0; i < c.slots; ++i) m[i] = in[b][i] * grid[i] * w[pa * 2 + pb];
          const Vec r = rot_left(m, -static_cast<long>(s) * (pa * c.width + pb));
          for (int i = 0; i < c.slots; ++i) out[b][i] += r[i];
        }
    }
    const Vec up = join_plane(split, out);
    for (int y = 0; y < 2 * ch; ++y)
      for (int x = 0; x < 2 * cw; ++x)
        ASSERT_NEAR(up[static_cast<std::size_t>(s * y) * c.width + s * x], u[(y / 2) * cw + x / 2] * w[(y % 2) * 2 + x % 2],
                    1e-12)
            << s;
  }
}
