#include "cryptounet/data/npy.h"

#include "cryptounet/common/error.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

using namespace cryptounet;

TEST(Npy, HeaderAndDataAsNumpyWritesThem) {
  const std::vector<double> v{1.5, -2.0, 0.1, 3.0, 4.0, 1e-300};
  const auto b = data::npy_bytes({1, 2, 3}, v);
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(std::string(b.begin() + 1, b.begin() + 6), "NUMPY");
  EXPECT_EQ(b[0], 0x93);
  EXPECT_EQ(b[6], 1);
  EXPECT_EQ(b[7], 0);
  const std::size_t header_len = b[8] | (b[9] << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  const std::string header(b.begin() + 10, b.begin() + 10 + static_cast<long>(header_len));
  EXPECT_EQ(header.rfind("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3), }", 0), 0u);
  EXPECT_EQ(header.back(), '\n');
  ASSERT_EQ(b.size(), 10 + header_len + v.size() * 8);
  for (std::size_t i = 0; i < v.size(); ++i) {
    double d;
    std::memcpy(&d, b.data() + 10 + header_len + 8 * i, 8);
    EXPECT_EQ(d, v[i]);  // bit-exact: no float32 rounding
  }
}

TEST(Npy, OneDimensionHasATrailingComma) {
  const auto b = data::npy_bytes({2}, {1, 2});
  const std::string header(b.begin() + 10, b.end());
  EXPECT_NE(header.find("'shape': (2,)"), std::string::npos);
}

TEST(Npy, ShapeMustMatchTheValues) {
  EXPECT_THROW((void)data::npy_bytes({2, 2}, {1, 2, 3}), InvalidArgument);
}
