// Planes larger than a ciphertext (DESIGN.md §5b): a H0 x W0 plane with H0·W0 > N/2 is cut into
// bands of whole image rows, one band per ciphertext, each band filling all N/2 slots (W0 divides
// N/2, so a band is exactly N/2 / W0 rows). A 3x3 tap (dy, dx) at stride s is the usual left
// rotation by s·(dy·W0 + dx) of every band; an output pixel whose source row lies in the
// neighbouring band takes it from that band's ciphertext rotated by the same step: because the
// band fills the ring of slots, the rotation's wrap-around brings exactly the neighbour's rows in.
// Two 0/1 masks per tap and band ("own" and "cross") pick which term each output slot takes; the
// rotations are the ones every band needs for itself anyway, so crossing costs plaintext
// products only, no extra key switch and no extra Galois key. AvgPool 2x2 and
// ConvTranspose(k=2, s=2) never cross a band edge when the band height is a multiple of twice
// the largest stride. Pure bookkeeping, like masks.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cryptounet::packing {

struct BandSplit {
  int slots = 0;      // N/2
  int height = 0;     // H0
  int width = 0;      // W0
  int bands = 1;      // ciphertexts per plane
  int band_rows = 0;  // image rows per band (slots / W0)

  /// The split of a H0 x W0 plane over ciphertexts of `slots` slots for a network whose largest
  /// stride is `max_stride`, or nullopt with `why` set when it cannot be split: W0 must divide
  /// the slots, and the band height must be a multiple of 2·max_stride (pool and up-convolution
  /// pairs stay inside a band). A plane that fits one ciphertext gives bands = 1.
  [[nodiscard]] static std::optional<BandSplit> make(int slots, int height, int width, int max_stride,
                                                     std::string* why = nullptr);
  /// First image row of band b.
  [[nodiscard]] int first_row(int b) const { return b * band_rows; }
};

/// Which band a 3x3 tap of output band `band` reads: the band itself ("own") or the neighbour
/// above (dy < 0) / below (dy > 0) ("cross").
enum class BandTerm { own, cross };

/// The mask over the slots of output band `band` for tap (dy, dx) of a tensor at `stride`
/// (tensor size height x width = H0/stride x W0/stride): 1 on the slots that hold a tensor pixel
/// (y, x) whose source (y + dy, x + dx) is inside the tensor and lies in the band that `term`
/// names. own + cross is the one-ciphertext tap mask. Throws InvalidArgument on a bad band,
/// stride or tap.
[[nodiscard]] std::vector<double> band_tap_mask(const BandSplit& split, int band, int stride, int dy, int dx,
                                                BandTerm term);

/// The band a cross term of output band `band` reads for a tap with vertical offset dy (dy != 0):
/// band - 1 or band + 1; -1 if there is none (the tensor's edge: zero padding).
[[nodiscard]] int cross_band(const BandSplit& split, int band, int dy);

/// Slot vectors of a H0 x W0 plane, one per band (band b holds rows first_row(b) .. + band_rows).
[[nodiscard]] std::vector<std::vector<double>> split_plane(const BandSplit& split, const std::vector<double>& plane);
/// The inverse: the plane (H0 x W0, row-major) from its bands.
[[nodiscard]] std::vector<double> join_plane(const BandSplit& split, const std::vector<std::vector<double>>& bands);

}  // namespace cryptounet::packing
