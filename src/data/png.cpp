// stb_image is compiled here, static to this file (Debian's libstb.so also exports it; keeping our
// copy static avoids any clash and pins the version we test against).
#include "cryptounet/data/png.h"

#include "cryptounet/common/binary_io.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/common/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <fstream>
#include <memory>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#define STBI_NO_STDIO_SKIP
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace cryptounet::data {
namespace {

// Files larger than this are refused before decoding (a 16-bit RGBA 8192² PNG is ~512 MiB raw).
constexpr std::uint64_t kMaxFileBytes = 256ull << 20;
constexpr int kMaxSide = 16384;

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

double luma(double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; }

// Decodes to grey values on [0, max] and returns them divided by max.
Image decode(const std::string& path) {
  check_regular_file(path);  // a folder or FIFO: a clear IoError
  const auto bytes = read_file(path, kMaxFileBytes);  // IoError if it cannot be read
  if (bytes.empty()) throw FormatError("read_image: '" + path + "' is empty");
  const auto* buf = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, ch = 0;
  if (!stbi_info_from_memory(buf, len, &w, &h, &ch))
    throw FormatError("read_image: '" + path + "' is not a readable PNG (" +
                      stbi_failure_reason() + ")");
  if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide)
    throw FormatError("read_image: '" + path + "' is " + std::to_string(w) + "x" +
                      std::to_string(h) + ", outside 1.." + std::to_string(kMaxSide));
  const bool sixteen = stbi_is_16_bit_from_memory(buf, len) != 0;
  // Before decoding: what stb would allocate (w h ch samples) plus our double plane.
  check_declared_size("read_image: '" + path + "'", static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h),
                      static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h) *
                          (static_cast<std::uint64_t>(std::max(ch, 1)) * (sixteen ? 2 : 1) + sizeof(double)));
  Image img(w, h);
  const std::size_t n = static_cast<std::size_t>(w) * h;
  auto convert = [&](auto* px, double max) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto* p = px + i * ch;
      const double v = (ch >= 3) ? luma(p[0], p[1], p[2]) : p[0];
      img.pixels[i] = std::clamp(v / max, 0.0, 1.0);
    }
  };
  if (sixteen) {
    std::unique_ptr<stbi_us, StbFree> px(stbi_load_16_from_memory(buf, len, &w, &h, &ch, 0));
    if (!px)
      throw FormatError("read_image: cannot decode '" + path + "' (" + stbi_failure_reason() + ")");
    convert(px.get(), 65535.0);
  } else {
    std::unique_ptr<stbi_uc, StbFree> px(stbi_load_from_memory(buf, len, &w, &h, &ch, 0));
    if (!px)
      throw FormatError("read_image: cannot decode '" + path + "' (" + stbi_failure_reason() + ")");
    convert(px.get(), 255.0);
  }
  return img;
}

void append(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(ctx);
  const auto* p = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

void write_png(const std::string& path, int w, int h, int comp, const std::uint8_t* data) {
  std::vector<std::uint8_t> bytes;
  if (!stbi_write_png_to_func(&append, &bytes, w, h, comp, data, w * comp))
    throw IoError("write_png: cannot encode '" + path + "'");
  // Plain write (no fsync): dataset tools write thousands of these; a torn file is re-made by
  // rerunning the command and is refused by the reader. Mode 0600 whatever the umask: decrypted
  // masks and overlays are patient data, like the .ct files (issue 9).
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw IoError("write_png: cannot open '" + path + "' for writing: " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  for (std::size_t done = 0; ok && done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = (::close(fd) == 0) && ok;
  if (!ok) throw IoError("write_png: writing '" + path + "' failed: " + std::strerror(errno));
}

void check(int w, int h, std::size_t have, std::size_t per, const char* what) {
  if (w <= 0 || h <= 0 || have != static_cast<std::size_t>(w) * h * per)
    throw InvalidArgument(std::string(what) + ": " + std::to_string(w) + "x" + std::to_string(h) +
                          " with " + std::to_string(have) + " values");
}

}  // namespace

Image read_image(const std::string& path) { return decode(path); }

Mask read_mask(const std::string& path) {
  const Image img = decode(path);
  Mask m(img.width, img.height);
  for (std::size_t i = 0; i < m.values.size(); ++i)
    m.values[i] = img.pixels[i] >= 127.5 / 255.0 ? 1 : 0;  // 8-bit value ≥ 128
  return m;
}

void write_image_png(const std::string& path, const Image& image) {
  check(image.width, image.height, image.pixels.size(), 1, "write_image_png");
  std::vector<std::uint8_t> px(image.pixels.size());
  for (std::size_t i = 0; i < px.size(); ++i) {
    const double v = std::isnan(image.pixels[i]) ? 0.0 : std::clamp(image.pixels[i], 0.0, 1.0);
    px[i] = static_cast<std::uint8_t>(std::lround(v * 255.0f));
  }
  write_png(path, image.width, image.height, 1, px.data());
}

void write_mask_png(const std::string& path, const Mask& mask) {
  check(mask.width, mask.height, mask.values.size(), 1, "write_mask_png");
  std::vector<std::uint8_t> px(mask.values.size());
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = mask.values[i] ? 255 : 0;
  write_png(path, mask.width, mask.height, 1, px.data());
}

void write_rgb_png(const std::string& path, const RgbImage& image) {
  check(image.width, image.height, image.rgb.size(), 3, "write_rgb_png");
  write_png(path, image.width, image.height, 3, image.rgb.data());
}

namespace {

bool on_outline(const Mask& m, int y, int x) {
  if (!m.at(y, x)) return false;
  const int dy[] = {-1, 1, 0, 0}, dx[] = {0, 0, -1, 1};
  for (int k = 0; k < 4; ++k) {
    const int yy = y + dy[k], xx = x + dx[k];
    if (yy < 0 || yy >= m.height || xx < 0 || xx >= m.width || !m.at(yy, xx)) return true;
  }
  return false;
}

void same_size(const Image& image, const Mask& mask, const char* what) {
  if (image.width != mask.width || image.height != mask.height)
    throw InvalidArgument(std::string("overlay: image is ") + std::to_string(image.width) + "x" +
                          std::to_string(image.height) + ", " + what + " is " +
                          std::to_string(mask.width) + "x" + std::to_string(mask.height));
}

}  // namespace

RgbImage overlay(const Image& image, const Mask& mask, std::array<std::uint8_t, 3> color,
                 double alpha) {
  same_size(image, mask, "mask");
  RgbImage out{image.width, image.height,
               std::vector<std::uint8_t>(static_cast<std::size_t>(image.width) * image.height * 3)};
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const double g = std::clamp(static_cast<double>(image.at(y, x)), 0.0, 1.0) * 255.0;
      std::uint8_t* p = &out.rgb[(static_cast<std::size_t>(y) * image.width + x) * 3];
      for (int c = 0; c < 3; ++c) {
        double v = g;
        if (on_outline(mask, y, x))
          v = color[c];
        else if (mask.at(y, x))
          v = (1 - alpha) * g + alpha * color[c];
        p[c] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  return out;
}

RgbImage overlay(const Image& image, const Mask& mask, const Mask& truth,
                 std::array<std::uint8_t, 3> color, std::array<std::uint8_t, 3> truth_color) {
  same_size(image, truth, "ground-truth mask");
  RgbImage out = overlay(image, mask, color);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      if (on_outline(truth, y, x))
        for (int c = 0; c < 3; ++c)
          out.rgb[(static_cast<std::size_t>(y) * image.width + x) * 3 + c] = truth_color[c];
  return out;
}

}  // namespace cryptounet::data
