#include "cryptounet/data/synth_nuclei.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/prng.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace cryptounet::data {
namespace {

constexpr double kTwoPi = 6.283185307179586;

// A star-convex nucleus: radius(θ) = r0 · (1 + e·cos 2(θ − φ)) · (1 + Σ_k a_k cos(kθ + p_k)).
struct Nucleus {
  double cx, cy, r0, elongation, angle;
  double harm_amp[3], harm_phase[3];  // k = 3, 4, 5: gentle lobes
  double brightness;

  [[nodiscard]] double radius(double theta) const {
    double wobble = 1.0;
    for (int k = 0; k < 3; ++k) wobble += harm_amp[k] * std::cos((k + 3) * theta + harm_phase[k]);
    return r0 * (1.0 + elongation * std::cos(2.0 * (theta - angle))) * wobble;
  }
  [[nodiscard]] double max_radius() const {
    return r0 * (1.0 + elongation) * (1.0 + harm_amp[0] + harm_amp[1] + harm_amp[2]);
  }
  [[nodiscard]] bool contains(double x, double y) const {
    const double dx = x - cx, dy = y - cy;
    const double d2 = dx * dx + dy * dy;
    if (d2 > max_radius() * max_radius()) return false;
    const double r = radius(std::atan2(dy, dx));
    return d2 <= r * r;
  }
};

Nucleus random_nucleus(Prng& rng, double cx, double cy, double r0) {
  Nucleus n{};
  n.cx = cx;
  n.cy = cy;
  n.r0 = r0;
  n.elongation = rng.uniform(0.0, 0.35);
  n.angle = rng.uniform(0.0, kTwoPi);
  for (int k = 0; k < 3; ++k) {
    n.harm_amp[k] = rng.uniform(0.0, 0.05);
    n.harm_phase[k] = rng.uniform(0.0, kTwoPi);
  }
  n.brightness = rng.uniform(0.45, 1.0);
  return n;
}

// Smooth random field in about [-1, 1]: bilinear interpolation of a random grid with `cell` px.
std::vector<double> value_noise(Prng& rng, int size, double cell) {
  const int g = static_cast<int>(std::ceil(size / cell)) + 2;
  std::vector<double> grid(static_cast<std::size_t>(g) * g);
  for (auto& v : grid) v = rng.uniform(-1.0, 1.0);
  std::vector<double> out(static_cast<std::size_t>(size) * size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double fx = x / cell, fy = y / cell;
      const int ix = static_cast<int>(fx), iy = static_cast<int>(fy);
      const double tx = fx - ix, ty = fy - iy;
      auto at = [&](int yy, int xx) { return grid[static_cast<std::size_t>(yy) * g + xx]; };
      out[static_cast<std::size_t>(y) * size + x] =
          (1 - ty) * ((1 - tx) * at(iy, ix) + tx * at(iy, ix + 1)) +
          ty * ((1 - tx) * at(iy + 1, ix) + tx * at(iy + 1, ix + 1));
    }
  return out;
}

// Separable Gaussian blur with edge clamping (the optics' point-spread function).
void gaussian_blur(std::vector<double>& img, int size, double sigma) {
  const int radius = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> k(2 * radius + 1);
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) sum += k[i + radius] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (auto& v : k) v /= sum;
  std::vector<double> tmp(img.size());
  auto clampi = [&](int v) { return std::clamp(v, 0, size - 1); };
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      double s = 0;
      for (int i = -radius; i <= radius; ++i)
        s += k[i + radius] * img[static_cast<std::size_t>(y) * size + clampi(x + i)];
      tmp[static_cast<std::size_t>(y) * size + x] = s;
    }
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      double s = 0;
      for (int i = -radius; i <= radius; ++i)
        s += k[i + radius] * tmp[static_cast<std::size_t>(clampi(y + i)) * size + x];
      img[static_cast<std::size_t>(y) * size + x] = s;
    }
}

}  // namespace

Sample synth_nuclei(const SynthOptions& options, std::uint64_t index) {
  const int size = options.size;
  if (size < 16 || size > 4096)
    throw InvalidArgument("synth_nuclei: size " + std::to_string(size) + " is outside 16..4096");
  // One independent stream per image: the image does not depend on how many came before it.
  std::uint64_t mix = options.seed ^ (index * 0xD1B54A32D192ED03ULL);
  Prng rng(splitmix64(mix));
  const double scale = size / 64.0;  // sizes are designed at 64×64 and scale with the image

  // 1. Place nuclei: free ones avoid heavy overlap; clustered ones touch their predecessor.
  std::vector<Nucleus> nuclei;
  const int target = static_cast<int>(std::lround(rng.uniform_int(4, 14) * scale * scale));
  for (int attempt = 0; attempt < target * 20 && static_cast<int>(nuclei.size()) < target; ++attempt) {
    const double r0 = rng.uniform(3.5, 7.5) * scale;
    double cx, cy;
    const bool cluster = !nuclei.empty() && rng.uniform() < 0.4;
    if (cluster) {
      const Nucleus& prev = nuclei[rng.uniform_int(0, static_cast<int>(nuclei.size()) - 1)];
      const double dir = rng.uniform(0.0, kTwoPi);
      const double dist = (prev.r0 + r0) * rng.uniform(0.8, 1.0);  // touching or slightly pressed
      cx = prev.cx + dist * std::cos(dir);
      cy = prev.cy + dist * std::sin(dir);
    } else {
      cx = rng.uniform(0.0, size);
      cy = rng.uniform(0.0, size);
    }
    Nucleus n = random_nucleus(rng, cx, cy, r0);
    bool ok = cx > -r0 / 2 && cy > -r0 / 2 && cx < size + r0 / 2 && cy < size + r0 / 2;
    for (const Nucleus& m : nuclei) {
      const double d = std::hypot(m.cx - cx, m.cy - cy);
      if (d < (cluster ? 0.75 : 1.05) * (m.r0 + r0)) ok = false;
    }
    if (ok) nuclei.push_back(n);
  }

  // 2. Exact mask (pixel centres) and anti-aliased signal (4×4 supersampling), with texture.
  const auto texture = value_noise(rng, size, 2.5 * scale);
  const std::size_t npx = static_cast<std::size_t>(size) * size;
  std::vector<double> signal(npx, 0.0);
  Mask mask(size, size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double px = x + 0.5, py = y + 0.5;
      double value = 0;
      bool inside = false;
      for (const Nucleus& n : nuclei) {
        const double reach = n.max_radius() + 1.0;
        if (std::abs(px - n.cx) > reach || std::abs(py - n.cy) > reach) continue;
        if (n.contains(px, py)) inside = true;
        int hits = 0;
        for (int sy = 0; sy < 4; ++sy)
          for (int sx = 0; sx < 4; ++sx) hits += n.contains(x + (sx + 0.5) / 4, y + (sy + 0.5) / 4);
        value = std::max(value, n.brightness * hits / 16.0);
      }
      mask.at(y, x) = inside ? 1 : 0;
      signal[static_cast<std::size_t>(y) * size + x] =
          value * (0.82 + 0.18 * texture[static_cast<std::size_t>(y) * size + x]);
    }

  // 3. Uneven illumination (a tilted plane plus a broad bump) and background autofluorescence.
  const double gx = rng.uniform(-0.35, 0.35), gy = rng.uniform(-0.35, 0.35);
  const double bx = rng.uniform(0.0, size), by = rng.uniform(0.0, size);
  const double bump = rng.uniform(0.0, 0.3), width = rng.uniform(0.4, 0.9) * size;
  const double background = rng.uniform(0.02, 0.10);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double u = (x + 0.5) / size - 0.5, v = (y + 0.5) / size - 0.5;
      const double d2 = ((x - bx) * (x - bx) + (y - by) * (y - by)) / (width * width);
      const double illum = std::max(0.3, 0.85 + gx * u + gy * v + bump * std::exp(-d2));
      double& s = signal[static_cast<std::size_t>(y) * size + x];
      s = s * illum + background;
    }

  // 4. Optics, then the camera: photon (Poisson) and read-out (Gaussian) noise, 8-bit output.
  gaussian_blur(signal, size, rng.uniform(0.6, 1.3) * std::sqrt(scale));
  const double photons = rng.uniform(40.0, 250.0);  // photons at full scale
  const double read_noise = rng.uniform(0.005, 0.025);
  Image image(size, size);
  for (std::size_t i = 0; i < npx; ++i) {
    const double counted = rng.poisson(std::max(0.0, signal[i]) * photons) / photons;
    const double v = std::clamp(counted + read_noise * rng.normal(), 0.0, 1.0);
    image.pixels[i] = static_cast<double>(std::lround(v * 255.0)) / 255.0;  // what its PNG reads back
  }
  char name[32];
  std::snprintf(name, sizeof name, "nuclei_%04llu.png", static_cast<unsigned long long>(index));
  return {name, std::move(image), std::move(mask)};
}

Dataset write_synth_dataset(const std::string& dir, int count, const SynthOptions& options) {
  if (count < 1) throw InvalidArgument("synth: count " + std::to_string(count) + " must be ≥ 1");
  int n_train = static_cast<int>(std::lround(0.70 * count));
  int n_val = static_cast<int>(std::lround(0.15 * count));
  if (count >= 2 && n_train + n_val >= count) {  // keep at least one test image
    if (n_val > 0) --n_val;
    else --n_train;
  }
  Dataset ds;
  ds.dir = dir;
  ds.name = "nuclei-" + std::to_string(options.size);
  ds.size = options.size;
  for (int i = 0; i < count; ++i) {
    Sample s = synth_nuclei(options, static_cast<std::uint64_t>(i));
    write_sample(dir, s.file, s.image, s.mask);
    const char* split = i < n_train ? "train" : i < n_train + n_val ? "val" : "test";
    ds.items.push_back({s.file, split,
                        "synthetic nuclei, seed " + std::to_string(options.seed) + ", index " +
                            std::to_string(i)});
  }
  write_manifest(dir, ds.name, ds.size, ds.items);
  return ds;
}

}  // namespace cryptounet::data
