#include "cryptounet/common/error.h"
#include "cryptounet/data/mask_cleanup.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cryptounet::data {
namespace {

// Rows of '#' (foreground) and '.' (background).
Mask from_rows(const std::vector<std::string>& rows, std::uint8_t on = 1) {
  Mask m(static_cast<int>(rows.at(0).size()), static_cast<int>(rows.size()));
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x) m.at(y, x) = rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)] == '#' ? on : 0;
  return m;
}

std::vector<std::string> to_rows(const Mask& m) {
  std::vector<std::string> rows;
  for (int y = 0; y < m.height; ++y) {
    std::string r;
    for (int x = 0; x < m.width; ++x) r += m.at(y, x) == 1 ? '#' : (m.at(y, x) == 0 ? '.' : '?');
    rows.push_back(r);
  }
  return rows;
}

TEST(MaskCleanup, LabelsComponentsInRasterOrderWithSizes) {
  const Mask m = from_rows({
      "##...#",
      "#....#",
      "...#..",
      "....#.",
  });
  const ComponentLabels eight = label_components(m, true, Connectivity::eight);
  ASSERT_EQ(eight.count(), 3);
  EXPECT_EQ(eight.sizes, (std::vector<std::size_t>{3, 2, 2}));  // the diagonal pair is one component
  EXPECT_EQ(eight.labels[0], 1);
  EXPECT_EQ(eight.labels[5], 2);
  EXPECT_EQ(eight.labels[2 * 6 + 3], 3);
  EXPECT_EQ(eight.labels[3 * 6 + 4], 3);
  EXPECT_EQ(eight.labels[1], 1);
  EXPECT_EQ(eight.labels[2], 0);
  // 4-connected, the diagonal pair splits.
  const ComponentLabels four = label_components(m, true, Connectivity::four);
  EXPECT_EQ(four.count(), 4);
  EXPECT_EQ(four.sizes, (std::vector<std::size_t>{3, 2, 1, 1}));
  // The background is one 4-connected component here.
  const ComponentLabels bg = label_components(m, false, Connectivity::four);
  EXPECT_EQ(bg.count(), 1);
  EXPECT_EQ(bg.sizes, (std::vector<std::size_t>{24 - 7}));
}

TEST(MaskCleanup, FillsAHoleButNotBackgroundThatTouchesTheBorder) {
  const Mask ring = from_rows({
      "......",
      ".####.",
      ".#..#.",
      ".####.",
      "......",
  });
  EXPECT_EQ(to_rows(fill_holes(ring)), (std::vector<std::string>{
                                           "......",
                                           ".####.",
                                           ".####.",
                                           ".####.",
                                           "......",
                                       }));
  // Open to the border through one gap: no hole.
  const Mask open = from_rows({
      ".####.",
      ".#..#.",
      ".#..#.",
      ".##.#.",
      "......",
  });
  EXPECT_EQ(to_rows(fill_holes(open)), to_rows(open));
  // Background on the border itself (a cup whose inside is the last row): stays background.
  const Mask cup = from_rows({
      "#..#",
      "#..#",
  });
  EXPECT_EQ(to_rows(fill_holes(cup)), to_rows(cup));
}

TEST(MaskCleanup, ADiagonalChainOfForegroundClosesAHole) {
  // The centre pixel's edge neighbours are all foreground; it reaches the outside only diagonally,
  // which the 4-connected background does not count: a hole.
  const Mask m = from_rows({
      ".....",
      "..#..",
      ".#.#.",
      "..#..",
      ".....",
  });
  Mask want = m;
  want.at(2, 2) = 1;
  EXPECT_EQ(to_rows(fill_holes(m)), to_rows(want));
}

TEST(MaskCleanup, FillsEveryHoleAndKeepsOtherComponents) {
  // Two rings (one with a foreground island in its hole) and a lone corner pixel: both holes
  // filled, the island absorbed, nothing removed.
  const Mask m = from_rows({
      "#.........",
      ".#####.###",
      ".#...#.#.#",
      ".#.#.#.###",
      ".#...#....",
      ".#####....",
  });
  EXPECT_EQ(to_rows(fill_holes(m)), (std::vector<std::string>{
                                        "#.........",
                                        ".#####.###",
                                        ".#####.###",
                                        ".#####.###",
                                        ".#####....",
                                        ".#####....",
                                    }));
}

TEST(MaskCleanup, EmptyAndFullMasksAndOtherForegroundValues) {
  const Mask empty(5, 4);
  EXPECT_EQ(to_rows(fill_holes(empty)), to_rows(empty));
  EXPECT_EQ(label_components(empty, true, Connectivity::eight).count(), 0);
  EXPECT_EQ(label_components(empty, false, Connectivity::four).count(), 1);
  Mask full(3, 3);
  for (auto& v : full.values) v = 1;
  EXPECT_EQ(to_rows(fill_holes(full)), to_rows(full));
  // 0/255 masks (as read from a PNG) come out 0/1.
  const Mask m255 = from_rows({"###", "#.#", "###"}, 255);
  EXPECT_EQ(to_rows(fill_holes(m255)), (std::vector<std::string>{"###", "###", "###"}));
  // One row or one column: every background pixel is on the border.
  const Mask row = from_rows({"#.#.#"});
  EXPECT_EQ(to_rows(fill_holes(row)), to_rows(row));
  const Mask zero_size(0, 0);
  EXPECT_TRUE(fill_holes(zero_size).values.empty());
}

TEST(MaskCleanup, RefusesAMaskWhoseValuesDoNotMatchItsSize) {
  Mask bad(4, 4);
  bad.values.resize(15);
  EXPECT_THROW((void)fill_holes(bad), InvalidArgument);
  EXPECT_THROW((void)label_components(bad, true, Connectivity::eight), InvalidArgument);
}

}  // namespace
}  // namespace cryptounet::data
