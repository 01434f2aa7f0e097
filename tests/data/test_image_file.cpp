// DICOM and NIfTI readers (data/dicom.h, data/nifti.h, data/image_file.h) on files written byte
// by byte here from the standards (so the test does not trust the libraries' own writers):
// 16-bit DICOM with rescale slope/intercept, MONOCHROME1 inversion, multi-frame selection;
// TIFF (written with libtiff) 16-bit grey, 8-bit RGB and float pages;
// NIfTI-1 .nii and .nii.gz volumes with scl_slope, slice selection; dispatch by content; bad
// input refused with FormatError / InvalidArgument.
#include <gtest/gtest.h>

#include "cryptounet/common/error.h"
#include "cryptounet/data/dicom.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/data/nifti.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/tiff.h"
#include "data/image_writers.h"
#include "support/temp_dir.h"

#include <tiffio.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <thread>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <vector>

using namespace cryptounet;
using namespace cryptounet::data;
namespace fs = std::filesystem;

namespace {

using test_images::make_dicom;
using test_images::make_nifti;
using test_images::put16;
using test_images::put32;
inline void write(const fs::path& p, const std::string& bytes) { test_images::write_file(p, bytes); }

}  // namespace

TEST(DicomReader, SixteenBitWithRescaleAndMonochrome1) {
  const test_support::TempDir t("cu-imgfile");
  const int w = 5, h = 3;
  std::vector<std::int16_t> px(w * h);
  for (int i = 0; i < w * h; ++i) px[i] = static_cast<std::int16_t>(-300 + 97 * i);
  const fs::path p = t.path() / "a.dcm";
  write(p, make_dicom(w, h, 1, px, "MONOCHROME2", "2", "-1024"));
  EXPECT_EQ(image_file_kind(p.string()), ImageFileKind::dicom);
  const Image img = read_any_image(p.string());
  ASSERT_EQ(img.width, w);
  ASSERT_EQ(img.height, h);
  // Rescale is linear, so the min-max stretch of stored values gives the same plane.
  for (int i = 0; i < w * h; ++i)
    EXPECT_NEAR(img.pixels[i], (px[i] - px.front()) / double(px.back() - px.front()), 1e-6) << i;

  const fs::path q = t.path() / "noext";
  write(q, make_dicom(w, h, 1, px, "MONOCHROME1", "", ""));
  EXPECT_EQ(image_file_kind(q.string()), ImageFileKind::dicom);  // by the DICM magic
  const Image inv = read_dicom(q.string());
  for (int i = 0; i < w * h; ++i) EXPECT_NEAR(inv.pixels[i], 1.0 - img.pixels[i], 1e-6) << i;
}

TEST(DicomReader, MultiFrameSelectionAndBadInput) {
  const test_support::TempDir t("cu-imgfile");
  const int w = 4, h = 4, frames = 3;
  std::vector<std::int16_t> px(w * h * frames);
  for (int f = 0; f < frames; ++f)
    for (int i = 0; i < w * h; ++i) px[f * w * h + i] = static_cast<std::int16_t>(f == 1 ? 100 - i : i);
  const fs::path p = t.path() / "m.dcm";
  write(p, make_dicom(w, h, frames, px, "MONOCHROME2", "", ""));
  const Image mid = read_dicom(p.string());  // frame 1: decreasing
  EXPECT_NEAR(mid.pixels.front(), 1.0, 1e-6);
  EXPECT_NEAR(mid.pixels.back(), 0.0, 1e-6);
  const Image f2 = read_dicom(p.string(), 2);
  EXPECT_NEAR(f2.pixels.front(), 0.0, 1e-6);
  EXPECT_NEAR(f2.pixels.back(), 1.0, 1e-6);
  EXPECT_THROW((void)read_dicom(p.string(), 3), InvalidArgument);

  const fs::path bad = t.path() / "bad.dcm";
  std::string bytes = make_dicom(w, h, 1, std::vector<std::int16_t>(w * h, 1), "MONOCHROME2", "", "");
  write(bad, bytes.substr(0, bytes.size() - 10));  // truncated pixel data
  EXPECT_THROW((void)read_dicom(bad.string()), FormatError);
  write(bad, std::string(300, 'x'));
  EXPECT_THROW((void)read_dicom(bad.string()), FormatError);
  EXPECT_THROW((void)read_dicom((t.path() / "missing.dcm").string()), IoError);
}

TEST(NiftiReader, SlicesPlainAndGzipped) {
  const test_support::TempDir t("cu-imgfile");
  const int nx = 6, ny = 4, nz = 3;
  std::vector<std::int16_t> vox(nx * ny * nz);
  for (int z = 0; z < nz; ++z)
    for (int y = 0; y < ny; ++y)
      for (int x = 0; x < nx; ++x) vox[(z * ny + y) * nx + x] = static_cast<std::int16_t>(z == 1 ? 10 * x + y : -x);
  const std::string bytes = make_nifti(nx, ny, nz, vox, 0.5f, 3.0f);
  const fs::path p = t.path() / "v.nii";
  write(p, bytes);
  const fs::path gz = t.path() / "v.nii.gz";
  {
    gzFile g = gzopen(gz.c_str(), "wb");
    ASSERT_NE(g, nullptr);
    gzwrite(g, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(g);
  }
  for (const fs::path& file : {p, gz}) {
    EXPECT_EQ(image_file_kind(file.string()), ImageFileKind::nifti);
    const Image img = read_any_image(file.string());  // middle slice z = 1
    ASSERT_EQ(img.width, nx);
    ASSERT_EQ(img.height, ny);
    const double lo = 0, hi = 10 * (nx - 1) + (ny - 1);
    for (int y = 0; y < ny; ++y)
      for (int x = 0; x < nx; ++x) EXPECT_NEAR(img.at(y, x), (10 * x + y - lo) / (hi - lo), 1e-6) << file;
    const Image z0 = read_nifti_slice(file.string(), 0);
    EXPECT_NEAR(z0.at(0, 0), 1.0, 1e-6);  // -x: x = 0 is the largest
    EXPECT_NEAR(z0.at(0, nx - 1), 0.0, 1e-6);
    EXPECT_THROW((void)read_nifti_slice(file.string(), nz), InvalidArgument);
  }
  const fs::path bad = t.path() / "bad.nii";
  write(bad, bytes.substr(0, 200));
  EXPECT_THROW((void)read_nifti_slice(bad.string()), FormatError);
  write(bad, bytes.substr(0, bytes.size() - 20));  // voxel data cut short
  EXPECT_THROW((void)read_nifti_slice(bad.string()), FormatError);
}

TEST(ImageFile, PngStillGoesToStbAndConstantPlanesAreZero) {
  const test_support::TempDir t("cu-imgfile");
  Image img(3, 2);
  img.pixels = {0.f, 0.2f, 0.4f, 0.6f, 0.8f, 1.f};
  const fs::path p = t.path() / "x.png";
  write_image_png(p.string(), img);
  EXPECT_EQ(image_file_kind(p.string()), ImageFileKind::png_or_stb);
  const Image back = read_any_image(p.string());
  for (std::size_t i = 0; i < img.pixels.size(); ++i) EXPECT_NEAR(back.pixels[i], img.pixels[i], 1.0 / 255);
  const Image flat = image_from_values(std::vector<double>(6, 7.0), 3, 2, "flat");
  for (float v : flat.pixels) EXPECT_EQ(v, 0.0f);
  EXPECT_THROW((void)image_from_values({1, 2, 3}, 2, 2, "short"), InvalidArgument);
}

namespace {

template <class T>
void write_tiff(const fs::path& p, int w, int h, int spp, int bits, int format, const std::vector<T>& px) {
  TIFF* t = TIFFOpen(p.c_str(), "w");
  ASSERT_NE(t, nullptr);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, format);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1);
  for (int y = 0; y < h; ++y)
    ASSERT_GE(TIFFWriteScanline(t, const_cast<T*>(px.data() + static_cast<std::size_t>(y) * w * spp), y, 0), 0);
  TIFFClose(t);
}

}  // namespace

TEST(TiffReader, GreyRgbAndFloat) {
  const test_support::TempDir t("cu-imgfile");
  const int w = 5, h = 3;
  std::vector<std::uint16_t> g16(w * h);
  for (int i = 0; i < w * h; ++i) g16[i] = static_cast<std::uint16_t>(4000 * i + 7);
  const fs::path a = t.path() / "g16.tif";
  write_tiff(a, w, h, 1, 16, SAMPLEFORMAT_UINT, g16);
  EXPECT_EQ(image_file_kind(a.string()), ImageFileKind::tiff);
  const Image ga = read_any_image(a.string());
  ASSERT_EQ(ga.width, w);
  ASSERT_EQ(ga.height, h);
  for (int i = 0; i < w * h; ++i) EXPECT_NEAR(ga.pixels[i], g16[i] / 65535.0, 1e-6) << i;

  std::vector<std::uint8_t> rgb(w * h * 3);
  for (int i = 0; i < w * h; ++i)
    rgb[i * 3] = static_cast<std::uint8_t>(10 * i), rgb[i * 3 + 1] = static_cast<std::uint8_t>(200 - 5 * i),
    rgb[i * 3 + 2] = 77;
  const fs::path b = t.path() / "rgb.tiff";
  write_tiff(b, w, h, 3, 8, SAMPLEFORMAT_UINT, rgb);
  const Image gb = read_tiff(b.string());
  for (int i = 0; i < w * h; ++i)
    EXPECT_NEAR(gb.pixels[i], (0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]) / 255.0, 1e-6);

  std::vector<float> f(w * h);
  for (int i = 0; i < w * h; ++i) f[i] = -2.5f + 0.5f * static_cast<float>(i);
  const fs::path c = t.path() / "f.tif";
  write_tiff(c, w, h, 1, 32, SAMPLEFORMAT_IEEEFP, f);
  const Image gc = read_tiff(c.string());
  for (int i = 0; i < w * h; ++i) EXPECT_NEAR(gc.pixels[i], i / double(w * h - 1), 1e-6);
  EXPECT_THROW((void)read_tiff(c.string(), 1), InvalidArgument);

  const fs::path bad = t.path() / "bad.tif";
  write(bad, std::string("II*\0garbage", 11));
  EXPECT_EQ(image_file_kind(bad.string()), ImageFileKind::tiff);
  EXPECT_THROW((void)read_any_image(bad.string()), FormatError);
}

TEST(ImageFileStem, DropsTheImageExtensionOnce) {
  EXPECT_EQ(cryptounet::data::image_file_stem("in/ch2.nii.gz"), "ch2");
  EXPECT_EQ(cryptounet::data::image_file_stem("ch2.nii"), "ch2");
  EXPECT_EQ(cryptounet::data::image_file_stem("/x/a.b.png"), "a.b");
  EXPECT_EQ(cryptounet::data::image_file_stem("scan.dcm"), "scan");
  EXPECT_EQ(cryptounet::data::image_file_stem("IM0001"), "IM0001");
  EXPECT_EQ(cryptounet::data::image_file_stem(".hidden"), ".hidden");
}

TEST(TiffReader, BaselineEightBitGreyWrittenByteByByte) {
  const test_support::TempDir t("cu-imgfile");
  std::vector<std::uint8_t> px{0, 51, 102, 153, 204, 255};
  const fs::path p = t.path() / "g.tif";
  write(p, test_images::make_tiff8(3, 2, px));
  EXPECT_EQ(image_file_kind(p.string()), ImageFileKind::tiff);
  const Image img = read_any_image(p.string());
  ASSERT_EQ(img.width, 3);
  ASSERT_EQ(img.height, 2);
  for (std::size_t i = 0; i < px.size(); ++i) EXPECT_NEAR(img.pixels[i], px[i] / 255.0, 1e-6);
}

// ---- Issue 9: decompression bombs, folders and FIFOs as input --------------------------------

namespace {

void put_be32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

void png_chunk(std::string& png, const char* type, const std::string& data) {
  put_be32(png, static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  png += body;
  put_be32(png, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                                 static_cast<uInt>(body.size()))));
}

/// A small PNG whose header declares w x h 8-bit RGBA and whose IDAT inflates a run of zeros
/// (a bomb: a few KB that decode to gigabytes if nobody checks the declared size first).
std::string make_png_bomb(std::uint32_t w, std::uint32_t h) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr += std::string("\x08\x06\x00\x00\x00", 5);  // 8-bit, RGBA, deflate, adaptive, no interlace
  png_chunk(png, "IHDR", ihdr);
  const std::string zeros(1 << 20, '\0');
  std::vector<Bytef> z(compressBound(static_cast<uLong>(zeros.size())));
  uLongf zlen = static_cast<uLongf>(z.size());
  compress2(z.data(), &zlen, reinterpret_cast<const Bytef*>(zeros.data()), static_cast<uLong>(zeros.size()), 9);
  png_chunk(png, "IDAT", std::string(reinterpret_cast<const char*>(z.data()), zlen));
  png_chunk(png, "IEND", "");
  return png;
}

/// A little-endian TIFF that declares w x h 8-bit grey in one strip of `stored` bytes.
std::string make_tiff_header_only(std::uint32_t w, std::uint32_t h, std::uint32_t stored) {
  std::string t("II*\0", 4);
  put32(t, 8);
  struct E { std::uint16_t tag, type; std::uint32_t count, value; };
  const std::uint32_t data_at = 8 + 2 + 10 * 12 + 4;
  const E entries[] = {{256, 4, 1, w},   {257, 4, 1, h},        {258, 3, 1, 8},     {259, 3, 1, 1},
                       {262, 3, 1, 1},   {273, 4, 1, data_at},  {277, 3, 1, 1},     {278, 4, 1, h},
                       {279, 4, 1, stored}, {284, 3, 1, 1}};
  put16(t, 10);
  for (const E& e : entries) {
    put16(t, e.tag);
    put16(t, e.type);
    put32(t, e.count);
    if (e.type == 3) {
      put16(t, static_cast<std::uint16_t>(e.value));
      put16(t, 0);
    } else {
      put32(t, e.value);
    }
  }
  put32(t, 0);
  t += std::string(stored, '\0');
  return t;
}

template <class F>
std::string format_error_of(F&& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no FormatError)";
}

}  // namespace

TEST(DecompressionBombs, DeclaredSizesAreCheckedBeforeDecoding) {
  const test_support::TempDir t("cu-imgfile");
  // PNG: 16384 x 16384 RGBA (1 GiB decoded) from a ~1 KB file.
  const fs::path png = t.path() / "bomb.png";
  write(png, make_png_bomb(16384, 16384));
  ASSERT_LT(fs::file_size(png), 64u << 10);
  EXPECT_NE(format_error_of([&] { (void)read_any_image(png.string()); }).find("refused before decoding"),
            std::string::npos);
  EXPECT_NE(format_error_of([&] { (void)read_image(png.string()); }).find("pixels"), std::string::npos);
  // Just under the limit (declared 5000 x 5000 <= 2^25 pixels): no size refusal, it fails on the
  // truncated data instead.
  write(png, make_png_bomb(4000, 4000));
  EXPECT_EQ(format_error_of([&] { (void)read_image(png.string()); }).find("refused before decoding"),
            std::string::npos);
  // TIFF: 8192 x 8192 declared, 16 bytes stored.
  const fs::path tif = t.path() / "bomb.tif";
  write(tif, make_tiff_header_only(8192, 8192, 16));
  EXPECT_NE(format_error_of([&] { (void)read_any_image(tif.string()); }).find("refused before decoding"),
            std::string::npos);
  // DICOM: 8192 x 8192 16-bit declared, a few pixels stored.
  const fs::path dcm = t.path() / "bomb.dcm";
  write(dcm, make_dicom(8192, 8192, 1, std::vector<std::int16_t>(16, 1), "MONOCHROME2", "", ""));
  EXPECT_NE(format_error_of([&] { (void)read_any_image(dcm.string()); }).find("refused before decoding"),
            std::string::npos);
  // NIfTI: 4096 x 4096 x 128 int16 declared (4 GiB), a few voxels stored.
  const fs::path nii = t.path() / "bomb.nii";
  write(nii, make_nifti(4096, 4096, 128, std::vector<std::int16_t>(16, 1), 1.0f, 0.0f));
  EXPECT_NE(format_error_of([&] { (void)read_any_image(nii.string()); }).find("refused before decoding"),
            std::string::npos);
}

// Issue 9 item 6, "and the model's size when one is known": the client and `encrypt` pass the
// plan's input size; a header declaring another size is refused before decoding (the files below
// hold no pixel data beyond the PNG's, so for them a message other than the size refusal means the
// reader went on to decode).
TEST(DecompressionBombs, TheModelSizeIsTheLimitWhereItIsKnown) {
  const test_support::TempDir t("cu-imgfile");
  const PlaneLimit exact{64, 64, false, "model 'm'"};
  const PlaneLimit resample{64, 64, true, "model 'm'"};
  auto error_of = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(no error)";
  };
  auto has = [](const std::string& text, const char* part) { return text.find(part) != std::string::npos; };
  const fs::path png = t.path() / "crafted.png";
  write(png, make_png_bomb(65, 64));
  std::string e = error_of([&] { (void)read_any_image(png.string(), -1, exact); });
  EXPECT_TRUE(has(e, "is 65x64 but model 'm' expects 64x64; pass --resize") && has(e, "refused before decoding")) << e;
  // Without a limit, or with --resize (65 <= 32 x 64), the size passes and the image is decoded.
  for (const PlaneLimit& l : {PlaneLimit{}, resample}) EXPECT_EQ(read_any_image(png.string(), -1, l).width, 65);
  write(png, make_png_bomb(2048, 64 * kMaxResampleFactor + 1));
  e = error_of([&] { (void)read_any_image(png.string(), -1, resample); });
  EXPECT_TRUE(has(e, "is 2048x2049, more than 32 times the 64x64 input of model 'm' per side")) << e;
  write(png, make_png_bomb(64 * kMaxResampleFactor, 64));
  EXPECT_EQ(read_any_image(png.string(), -1, resample).width, 2048);
  // TIFF, DICOM, NIfTI headers declaring 128x128 (no pixel data) against the 64x64 model.
  const fs::path tif = t.path() / "crafted.tif", dcm = t.path() / "crafted.dcm", nii = t.path() / "crafted.nii";
  write(tif, make_tiff_header_only(128, 128, 16));
  write(dcm, make_dicom(128, 128, 1, std::vector<std::int16_t>(16, 1), "MONOCHROME2", "", ""));
  write(nii, make_nifti(128, 128, 4, std::vector<std::int16_t>(16, 1), 1.0f, 0.0f));
  for (const fs::path& f : {tif, dcm, nii}) {
    e = error_of([&] { (void)read_any_image(f.string(), -1, exact); });
    EXPECT_TRUE(has(e, "is 128x128 but model 'm' expects 64x64") && has(e, "refused before decoding")) << f << ": " << e;
  }
  // A real image of the model's size is read; the limit does not outlive the call.
  Image img(64, 64);
  img.pixels[5] = 1.0f;
  write_image_png((t.path() / "ok.png").string(), img);
  EXPECT_EQ(read_any_image((t.path() / "ok.png").string(), -1, exact).pixels[5], 1.0f);
  write(png, make_png_bomb(65, 64));
  EXPECT_FALSE(has(error_of([&] { (void)read_any_image(png.string()); }), "refused before decoding"));
}

TEST(InputKinds, FolderAndFifoAreRefusedClearlyWithoutHanging) {
  const test_support::TempDir t("cu-imgfile");
  try {
    (void)read_any_image(t.path().string());
    ADD_FAILURE() << "a folder was read as an image";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder"), std::string::npos) << e.what();
  }
  const fs::path fifo = t.path() / "pipe.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // If a reader blocked on the FIFO, this writer would release it after 3 s (so the test ends).
  std::thread unblock([&] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  });
  const auto t0 = std::chrono::steady_clock::now();
  for (auto read : {+[](const std::string& p) { (void)read_any_image(p); },
                    +[](const std::string& p) { (void)read_image(p); }}) {
    try {
      read(fifo.string());
      ADD_FAILURE() << "a FIFO was read as an image";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("FIFO"), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "unexpected: " << e.what();
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  unblock.join();
}
