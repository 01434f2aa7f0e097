#include "cryptounet/data/resize.h"

#include "cryptounet/common/error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace cryptounet::data {
namespace {

// weights[o] lists (source index, overlap fraction / output length) for output cell o when
// [0, n_in) is mapped onto [0, n_out): exact box filter, so weights of each cell sum to 1.
struct Tap {
  int index;
  double weight;
};

std::vector<std::vector<Tap>> box_taps(int n_in, int n_out) {
  std::vector<std::vector<Tap>> taps(n_out);
  const double scale = static_cast<double>(n_in) / n_out;  // source length per output cell
  for (int o = 0; o < n_out; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    for (int i = static_cast<int>(lo); i < n_in && i < hi; ++i) {
      const double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
      if (overlap > 1e-12) taps[o].push_back({i, overlap / scale});
    }
  }
  return taps;
}

void check(int in_w, int in_h, std::size_t have, int w, int h, const char* what) {
  if (w <= 0 || h <= 0 || in_w <= 0 || in_h <= 0 ||
      have != static_cast<std::size_t>(in_w) * in_h)
    throw InvalidArgument(std::string(what) + ": cannot resize " + std::to_string(in_w) + "x" +
                          std::to_string(in_h) + " to " + std::to_string(w) + "x" +
                          std::to_string(h));
}

// Separable box filter of a plane of doubles.
std::vector<double> box_resample(const std::vector<double>& in, int in_w, int in_h, int w, int h) {
  const auto tx = box_taps(in_w, w), ty = box_taps(in_h, h);
  std::vector<double> rows(static_cast<std::size_t>(in_h) * w, 0.0);
  for (int y = 0; y < in_h; ++y)
    for (int x = 0; x < w; ++x) {
      double s = 0;
      for (const Tap& t : tx[x]) s += t.weight * in[static_cast<std::size_t>(y) * in_w + t.index];
      rows[static_cast<std::size_t>(y) * w + x] = s;
    }
  std::vector<double> out(static_cast<std::size_t>(h) * w, 0.0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double s = 0;
      for (const Tap& t : ty[y]) s += t.weight * rows[static_cast<std::size_t>(t.index) * w + x];
      out[static_cast<std::size_t>(y) * w + x] = s;
    }
  return out;
}

}  // namespace

Image resize_area(const Image& image, int width, int height) {
  check(image.width, image.height, image.pixels.size(), width, height, "resize_area");
  std::vector<double> in(image.pixels.begin(), image.pixels.end());
  const auto out = box_resample(in, image.width, image.height, width, height);
  Image r(width, height);
  for (std::size_t i = 0; i < out.size(); ++i) r.pixels[i] = out[i];
  return r;
}

Mask resize_majority(const Mask& mask, int width, int height) {
  check(mask.width, mask.height, mask.values.size(), width, height, "resize_majority");
  std::vector<double> in(mask.values.size());
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = mask.values[i] ? 1.0 : 0.0;
  const auto cover = box_resample(in, mask.width, mask.height, width, height);
  Mask r(width, height);
  // Foreground when at least half of the covered area is foreground (ties go to foreground).
  for (std::size_t i = 0; i < cover.size(); ++i) r.values[i] = cover[i] >= 0.5 - 1e-9 ? 1 : 0;
  return r;
}

void zoom_out(Image& image, Mask& mask, double scale) {
  if (!(scale > 0 && scale <= 1))
    throw InvalidArgument("zoom_out: scale " + std::to_string(scale) + " is outside (0, 1]");
  if (image.width != mask.width || image.height != mask.height)
    throw InvalidArgument("zoom_out: image and mask sizes differ");
  const int nw = std::max(2, static_cast<int>(std::lround(image.width * scale)));
  const int nh = std::max(2, static_cast<int>(std::lround(image.height * scale)));
  if (nw >= image.width && nh >= image.height) return;
  const Image small = resize_area(image, nw, nh);
  const Mask small_mask = resize_majority(mask, nw, nh);
  const int x0 = (image.width - nw) / 2, y0 = (image.height - nh) / 2;
  Image canvas(image.width, image.height);
  Mask canvas_mask(image.width, image.height);
  double peak = 0;
  for (int y = 0; y < nh; ++y)
    for (int x = 0; x < nw; ++x) {
      canvas.at(y0 + y, x0 + x) = small.at(y, x);
      canvas_mask.at(y0 + y, x0 + x) = small_mask.at(y, x);
      peak = std::max(peak, small.at(y, x));
    }
  if (peak > 0)
    for (double& v : canvas.pixels) v /= peak;
  image = std::move(canvas);
  mask = std::move(canvas_mask);
}

}  // namespace cryptounet::data
