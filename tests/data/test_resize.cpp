#include "cryptounet/common/error.h"
#include "cryptounet/data/resize.h"

#include <gtest/gtest.h>

namespace cryptounet::data {
namespace {

TEST(Resize, AreaHalvingAveragesBlocks) {
  Image img(4, 2);
  img.pixels = {0, 1, 2, 3, 4, 5, 6, 7};
  const Image r = resize_area(img, 2, 1);
  EXPECT_FLOAT_EQ(r.pixels[0], 2.5f);  // (0+1+4+5)/4
  EXPECT_FLOAT_EQ(r.pixels[1], 4.5f);
}

TEST(Resize, AreaFractionalWeights) {
  Image img(3, 1);
  img.pixels = {0, 3, 6};
  const Image r = resize_area(img, 2, 1);
  EXPECT_FLOAT_EQ(r.pixels[0], 1.0f);  // (0·1 + 3·0.5) / 1.5
  EXPECT_FLOAT_EQ(r.pixels[1], 5.0f);  // (3·0.5 + 6·1) / 1.5
  const Image up = resize_area(img, 6, 2);  // enlarging replicates
  EXPECT_FLOAT_EQ(up.at(1, 4), 6.0f);
  EXPECT_FLOAT_EQ(up.at(0, 2), 3.0f);
}

TEST(Resize, AreaKeepsMean) {
  Image img(7, 5);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = float((i * 37) % 11) / 10.0f;
  double a = 0, b = 0;
  for (float v : img.pixels) a += v;
  const Image r = resize_area(img, 3, 4);
  for (float v : r.pixels) b += v;
  EXPECT_NEAR(a / img.pixels.size(), b / r.pixels.size(), 1e-6);
}

TEST(Resize, MaskMajorityAndNearest) {
  Mask m(4, 2);
  m.values = {1, 1, 1, 0, 0, 0, 0, 0};  // left block 2/4 → fg (tie), right block 1/4 → bg
  const Mask r = resize_majority(m, 2, 1);
  EXPECT_EQ(r.values, (std::vector<uint8_t>{1, 0}));
  Mask s(2, 1);
  s.values = {0, 1};
  const Mask up = resize_majority(s, 4, 2);
  EXPECT_EQ(up.values, (std::vector<uint8_t>{0, 0, 1, 1, 0, 0, 1, 1}));
  EXPECT_THROW((void)resize_majority(s, 0, 2), InvalidArgument);
  EXPECT_THROW((void)resize_area(Image(), 2, 2), InvalidArgument);
}

TEST(Resize, ZoomOutCentresShrunkContent) {
  Image img(4, 4);
  Mask m(4, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      img.at(y, x) = x < 2 ? 0.2f : 0.4f;
      m.at(y, x) = x < 2 ? 1 : 0;
    }
  zoom_out(img, m, 0.5);
  // 2×2 content at (1..2, 1..2): left 0.2, right 0.4 → renormalised to 0.5 and 1.
  const std::vector<double> want = {0, 0, 0, 0, 0, 0.5, 1, 0, 0, 0.5, 1, 0, 0, 0, 0, 0};
  EXPECT_EQ(img.pixels, want);
  EXPECT_EQ(m.values, (std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_THROW(zoom_out(img, m, 1.5), InvalidArgument);
  EXPECT_THROW(zoom_out(img, m, 0.0), InvalidArgument);
  Image same = img;
  Mask same_m = m;
  zoom_out(same, same_m, 1.0);
  EXPECT_EQ(same.pixels, img.pixels);
}

}  // namespace
}  // namespace cryptounet::data
