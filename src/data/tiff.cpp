#include "cryptounet/data/tiff.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"

#include <tiffio.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace cryptounet::data {
namespace {

struct TiffClose {
  void operator()(TIFF* t) const { TIFFClose(t); }
};

void quiet(const char*, const char*, va_list) {}

}  // namespace

Image read_tiff(const std::string& path, int page) {
  const std::string what = "read_tiff '" + path + "'";
  if (!std::filesystem::is_regular_file(path)) throw IoError(what + ": no such file");
  TIFFSetWarningHandler(&quiet);
  TIFFSetErrorHandler(&quiet);
  std::unique_ptr<TIFF, TiffClose> tif(TIFFOpen(path.c_str(), "r"));
  if (!tif) throw FormatError(what + ": not a TIFF file libtiff can read");
  if (page < 0) throw InvalidArgument(what + ": page " + std::to_string(page));
  for (int p = 0; p < page; ++p)
    if (!TIFFReadDirectory(tif.get()))
      throw InvalidArgument(what + ": page " + std::to_string(page) + " out of range (the file has " +
                            std::to_string(p + 1) + ")");
  std::uint32_t w = 0, h = 0;
  std::uint16_t bits = 8, spp = 1, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG;
  if (!TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h))
    throw FormatError(what + ": no image size");
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_PLANARCONFIG, &planar);
  if (w == 0 || h == 0 || w > 65536 || h > 65536) throw FormatError(what + ": bad size");
  // Declared size against the limits before any row is decoded (our plane holds doubles).
  check_declared_size(what, w, h, std::uint64_t{w} * h * (spp == 1 ? 1 : 3) * sizeof(double));
  if (TIFFIsTiled(tif.get())) throw FormatError(what + ": tiled TIFFs are not supported");
  if (spp != 1 && spp != 3 && spp != 4)
    throw FormatError(what + ": " + std::to_string(spp) + " samples per pixel (1, 3 or 4 supported)");
  const bool is_float = format == SAMPLEFORMAT_IEEEFP;
  if (!(format == SAMPLEFORMAT_UINT && (bits == 8 || bits == 16 || bits == 32)) &&
      !(is_float && (bits == 32 || bits == 64)))
    throw FormatError(what + ": unsupported samples (" + std::to_string(bits) + "-bit, format " +
                      std::to_string(format) + ")");
  const std::size_t bytes = bits / 8;
  const std::size_t line_samples = planar == PLANARCONFIG_CONTIG ? std::size_t{w} * spp : w;
  if (static_cast<std::size_t>(TIFFScanlineSize(tif.get())) < line_samples * bytes)
    throw FormatError(what + ": scanline shorter than the size says");
  std::vector<char> line(static_cast<std::size_t>(TIFFScanlineSize(tif.get())));
  auto sample = [&](std::size_t i) -> double {
    const char* p = line.data() + i * bytes;
    switch (bits) {
      case 8: return is_float ? 0.0 : static_cast<double>(static_cast<std::uint8_t>(*p));
      case 16: { std::uint16_t v; std::memcpy(&v, p, 2); return v; }
      case 32: {
        if (is_float) { float v; std::memcpy(&v, p, 4); return v; }
        std::uint32_t v; std::memcpy(&v, p, 4); return v;
      }
      default: { double v; std::memcpy(&v, p, 8); return v; }
    }
  };
  const std::size_t n = std::size_t{w} * h;
  const int channels = spp == 1 ? 1 : 3;
  std::vector<double> c(n * channels, 0.0);
  for (int k = 0; k < (planar == PLANARCONFIG_CONTIG ? 1 : channels); ++k)
    for (std::uint32_t y = 0; y < h; ++y) {
      if (TIFFReadScanline(tif.get(), line.data(), y, static_cast<std::uint16_t>(k)) < 0)
        throw FormatError(what + ": cannot read row " + std::to_string(y));
      for (std::uint32_t x = 0; x < w; ++x) {
        if (planar == PLANARCONFIG_CONTIG)
          for (int ch = 0; ch < channels; ++ch) c[(std::size_t{y} * w + x) * channels + ch] = sample(std::size_t{x} * spp + ch);
        else
          c[(std::size_t{y} * w + x) * channels + k] = sample(x);
      }
    }
  std::vector<double> grey(n);
  for (std::size_t i = 0; i < n; ++i)
    grey[i] = channels == 1 ? c[i] : 0.299 * c[i * 3] + 0.587 * c[i * 3 + 1] + 0.114 * c[i * 3 + 2];
  if (is_float) return image_from_values(grey, static_cast<int>(w), static_cast<int>(h), what);
  const double max = bits == 8 ? 255.0 : bits == 16 ? 65535.0 : 4294967295.0;
  Image img(static_cast<int>(w), static_cast<int>(h));
  for (std::size_t i = 0; i < n; ++i) img.pixels[i] = grey[i] / max;
  return img;
}

}  // namespace cryptounet::data
