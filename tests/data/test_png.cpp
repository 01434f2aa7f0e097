// PNG reading (8/16-bit, grey/RGB(A)) and writing, masks and overlays.
#include "cryptounet/common/error.h"
#include "cryptounet/data/png.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace cryptounet::data {
namespace {

namespace fs = std::filesystem;

// A minimal PNG encoder (stored deflate blocks) so the test can make 16-bit and RGBA files that
// stb_image_write cannot.
uint32_t crc32(const std::string& data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void chunk(std::string& png, const char* type, const std::string& data) {
  put32(png, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  png += body;
  put32(png, crc32(body));
}
std::string encode_png(int w, int h, int bit_depth, int color_type, int channels,
                       const std::vector<uint16_t>& samples) {
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    for (int i = 0; i < w * channels; ++i) {
      const uint16_t v = samples[static_cast<std::size_t>(y) * w * channels + i];
      if (bit_depth == 16) raw.push_back(static_cast<char>(v >> 8));
      raw.push_back(static_cast<char>(v & 0xFF));
    }
  }
  std::string z = "\x78\x01";
  z.push_back(1);  // final stored block
  const uint16_t len = static_cast<uint16_t>(raw.size());
  z.push_back(static_cast<char>(len & 0xFF));
  z.push_back(static_cast<char>(len >> 8));
  z.push_back(static_cast<char>(~len & 0xFF));
  z.push_back(static_cast<char>((~len >> 8) & 0xFF));
  z += raw;
  uint32_t a = 1, b = 0;
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  put32(z, (b << 16) | a);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put32(ihdr, w);
  put32(ihdr, h);
  ihdr.push_back(static_cast<char>(bit_depth));
  ihdr.push_back(static_cast<char>(color_type));
  ihdr.append(3, '\0');
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

class PngTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::fresh_test_dir("cu_png");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) { return (dir_ / name).string(); }
  std::string write_raw(const std::string& name, const std::string& bytes) {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }
  fs::path dir_;
};

TEST_F(PngTest, Grey8RoundTripIsExact) {
  Image img(5, 3);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = (i * 17 % 256) / 255.0;  // exactly v / 255 as a double
  write_image_png(path("a.png"), img);
  const Image back = read_image(path("a.png"));
  ASSERT_EQ(back.width, 5);
  ASSERT_EQ(back.height, 3);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) EXPECT_EQ(back.pixels[i], img.pixels[i]);
}

TEST_F(PngTest, Grey16BitKeepsPrecision) {
  const std::vector<uint16_t> v = {0, 65535, 32768, 1000};
  const Image img = read_image(write_raw("g16.png", encode_png(2, 2, 16, 0, 1, v)));
  ASSERT_EQ(img.width, 2);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(img.pixels[i], v[i] / 65535.0);  // exactly, as a double
}

TEST_F(PngTest, Rgb16AndRgba8BecomeLuma) {
  // One pixel per colour: pure red, green, blue.
  const std::vector<uint16_t> rgb = {65535, 0, 0, 0, 65535, 0, 0, 0, 65535};
  const Image a = read_image(write_raw("rgb16.png", encode_png(3, 1, 16, 2, 3, rgb)));
  EXPECT_NEAR(a.pixels[0], 0.299, 1e-6);
  EXPECT_NEAR(a.pixels[1], 0.587, 1e-6);
  EXPECT_NEAR(a.pixels[2], 0.114, 1e-6);
  const std::vector<uint16_t> rgba = {255, 255, 255, 0, 0, 0, 0, 255};  // alpha ignored
  const Image b = read_image(write_raw("rgba.png", encode_png(2, 1, 8, 6, 4, rgba)));
  EXPECT_NEAR(b.pixels[0], 1.0, 1e-6);
  EXPECT_NEAR(b.pixels[1], 0.0, 1e-6);
}

TEST_F(PngTest, MaskRoundTripAndThreshold) {
  Mask m(4, 2);
  m.values = {0, 1, 1, 0, 1, 0, 0, 1};
  write_mask_png(path("m.png"), m);
  const Image raw = read_image(path("m.png"));
  EXPECT_EQ(raw.pixels[1], 1.0f);  // stored as 255
  EXPECT_EQ(read_mask(path("m.png")).values, m.values);
  const std::vector<uint16_t> grey = {127, 128, 0, 255};
  EXPECT_EQ(read_mask(write_raw("t.png", encode_png(4, 1, 8, 0, 1, grey))).values,
            (std::vector<uint8_t>{0, 1, 0, 1}));
}

TEST_F(PngTest, OverlayTintsAndOutlines) {
  Image img(3, 3);
  for (auto& p : img.pixels) p = 0.5f;
  Mask m(3, 3);
  m.values = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  const RgbImage o = overlay(img, m, {200, 0, 0}, 0.5);
  // Border pixels touch the image edge, so they are outline: pure colour. Centre is tinted.
  EXPECT_EQ(o.rgb[0], 200);
  EXPECT_EQ(o.rgb[1], 0);
  const std::size_t c = (1 * 3 + 1) * 3;
  EXPECT_EQ(o.rgb[c + 0], 164);  // 0.5·127.5 + 0.5·200 = 163.75
  EXPECT_EQ(o.rgb[c + 1], 64);   // 0.5·127.5 = 63.75
  write_rgb_png(path("o.png"), o);
  EXPECT_NEAR(read_image(path("o.png")).pixels[0], 0.299 * 200 / 255.0, 1e-6);
  EXPECT_THROW((void)overlay(img, Mask(2, 3)), InvalidArgument);
}

TEST_F(PngTest, ErrorsAreClear) {
  EXPECT_THROW((void)read_image(path("missing.png")), IoError);
  try {
    (void)read_image(write_raw("junk.png", "this is not a png at all"));
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("junk.png"));
  }
  EXPECT_THROW((void)read_image(write_raw("empty.png", "")), FormatError);
  const std::string good = encode_png(2, 2, 8, 0, 1, {1, 2, 3, 4});
  EXPECT_THROW((void)read_image(write_raw("cut.png", good.substr(0, good.size() / 2))),
               FormatError);
  EXPECT_THROW(write_image_png(path("bad.png"), Image()), InvalidArgument);
}

}  // namespace
}  // namespace cryptounet::data
