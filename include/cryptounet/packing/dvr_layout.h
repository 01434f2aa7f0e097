// Double Volley Revolver layouts (DESIGN.md §5): which ciphertext of a team and which slot holds
// each value (image, channel, y, x) of a tensor. A ciphertext's slots are cut into R rows of P
// slots (P = next power of two >= H0*W0); a row holds one plane on the full-resolution H0 x W0
// grid, row-major; after pooling a plane stays on that grid at stride s (pixel (y, x) at
// (s*y, s*x)). Latency mode: rows = channels of one image, team = channel groups. Throughput
// mode: rows = images of a batch, team = channels (one ciphertext per channel).
// A plane larger than a ciphertext (packing/bands.h) is cut into `bands` bands of whole image
// rows, one ciphertext each, every band filling all slots (R = 1, P = slots): team member
// m * bands + b holds band b of what member m holds unbanded; a grid point (gy, gx) of band
// b = gy / band_rows sits at slot (gy - b * band_rows) * W0 + gx.
// Multiplexed throughput layouts (`groups` > 1 or `mux` > 1): a plane at stride s leaves the
// other s*s - 1 points of each stride cell empty; up to mux*mux images share one row there, image
// k of the row at sub-offset (oy, ox) in [0, mux)^2 of every cell (pixel (y, x) at
// (s*y + oy, s*x + ox)). A batch is groups * mux^2 * R images: at full resolution (mux = 1) the
// team holds `groups` ciphertexts per channel; each convolution after a pooling merges four
// groups into one (mux doubles) and each transposed convolution splits them again, so the layers
// at stride 2 and 4 run on 4 and 16 times fewer ciphertexts per image. Image b sits in row
// b % R; g1 = b / R is its full-resolution group, whose low bits, two per merge (multiplex_offset),
// give its sub-offset and whose high bits its group: group = g1 / mux^2.
// Pure bookkeeping: no HE operation, no allocation beyond the row table.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cryptounet/packing/bands.h"

namespace cryptounet::packing {

enum class PackingMode { latency, throughput };

const char* mode_name(PackingMode mode);

/// The slot geometry shared by every tensor of one model run.
struct Grid {
  int slots = 0;   // N/2
  int height = 0;  // H0, full-resolution input height
  int width = 0;   // W0
  int plane = 0;   // P = next power of two >= H0*W0
  int rows = 0;    // R = slots / P
  int bands = 1;      // ciphertexts per plane (> 1: R = 1, P = slots, band_rows * W0 = slots)
  int band_rows = 0;  // image rows per band (= height when bands == 1)

  /// Throws InvalidArgument if slots is not a power of two or one plane does not fit.
  [[nodiscard]] static Grid make(int slots, int height, int width);
  /// A plane of any size: make() when it fits one ciphertext, else bands of whole rows that fill
  /// the slots (BandSplit::make for a network whose largest stride is `max_stride`). Throws
  /// InvalidArgument saying why the plane cannot be cut.
  [[nodiscard]] static Grid make_banded(int slots, int height, int width, int max_stride);
  /// Rebuilds a grid from its serialised fields and checks them. Throws InvalidArgument.
  [[nodiscard]] static Grid from_parts(int slots, int height, int width, int bands);
  /// The band of full-resolution row gy and the row inside it.
  [[nodiscard]] int band_of(int gy) const { return bands == 1 ? 0 : gy / band_rows; }
  /// The band split this grid holds (bands.h's view of the same numbers).
  [[nodiscard]] BandSplit band_split() const { return {slots, height, width, bands, band_rows}; }
  bool operator==(const Grid&) const = default;
};

/// Where one value lives: team member `ct`, slot index `slot` in [0, slots).
struct SlotRef {
  int ct = 0;
  int slot = 0;
  bool operator==(const SlotRef&) const = default;
};

/// Sub-offset (oy, ox) in [0, mux)^2 of multiplex index m in [0, mux^2): the two bits added by
/// each merge of four groups (mux 1 -> 2 -> 4 ...) move a group by (bit1 * q, bit0 * q), q the
/// mux before that merge.
[[nodiscard]] std::pair<int, int> multiplex_offset(int m, int mux);
/// Origin (bit1 * q, bit0 * q) in the stride cell of block `blk` (0..3) when four groups of side q
/// merge into one of side 2q (or one splits into four): the step multiplex_offset takes per merge.
[[nodiscard]] inline std::pair<int, int> merge_block_origin(int blk, int q) { return {(blk >> 1) * q, (blk & 1) * q}; }
/// Inverse of multiplex_offset.
[[nodiscard]] int multiplex_index(int oy, int ox, int mux);

/// A (team member, row) pair.
struct RowRef {
  int ct = 0;
  int row = 0;
  bool operator==(const RowRef&) const = default;
};

/// One value of a tensor, as (image, channel, y, x) in tensor coordinates (at the stride).
struct ValueRef {
  int image = 0;
  int channel = 0;
  int y = 0;
  int x = 0;
  bool operator==(const ValueRef&) const = default;
};

class DvrLayout {
 public:
  DvrLayout() = default;

  /// Latency mode: channel c in row c % R of team member c / R. With `replicate` (only when
  /// channels <= R) the channels repeat down all R rows (row r holds channel r % channels):
  /// the client fills them for free and the first convolution then needs no row turns.
  /// Throws InvalidArgument on a stride that does not divide the grid or a size mismatch.
  [[nodiscard]] static DvrLayout latency(const Grid& grid, int channels, int height, int width,
                                         int stride, bool replicate = false);
  /// Throughput mode: channel c is team member c; image b (< batch <= R) is row b. Multiplexed
  /// (groups > 1 or mux > 1, one-ciphertext planes only): channel c, group g is member
  /// c * groups + g, and batch <= groups * mux^2 * R (see the header comment).
  [[nodiscard]] static DvrLayout throughput(const Grid& grid, int channels, int height, int width,
                                            int stride, int batch, int groups = 1, int mux = 1);
  /// Team concatenation along channels (skip connections). Both must share mode, grid,
  /// stride, spatial size and batch. Costs nothing: the teams are simply joined.
  [[nodiscard]] static DvrLayout concat(const DvrLayout& a, const DvrLayout& b);
  /// The same channel-to-row assignment at another stride and spatial size (pool, convT).
  [[nodiscard]] DvrLayout with_stride(int stride, int height, int width) const;

  [[nodiscard]] PackingMode mode() const { return mode_; }
  [[nodiscard]] const Grid& grid() const { return grid_; }
  [[nodiscard]] int stride() const { return stride_; }
  [[nodiscard]] int channels() const { return channels_; }
  [[nodiscard]] int height() const { return height_; }
  [[nodiscard]] int width() const { return width_; }
  [[nodiscard]] int batch() const { return batch_; }
  /// Throughput: ciphertexts per channel (1 unless multiplexed).
  [[nodiscard]] int groups() const { return groups_; }
  /// Throughput: images per stride cell side (1 unless multiplexed; <= stride).
  [[nodiscard]] int mux() const { return mux_; }
  [[nodiscard]] bool multiplexed() const { return groups_ > 1 || mux_ > 1; }
  [[nodiscard]] int team_size() const;
  /// Ciphertexts per plane (grid().bands); team member ct holds band ct % bands().
  [[nodiscard]] int bands() const { return grid_.bands; }

  /// Offset of tensor pixel (y, x) inside a plane: s*y*W0 + s*x (inside its band when banded).
  [[nodiscard]] int plane_offset(int y, int x) const {
    const int gy = stride_ * y;
    return (gy - grid_.band_of(gy) * grid_.band_rows) * grid_.width + stride_ * x;
  }
  /// The primary slot of a value (where decoders read it). Throws InvalidArgument if out of range.
  [[nodiscard]] SlotRef slot_of(const ValueRef& v) const;
  /// Every (ct, row) holding a channel's plane (several when replicated); for throughput mode
  /// the row of image 0. Banded: ct is the member holding band 0 (band b is ct + b). Throws InvalidArgument if channel is out of range.
  [[nodiscard]] std::vector<RowRef> locations(int channel) const;
  /// The channel (latency) or image (throughput; multiplexed: the first image of the row, which
  /// may lie beyond the batch: such rows hold zeros and are computed all the same) held by row
  /// `row` of team member `ct`, -1 if the row is unused.
  [[nodiscard]] int row_owner(int ct, int row) const;
  /// The channel a team member's row holds (throughput: the member's channel for any used row).
  [[nodiscard]] int channel_at(int ct, int row) const;
  /// The image a row holds (latency: 0 for used rows), -1 if unused.
  [[nodiscard]] int image_at(int ct, int row) const;
  /// Inverse of slot_of on primary and replica slots: which value a slot holds, if any.
  [[nodiscard]] std::optional<ValueRef> value_at(const SlotRef& ref) const;

  /// One line for tables and messages, e.g. "latency c=16 16x16 s=4 team=4 R=4 P=4096".
  [[nodiscard]] std::string describe() const;

  bool operator==(const DvrLayout&) const = default;

  // Row table, public for serialisation: rows_[t][r] = channel in latency mode, -1 unused.
  [[nodiscard]] const std::vector<std::vector<int>>& row_table() const { return rows_; }
  /// Rebuild from serialised fields; validates everything. Throws InvalidArgument.
  [[nodiscard]] static DvrLayout from_parts(PackingMode mode, const Grid& grid, int channels,
                                            int height, int width, int stride, int batch,
                                            std::vector<std::vector<int>> rows, int groups = 1,
                                            int mux = 1);

 private:
  void check_geometry() const;
  PackingMode mode_ = PackingMode::latency;
  Grid grid_;
  int stride_ = 1;
  int channels_ = 0;
  int height_ = 0;
  int width_ = 0;
  int batch_ = 1;
  int groups_ = 1;  // throughput only
  int mux_ = 1;     // throughput only
  std::vector<std::vector<int>> rows_;  // latency only
};

/// A dense image batch in the layout's coordinates: values[image] is a (C, H, W) row-major
/// tensor. pack() returns one slot vector per team member (zeros in unused slots; replicas
/// filled); unpack() reads the primary slots back. Throw InvalidArgument on size mismatch.
[[nodiscard]] std::vector<std::vector<double>> pack(const DvrLayout& layout,
                                                    const std::vector<std::vector<double>>& images);
[[nodiscard]] std::vector<std::vector<double>> unpack(const DvrLayout& layout,
                                                      const std::vector<std::vector<double>>& cts);

}  // namespace cryptounet::packing
