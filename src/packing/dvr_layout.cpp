#include "cryptounet/packing/dvr_layout.h"

#include <algorithm>
#include <sstream>

#include "cryptounet/common/error.h"
#include "cryptounet/packing/bands.h"

namespace cryptounet::packing {

namespace {

bool is_pow2(long v) { return v > 0 && (v & (v - 1)) == 0; }

std::string where(const char* op) { return std::string("dvr_layout ") + op + ": "; }

// Calls f(image, index in the image's (C, H, W) tensor, primary slot) for every value of a batch.
template <class F>
void for_each_value(const DvrLayout& l, F&& f) {
  for (int b = 0; b < l.batch(); ++b)
    for (int c = 0; c < l.channels(); ++c)
      for (int y = 0; y < l.height(); ++y)
        for (int x = 0; x < l.width(); ++x)
          f(b, (static_cast<std::size_t>(c) * l.height() + y) * l.width() + x, l.slot_of({b, c, y, x}));
}

}  // namespace

std::pair<int, int> multiplex_offset(int m, int mux) {
  int oy = 0, ox = 0;
  for (int q = 1; q < mux; q *= 2, m /= 4) {
    const auto [by, bx] = merge_block_origin(m & 3, q);
    oy += by;
    ox += bx;
  }
  return {oy, ox};
}

int multiplex_index(int oy, int ox, int mux) {
  int m = 0, shift = 0;
  for (int q = 1; q < mux; q *= 2, shift += 2) m |= ((((oy / q) & 1) << 1) | ((ox / q) & 1)) << shift;
  return m;
}

const char* mode_name(PackingMode mode) {
  return mode == PackingMode::latency ? "latency" : "throughput";
}

Grid Grid::make(int slots, int height, int width) {
  if (!is_pow2(slots))
    throw InvalidArgument(where("grid") + "slots " + std::to_string(slots) +
                          " is not a power of two");
  if (height <= 0 || width <= 0)
    throw InvalidArgument(where("grid") + "bad image size " + std::to_string(height) + "x" +
                          std::to_string(width));
  long pixels = static_cast<long>(height) * width;
  long plane = 1;
  while (plane < pixels) plane <<= 1;
  if (plane > slots)
    throw InvalidArgument(where("grid") + "a " + std::to_string(height) + "x" +
                          std::to_string(width) + " plane needs " + std::to_string(plane) +
                          " slots but a ciphertext has " + std::to_string(slots));
  Grid g;
  g.slots = slots;
  g.height = height;
  g.width = width;
  g.plane = static_cast<int>(plane);
  g.rows = static_cast<int>(slots / plane);
  g.bands = 1;
  g.band_rows = height;
  return g;
}

Grid Grid::make_banded(int slots, int height, int width, int max_stride) {
  if (!is_pow2(slots))
    throw InvalidArgument(where("grid") + "slots " + std::to_string(slots) + " is not a power of two");
  std::string why;
  const auto split = BandSplit::make(slots, height, width, max_stride, &why);
  if (!split) throw InvalidArgument(where("grid") + why);
  if (split->bands == 1) return make(slots, height, width);
  return from_parts(slots, height, width, split->bands);
}

Grid Grid::from_parts(int slots, int height, int width, int bands) {
  if (bands == 1) return make(slots, height, width);
  if (!is_pow2(slots) || height <= 0 || width <= 0 || bands < 2 || slots % width != 0 ||
      static_cast<long>(slots / width) * bands != height)
    throw InvalidArgument(where("grid") + "a " + std::to_string(height) + "x" + std::to_string(width) +
                          " plane is not " + std::to_string(bands) + " bands of " + std::to_string(slots) +
                          " slots");
  Grid g;
  g.slots = slots;
  g.height = height;
  g.width = width;
  g.plane = slots;
  g.rows = 1;
  g.bands = bands;
  g.band_rows = slots / width;
  return g;
}

void DvrLayout::check_geometry() const {
  if (grid_.rows <= 0 || grid_.plane <= 0)
    throw InvalidArgument(where("make") + "empty grid");
  if (stride_ <= 0 || grid_.height % stride_ != 0 || grid_.width % stride_ != 0)
    throw InvalidArgument(where("make") + "stride " + std::to_string(stride_) +
                          " does not divide the " + std::to_string(grid_.height) + "x" +
                          std::to_string(grid_.width) + " grid");
  if (grid_.band_rows % stride_ != 0)
    throw InvalidArgument(where("make") + "stride " + std::to_string(stride_) + " does not divide the " +
                          std::to_string(grid_.band_rows) + "-row bands");
  if (height_ * stride_ != grid_.height || width_ * stride_ != grid_.width)
    throw InvalidArgument(where("make") + "tensor " + std::to_string(height_) + "x" +
                          std::to_string(width_) + " at stride " + std::to_string(stride_) +
                          " does not cover the " + std::to_string(grid_.height) + "x" +
                          std::to_string(grid_.width) + " grid");
  if (channels_ <= 0) throw InvalidArgument(where("make") + "no channels");
  if (groups_ < 1 || groups_ > (1 << 20) || !is_pow2(mux_) || mux_ > stride_)
    throw InvalidArgument(where("make") + "multiplexing " + std::to_string(groups_) + " group(s), " +
                          std::to_string(mux_) + " per cell side, at stride " + std::to_string(stride_) +
                          " (needs groups >= 1 and a power-of-two mux <= stride)");
  if (multiplexed() && (mode_ != PackingMode::throughput || grid_.bands > 1))
    throw InvalidArgument(where("make") + "only one-ciphertext throughput layouts are multiplexed");
  const long capacity = static_cast<long>(grid_.rows) * groups_ * mux_ * mux_;
  if (batch_ <= 0 || batch_ > capacity)
    throw InvalidArgument(where("make") + "batch " + std::to_string(batch_) +
                          " must be in 1.." + std::to_string(capacity));
}

DvrLayout DvrLayout::latency(const Grid& grid, int channels, int height, int width, int stride,
                             bool replicate) {
  DvrLayout l;
  l.mode_ = PackingMode::latency;
  l.grid_ = grid;
  l.stride_ = stride;
  l.channels_ = channels;
  l.height_ = height;
  l.width_ = width;
  l.batch_ = 1;
  l.check_geometry();
  if (replicate) {
    if (channels > grid.rows)
      throw InvalidArgument(where("latency") + "cannot replicate " + std::to_string(channels) +
                            " channels into " + std::to_string(grid.rows) + " rows");
    std::vector<int> rows(grid.rows);
    for (int r = 0; r < grid.rows; ++r) rows[r] = r % channels;
    l.rows_.push_back(rows);
  } else {
    int team = (channels + grid.rows - 1) / grid.rows;
    for (int t = 0; t < team; ++t) {
      std::vector<int> rows(grid.rows, -1);
      for (int r = 0; r < grid.rows; ++r)
        if (t * grid.rows + r < channels) rows[r] = t * grid.rows + r;
      l.rows_.push_back(rows);
    }
  }
  return l;
}

DvrLayout DvrLayout::throughput(const Grid& grid, int channels, int height, int width, int stride,
                                int batch, int groups, int mux) {
  DvrLayout l;
  l.mode_ = PackingMode::throughput;
  l.grid_ = grid;
  l.stride_ = stride;
  l.channels_ = channels;
  l.height_ = height;
  l.width_ = width;
  l.batch_ = batch;
  l.groups_ = groups;
  l.mux_ = mux;
  l.check_geometry();
  return l;
}

DvrLayout DvrLayout::concat(const DvrLayout& a, const DvrLayout& b) {
  if (a.mode_ != b.mode_ || !(a.grid_ == b.grid_) || a.stride_ != b.stride_ ||
      a.height_ != b.height_ || a.width_ != b.width_ || a.batch_ != b.batch_ ||
      a.groups_ != b.groups_ || a.mux_ != b.mux_)
    throw InvalidArgument(where("concat") + "layouts differ: " + a.describe() + " vs " +
                          b.describe());
  DvrLayout l = a;
  l.channels_ = a.channels_ + b.channels_;
  if (a.mode_ == PackingMode::latency) {
    for (auto rows : b.rows_) {
      for (int& c : rows)
        if (c >= 0) c += a.channels_;
      l.rows_.push_back(rows);
    }
  }
  return l;
}

DvrLayout DvrLayout::with_stride(int stride, int height, int width) const {
  DvrLayout l = *this;
  l.stride_ = stride;
  l.height_ = height;
  l.width_ = width;
  l.check_geometry();
  return l;
}

DvrLayout DvrLayout::from_parts(PackingMode mode, const Grid& grid, int channels, int height,
                                int width, int stride, int batch,
                                std::vector<std::vector<int>> rows, int groups, int mux) {
  Grid checked = Grid::from_parts(grid.slots, grid.height, grid.width, grid.bands);
  if (!(checked == grid)) throw InvalidArgument(where("from_parts") + "inconsistent grid");
  DvrLayout l;
  l.mode_ = mode;
  l.grid_ = grid;
  l.stride_ = stride;
  l.channels_ = channels;
  l.height_ = height;
  l.width_ = width;
  l.batch_ = batch;
  l.groups_ = groups;
  l.mux_ = mux;
  l.check_geometry();
  if (mode == PackingMode::latency) {
    if (batch != 1) throw InvalidArgument(where("from_parts") + "latency layouts hold one image");
    std::vector<int> seen(channels, 0);
    for (const auto& r : rows) {
      if (static_cast<int>(r.size()) != grid.rows)
        throw InvalidArgument(where("from_parts") + "row table has a member with " +
                              std::to_string(r.size()) + " rows, expected " +
                              std::to_string(grid.rows));
      for (int c : r) {
        if (c < -1 || c >= channels)
          throw InvalidArgument(where("from_parts") + "row table names channel " +
                                std::to_string(c) + " of " + std::to_string(channels));
        if (c >= 0) seen[c] = 1;
      }
    }
    if (std::find(seen.begin(), seen.end(), 0) != seen.end())
      throw InvalidArgument(where("from_parts") + "row table misses a channel");
    l.rows_ = std::move(rows);
  } else if (!rows.empty()) {
    throw InvalidArgument(where("from_parts") + "throughput layouts have no row table");
  }
  return l;
}

int DvrLayout::team_size() const {
  return (mode_ == PackingMode::latency ? static_cast<int>(rows_.size()) : channels_ * groups_) * grid_.bands;
}

SlotRef DvrLayout::slot_of(const ValueRef& v) const {
  if (v.channel < 0 || v.channel >= channels_ || v.y < 0 || v.y >= height_ || v.x < 0 ||
      v.x >= width_ || v.image < 0 || v.image >= batch_)
    throw InvalidArgument(where("slot_of") + "value (" + std::to_string(v.image) + ", " +
                          std::to_string(v.channel) + ", " + std::to_string(v.y) + ", " +
                          std::to_string(v.x) + ") is outside " + describe());
  const int band = grid_.band_of(stride_ * v.y);
  if (mode_ == PackingMode::throughput) {
    const int R = grid_.rows, cells = mux_ * mux_;
    const int g1 = v.image / R, row = v.image % R;
    const auto [oy, ox] = multiplex_offset(g1 % cells, mux_);
    return {(v.channel * groups_ + g1 / cells) * grid_.bands + band,
            row * grid_.plane + plane_offset(v.y, v.x) + oy * grid_.width + ox};
  }
  RowRef rr = locations(v.channel).front();
  return {rr.ct + band, rr.row * grid_.plane + plane_offset(v.y, v.x)};
}

std::vector<RowRef> DvrLayout::locations(int channel) const {
  if (channel < 0 || channel >= channels_)
    throw InvalidArgument(where("locations") + "channel " + std::to_string(channel) +
                          " is outside " + describe());
  if (mode_ == PackingMode::throughput) return {{channel * groups_ * grid_.bands, 0}};
  std::vector<RowRef> out;
  for (int t = 0; t < static_cast<int>(rows_.size()); ++t)
    for (int r = 0; r < grid_.rows; ++r)
      if (rows_[t][r] == channel) out.push_back({t * grid_.bands, r});
  return out;
}

int DvrLayout::row_owner(int ct, int row) const {
  if (ct < 0 || ct >= team_size() || row < 0 || row >= grid_.rows) return -1;
  if (mode_ == PackingMode::throughput) {
    const int group = ct / grid_.bands % groups_;
    const long first = static_cast<long>(group) * mux_ * mux_ * grid_.rows + row;
    // Multiplexed: every row is computed (a group beyond the batch holds zeros), so that each
    // team member receives products and merges stay uniform.
    return first < batch_ || multiplexed() ? static_cast<int>(first) : -1;
  }
  return rows_[ct / grid_.bands][row];
}

int DvrLayout::channel_at(int ct, int row) const {
  int owner = row_owner(ct, row);
  if (owner < 0) return -1;
  return mode_ == PackingMode::throughput ? ct / grid_.bands / groups_ : owner;
}

int DvrLayout::image_at(int ct, int row) const {
  int owner = row_owner(ct, row);
  if (owner < 0) return -1;
  return mode_ == PackingMode::throughput ? owner : 0;
}

std::optional<ValueRef> DvrLayout::value_at(const SlotRef& ref) const {
  if (ref.slot < 0 || ref.slot >= grid_.slots) return std::nullopt;
  int row = ref.slot / grid_.plane;
  int off = ref.slot % grid_.plane;
  int c = channel_at(ref.ct, row);
  if (c < 0) return std::nullopt;
  int gy = off / grid_.width, gx = off % grid_.width;
  if (gy >= grid_.band_rows) return std::nullopt;
  gy += (ref.ct % grid_.bands) * grid_.band_rows;
  if (gy >= grid_.height) return std::nullopt;
  const int oy = gy % stride_, ox = gx % stride_;
  if (oy >= mux_ || ox >= mux_) return std::nullopt;  // mux 1: off the grid
  int image = 0;  // latency: one image
  if (mode_ == PackingMode::throughput) {  // inverse of slot_of's (group, sub-offset, row)
    const long b = (static_cast<long>(ref.ct / grid_.bands % groups_) * mux_ * mux_ +
                    multiplex_index(oy, ox, mux_)) * grid_.rows + row;
    if (b >= batch_) return std::nullopt;
    image = static_cast<int>(b);
  }
  return ValueRef{image, c, gy / stride_, gx / stride_};
}

std::string DvrLayout::describe() const {
  std::ostringstream os;
  os << mode_name(mode_) << " c=" << channels_ << " " << height_ << "x" << width_
     << " s=" << stride_ << " team=" << team_size() << " R=" << grid_.rows
     << " P=" << grid_.plane;
  if (grid_.bands > 1) os << " bands=" << grid_.bands;
  if (mode_ == PackingMode::throughput) os << " batch=" << batch_;
  if (multiplexed()) os << " groups=" << groups_ << " mux=" << mux_;
  return os.str();
}

std::vector<std::vector<double>> pack(const DvrLayout& layout,
                                      const std::vector<std::vector<double>>& images) {
  if (static_cast<int>(images.size()) != layout.batch())
    throw InvalidArgument("pack: " + std::to_string(images.size()) + " images for " +
                          layout.describe());
  std::size_t per = static_cast<std::size_t>(layout.channels()) * layout.height() * layout.width();
  for (const auto& im : images)
    if (im.size() != per)
      throw InvalidArgument("pack: image has " + std::to_string(im.size()) + " values, expected " +
                            std::to_string(per));
  const Grid& g = layout.grid();
  std::vector<std::vector<double>> cts(layout.team_size(), std::vector<double>(g.slots, 0.0));
  if (layout.multiplexed()) {  // several images per row: place each value where slot_of says
    for_each_value(layout, [&](int b, std::size_t k, const SlotRef& s) { cts[s.ct][s.slot] = images[b][k]; });
    return cts;
  }
  for (int t = 0; t < layout.team_size(); ++t)
    for (int r = 0; r < g.rows; ++r) {
      int c = layout.channel_at(t, r), b = layout.image_at(t, r);
      if (c < 0) continue;
      const double* src = images[b].data() +
                          static_cast<std::size_t>(c) * layout.height() * layout.width();
      const int band = t % g.bands;
      for (int y = 0; y < layout.height(); ++y) {
        if (g.band_of(layout.stride() * y) != band) continue;
        for (int x = 0; x < layout.width(); ++x)
          cts[t][static_cast<std::size_t>(r) * g.plane + layout.plane_offset(y, x)] =
              src[y * layout.width() + x];
      }
    }
  return cts;
}

std::vector<std::vector<double>> unpack(const DvrLayout& layout,
                                        const std::vector<std::vector<double>>& cts) {
  if (static_cast<int>(cts.size()) != layout.team_size())
    throw InvalidArgument("unpack: " + std::to_string(cts.size()) + " ciphertexts for " +
                          layout.describe());
  for (const auto& ct : cts)
    if (static_cast<int>(ct.size()) < layout.grid().slots)
      throw InvalidArgument("unpack: a ciphertext has " + std::to_string(ct.size()) +
                            " slots, expected " + std::to_string(layout.grid().slots));
  std::size_t per = static_cast<std::size_t>(layout.channels()) * layout.height() * layout.width();
  std::vector<std::vector<double>> images(layout.batch(), std::vector<double>(per, 0.0));
  for_each_value(layout, [&](int b, std::size_t k, const SlotRef& s) { images[b][k] = cts[s.ct][s.slot]; });
  return images;
}

}  // namespace cryptounet::packing
