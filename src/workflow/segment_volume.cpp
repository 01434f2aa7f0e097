#include "cryptounet/workflow/segment_volume.h"

#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "cryptounet/data/resize.h"
#include "cryptounet/model/model_card.h"
#include "cryptounet/workflow/segment.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace cryptounet::nn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCheckpointFormat = "cryptounet-volume-checkpoint";
constexpr int kCheckpointVersion = 1;

std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ULL) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Checkpoint folder: manifest.json (what this run is) and slice-NNNNN.f32 (the slice's logits
// at model resolution, float32, then an FNV-1a hash of them), each written atomically.
class Checkpoint {
 public:
  Checkpoint(std::string dir, const nlohmann::json& identity, std::size_t logits_per_slice)
      : dir_(std::move(dir)), per_slice_(logits_per_slice) {
    if (dir_.empty()) return;
    const fs::path manifest = fs::path(dir_) / "manifest.json";
    std::error_code ec;
    if (fs::exists(dir_, ec)) {
      if (!fs::is_directory(dir_, ec)) throw IoError("checkpoint '" + dir_ + "' exists and is not a folder");
      nlohmann::json have;
      if (fs::exists(manifest, ec)) {
        const std::vector<std::uint8_t> bytes = read_file(manifest.string(), 1 << 20);
        have = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
      }
      if (have.is_discarded() || have != identity)
        throw FormatError("checkpoint folder '" + dir_ + "' belongs to another run (other input, model, " +
                          "method or options); delete it to start afresh");
    } else {
      fs::create_directories(dir_, ec);
      if (ec) throw IoError("cannot create checkpoint folder '" + dir_ + "': " + ec.message());
      const std::string text = identity.dump(1);
      write_file_atomic(manifest.string(),
                        std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    }
  }

  [[nodiscard]] bool enabled() const { return !dir_.empty(); }

  /// The stored logits of slice s, if a complete and intact file is there.
  bool load(int s, std::vector<float>& logits) const {
    if (dir_.empty()) return false;
    const fs::path p = path(s);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return false;
    const std::size_t want = per_slice_ * sizeof(float) + 8;
    if (fs::file_size(p, ec) != want) return false;
    const std::vector<std::uint8_t> bytes = read_file(p.string(), want);
    std::uint64_t h;
    std::memcpy(&h, bytes.data() + per_slice_ * sizeof(float), 8);
    if (h != fnv1a(bytes.data(), per_slice_ * sizeof(float))) return false;
    logits.resize(per_slice_);
    std::memcpy(logits.data(), bytes.data(), per_slice_ * sizeof(float));
    return true;
  }

  void store(int s, const std::vector<float>& logits) const {
    if (dir_.empty()) return;
    const std::size_t n = logits.size() * sizeof(float);
    if (logits.size() != per_slice_ || n > (std::size_t{1} << 32))
      throw InvalidArgument("checkpoint: slice of the wrong size");
    std::vector<std::uint8_t> bytes(n + 8);
    if (n > 0) std::memcpy(bytes.data(), logits.data(), n);
    const std::uint64_t h = fnv1a(bytes.data(), n);
    std::memcpy(bytes.data() + n, &h, 8);
    write_file_atomic(path(s).string(), bytes);
  }

 private:
  [[nodiscard]] fs::path path(int s) const {
    char name[32];
    std::snprintf(name, sizeof name, "slice-%05d.f32", s);
    return fs::path(dir_) / name;
  }
  std::string dir_;
  std::size_t per_slice_;
};

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Foreground probability per pixel from the logits: sigmoid for one channel, 1 - softmax of
// channel 0 otherwise.
data::Image probability_plane(const Tensor& logits) {
  const int c = logits.shape.channels, h = logits.shape.height, w = logits.shape.width;
  data::Image p(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (c == 1) {
        p.at(y, x) = static_cast<float>(sigmoid(logits.at(0, y, x)));
      } else {
        double mx = -std::numeric_limits<double>::infinity();
        for (int k = 0; k < c; ++k) mx = std::max(mx, logits.at(k, y, x));
        double sum = 0;
        for (int k = 0; k < c; ++k) sum += std::exp(logits.at(k, y, x) - mx);
        p.at(y, x) = static_cast<float>(1.0 - std::exp(logits.at(0, y, x) - mx) / sum);
      }
    }
  return p;
}

// Cuts the centred square (side n) back to the slice (height × width).
template <class T>
std::vector<float> crop(const std::vector<T>& square, int n, int width, int height) {
  const int y0 = (n - height) / 2, x0 = (n - width) / 2;
  std::vector<float> out(static_cast<std::size_t>(width) * height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      out[static_cast<std::size_t>(y) * width + x] =
          static_cast<float>(square[static_cast<std::size_t>(y + y0) * n + (x + x0)]);
  return out;
}

// The model's identity for the checkpoint: kinds, shapes, links and every weight.
std::uint64_t graph_fingerprint(const Graph& g) {
  std::uint64_t h = fnv1a(g.name.data(), g.name.size());
  for (const Node& n : g.nodes) {
    const int head[6] = {static_cast<int>(n.kind), n.shape.channels, n.shape.height, n.shape.width, n.kernel,
                         n.stride};
    h = fnv1a(head, sizeof head, h);
    h = fnv1a(n.inputs.data(), n.inputs.size() * sizeof(int), h);
    h = fnv1a(n.weight.data(), n.weight.size() * sizeof(double), h);
    h = fnv1a(n.bias.data(), n.bias.size() * sizeof(double), h);
  }
  return h;
}

}  // namespace

SliceNormalisation parse_slice_normalisation(const std::string& card_text, double* q) {
  if (card_text == "[0,1] by slice max") return SliceNormalisation::slice_max;
  // train/prepare_brain.py: "[0,1]: slice / its 99.5th percentile over all pixels (numpy 'linear'), ..."
  const std::string head = "[0,1]: slice / its ";
  if (card_text.rfind(head, 0) == 0) {
    const std::size_t end = card_text.find("th percentile", head.size());
    if (end != std::string::npos) {
      try {
        std::size_t used = 0;
        const std::string num = card_text.substr(head.size(), end - head.size());
        const double v = std::stod(num, &used);
        if (used == num.size() && v > 0 && v <= 100) {
          if (q) *q = v;
          return SliceNormalisation::percentile;
        }
      } catch (const std::logic_error&) {
      }
    }
  }
  return SliceNormalisation::min_max;
}

std::string read_card_normalisation(const std::string& model_path) {
  const std::string card = model_card_path(model_path);
  std::error_code ec;
  if (!fs::is_regular_file(card, ec)) return "";
  const std::vector<std::uint8_t> bytes = read_file(card, 16 << 20);
  const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) throw FormatError("model card '" + card + "' is not valid JSON");
  if (!j.is_object() || !j.contains("normalisation")) return "";
  if (!j["normalisation"].is_string())
    throw FormatError("model card '" + card + "': \"normalisation\" is not a string");
  return j["normalisation"].get<std::string>();
}

bool slice_to_input(const Graph& graph, const std::vector<float>& plane, int width, int height,
                    SliceNormalisation normalisation, Tensor& input, double percentile) {
  const Shape in = graph.input_shape();
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (float v : plane) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const int n = std::max(width, height);
  const int y0 = (n - height) / 2, x0 = (n - width) / 2;
  data::Image square(n, n);  // zero padding, as the training scripts pad
  if (normalisation == SliceNormalisation::percentile) {
    if (!(hi > 0) && !(lo < 0)) return false;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) square.at(y + y0, x + x0) = plane[static_cast<std::size_t>(y) * width + x];
  } else if (normalisation == SliceNormalisation::slice_max) {
    if (!(hi > 0)) return false;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        square.at(y + y0, x + x0) = std::max(plane[static_cast<std::size_t>(y) * width + x], 0.0f) / hi;
  } else {
    if (!(hi > lo)) return false;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        square.at(y + y0, x + x0) = (plane[static_cast<std::size_t>(y) * width + x] - lo) / (hi - lo);
  }
  data::Image small = (n == in.width && n == in.height) ? square : data::resize_area(square, in.width, in.height);
  if (normalisation == SliceNormalisation::slice_max) {
    double mx = 0;
    for (double v : small.pixels) mx = std::max(mx, v);
    if (!(mx > 0)) return false;
    for (double& v : small.pixels) v /= mx;
  } else if (normalisation == SliceNormalisation::percentile) {
    // numpy.percentile(a, q), method 'linear', over all pixels after resampling.
    std::vector<double> sorted(small.pixels.begin(), small.pixels.end());
    std::sort(sorted.begin(), sorted.end());
    const double pos = percentile / 100.0 * static_cast<double>(sorted.size() - 1);
    const std::size_t lo_i = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi_i = std::min(lo_i + 1, sorted.size() - 1);
    double p = sorted[lo_i] + (pos - static_cast<double>(lo_i)) * (sorted[hi_i] - sorted[lo_i]);
    if (!(p > 0)) p = sorted.back();
    if (!(p > 0)) return false;
    for (double& v : small.pixels) v = std::clamp(v / p, 0.0, 1.0);
  }
  input = image_to_input(graph, small, false, "slice");
  return true;
}

VolumeResult segment_volume(const Graph& graph, const data::Volume& volume, const SliceModel& model,
                            const VolumeOptions& o) {
  const Shape in = graph.input_shape();
  if (in.channels != 1 || in.width != in.height || in.width <= 0)
    throw InvalidArgument("segment_volume: the model takes " + std::to_string(in.channels) + "x" +
                          std::to_string(in.height) + "x" + std::to_string(in.width) +
                          "; a volume needs a square 1-channel input");
  if (model.batch < 1 || (!model.run && !model.run_all)) throw InvalidArgument("segment_volume: no slice model");
  if (volume.voxels.size() != volume.geometry.voxels())
    throw InvalidArgument("segment_volume: voxel count does not match the grid");
  const data::SliceView view(volume.geometry, o.axis);
  const int last = o.last < 0 ? view.count() - 1 : o.last;
  if (o.first < 0 || o.first > last || last >= view.count())
    throw InvalidArgument("segment_volume: slices " + std::to_string(o.first) + ".." + std::to_string(last) +
                          " out of range (the volume has " + std::to_string(view.count()) + " " +
                          data::slice_axis_name(o.axis) + " slices)");

  VolumeResult r;
  r.model_size = in.width;
  r.slice_width = view.width();
  r.slice_height = view.height();
  r.orientation = data::volume_orientation(volume.geometry).code();
  r.slices = last - o.first + 1;
  r.mask.assign(volume.voxels.size(), 0.0f);
  if (o.probabilities) r.probabilities.assign(volume.voxels.size(), 0.0f);

  const Shape out_shape = graph.output_shape();
  const std::size_t per_slice = out_shape.size();
  nlohmann::json identity = {
      {"format", kCheckpointFormat},
      {"version", kCheckpointVersion},
      {"key", o.checkpoint_key},
      {"model", hex(graph_fingerprint(graph))},
      {"input_dims", volume.geometry.dim},
      {"input_hash", hex(fnv1a(volume.voxels.data(), volume.voxels.size() * sizeof(float)))},
      {"axis", data::slice_axis_name(o.axis)},
      {"normalisation", o.normalisation == SliceNormalisation::slice_max    ? "slice_max"
                        : o.normalisation == SliceNormalisation::percentile ? "percentile " + std::to_string(o.percentile)
                                                                            : "min_max"},
      {"output_shape", {out_shape.channels, out_shape.height, out_shape.width}},
  };
  const Checkpoint ckpt(o.checkpoint_dir, identity, per_slice);

  const int n = std::max(view.width(), view.height());
  auto finish_slice = [&](int s, const Tensor& logits) {
    data::Mask m = output_mask(logits, o.threshold, o.clean_mask);
    if (m.width != n || m.height != n) m = data::resize_majority(m, n, n);
    view.insert(r.mask, s, crop(m.values, n, view.width(), view.height()));
    if (o.probabilities) {
      data::Image p = probability_plane(logits);
      if (p.width != n || p.height != n) p = data::resize_area(p, n, n);
      view.insert(r.probabilities, s, crop(p.pixels, n, view.width(), view.height()));
    }
  };

  VolumeProgress prog;
  prog.total = r.slices;
  const auto t0 = std::chrono::steady_clock::now();
  auto report = [&](int s) {
    prog.done++;
    prog.last_slice = s;
    prog.computed = r.computed;
    prog.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int left = prog.total - prog.done;
    prog.eta_s = r.computed > 0 ? prog.elapsed_s / r.computed * left : (left == 0 ? 0.0 : -1.0);
    if (o.progress) o.progress(prog);
  };

  // Pass 1: empty and checkpointed slices; collect the rest.
  std::vector<int> todo;
  std::vector<Tensor> inputs;
  std::vector<float> stored;
  for (int s = o.first; s <= last; ++s) {
    Tensor input;
    if (!slice_to_input(graph, view.extract(volume.voxels, s), view.width(), view.height(), o.normalisation,
                        input, o.percentile)) {
      r.empty++;
      report(s);
      continue;
    }
    if (ckpt.load(s, stored)) {
      Tensor logits(out_shape);
      for (std::size_t i = 0; i < per_slice; ++i) logits.data[i] = stored[i];
      finish_slice(s, logits);
      r.resumed++;
      report(s);
      continue;
    }
    todo.push_back(s);
    inputs.push_back(std::move(input));
  }

  // Pass 2: the model, a batch at a time; each slice is checkpointed as soon as it is back.
  auto batch_done = [&](std::size_t b, const std::vector<Tensor>& logits) {
    const std::size_t first = b * static_cast<std::size_t>(model.batch);
    const std::size_t count = std::min(todo.size() - first, static_cast<std::size_t>(model.batch));
    if (logits.size() < count)
      throw InvalidArgument("segment_volume: the slice model returned " + std::to_string(logits.size()) +
                            " results for " + std::to_string(count) + " inputs");
    for (std::size_t i = 0; i < count; ++i) {
      const int s = todo[first + i];
      if (logits[i].shape != out_shape)
        throw InvalidArgument("segment_volume: the slice model returned logits of another shape");
      // Round to float32 first, so a resumed run (which reads the stored float32) gives the same result.
      std::vector<float> f(per_slice);
      Tensor rounded(out_shape);
      for (std::size_t k = 0; k < per_slice; ++k) {
        f[k] = static_cast<float>(logits[i].data[k]);
        rounded.data[k] = f[k];
      }
      ckpt.store(s, f);
      finish_slice(s, rounded);
      r.computed++;
      report(s);
    }
  };
  std::vector<std::vector<Tensor>> batches;
  for (std::size_t b = 0; b < todo.size(); b += static_cast<std::size_t>(model.batch)) {
    const std::size_t e = std::min(todo.size(), b + static_cast<std::size_t>(model.batch));
    batches.emplace_back(std::make_move_iterator(inputs.begin() + static_cast<std::ptrdiff_t>(b)),
                         std::make_move_iterator(inputs.begin() + static_cast<std::ptrdiff_t>(e)));
  }
  inputs.clear();
  if (model.run_all) {
    std::vector<bool> seen(batches.size(), false);
    model.run_all(std::move(batches), [&](std::size_t b, std::vector<Tensor> logits) {
      if (b >= seen.size() || seen[b])
        throw InvalidArgument("segment_volume: batch " + std::to_string(b) + " returned twice or unknown");
      seen[b] = true;
      batch_done(b, logits);
    });
    for (std::size_t b = 0; b < seen.size(); ++b)
      if (!seen[b]) throw InvalidArgument("segment_volume: batch " + std::to_string(b) + " never returned");
  } else {
    for (std::size_t b = 0; b < batches.size(); ++b) batch_done(b, model.run(batches[b]));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace cryptounet::nn
