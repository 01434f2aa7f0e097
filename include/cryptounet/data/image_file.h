// Reading the images a hospital has, by file content: PNG (and the other formats stb reads),
// TIFF (libtiff), DICOM (libgdcm) and NIfTI (.nii / .nii.gz, libnifti2). Medical formats store raw scanner
// values; they are turned into the grey [0, 1] plane the models take by a min-max stretch of the
// chosen slice (after DICOM's rescale slope/intercept; MONOCHROME1 is inverted).
#pragma once

#include "cryptounet/data/image.h"

#include <cstdint>
#include <string>
#include <vector>

namespace cryptounet::data {

/// Decompression-bomb limits (issue 9): every reader checks the dimensions a file declares against
/// these before it decodes or allocates. A plane has at most kMaxImagePixels pixels (2^25, e.g.
/// 5792 x 5792: a 2 MB PNG could otherwise inflate to gigabytes); what a reader must decode at
/// once (a DICOM's frames, a NIfTI volume) is at most kMaxDecodedBytes.
inline constexpr std::uint64_t kMaxImagePixels = std::uint64_t{1} << 25;
inline constexpr std::uint64_t kMaxDecodedBytes = std::uint64_t{1} << 30;

/// Throws FormatError if a declared width x height plane exceeds kMaxImagePixels, or `decoded_bytes`
/// (what decoding would allocate) exceeds kMaxDecodedBytes. `what` prefixes the message.
void check_declared_size(const std::string& what, std::uint64_t width, std::uint64_t height,
                         std::uint64_t decoded_bytes);

/// The plane a caller can use, when it knows one (e.g. a model's input size): a file declaring
/// another size is refused before decoding. Without `resample` only width x height is taken;
/// with it (the caller area-resamples, `--resize`) each side may be 1 .. kMaxResampleFactor times
/// the model's. 32x: a model pixel then averages up to 1024 image pixels, 8x the largest
/// reduction the bundled models were trained with (1 mm brain slices of 256 to 64 pixels);
/// 32 x 128 = 4096 still takes a whole-field scan for a 128-pixel model.
struct PlaneLimit {
  int width = 0;  // 0: no size known, only the global limits apply
  int height = 0;
  bool resample = false;
  std::string owner;  // names the size in messages, e.g. "model 'brain64'"
};
inline constexpr int kMaxResampleFactor = 32;

/// Image file kinds read_any_image knows.
enum class ImageFileKind { png_or_stb, dicom, nifti, tiff };

/// TIFF by its magic (II*\0, MM\0*, BigTIFF); DICOM if the file has "DICM" at byte 128 or ends in .dcm; NIfTI if it ends in .nii or .nii.gz
/// (or has a NIfTI-1/2 header size); anything else goes to stb. @throws IoError if unreadable.
[[nodiscard]] ImageFileKind image_file_kind(const std::string& path);

/// Reads one grey plane from any of the kinds. `slice`: the frame (DICOM), z slice (NIfTI) or
/// page (TIFF) of a volume; -1 = the middle one (TIFF: the first page). @throws IoError, FormatError (unreadable or unsupported
/// pixel type), InvalidArgument (slice out of range).
[[nodiscard]] Image read_any_image(const std::string& path, int slice = -1);
/// read_any_image, refusing (InvalidArgument, before any pixel is decoded) a file whose declared
/// plane is outside `limit`; the message offers --resize where only an exact size is taken.
[[nodiscard]] Image read_any_image(const std::string& path, int slice, const PlaneLimit& limit);

/// The file name without folder and without its image extension, for naming outputs:
/// "in/ch2.nii.gz" -> "ch2", "a.b.png" -> "a.b", "scan.dcm" -> "scan", "IM0001" -> "IM0001".
[[nodiscard]] std::string image_file_stem(const std::string& path);

/// A width x height plane from raw values, stretched linearly so min -> 0 and max -> 1 (a
/// constant plane becomes 0). Non-finite values are FormatError.
[[nodiscard]] Image image_from_values(const std::vector<double>& values, int width, int height,
                                      const std::string& what);

}  // namespace cryptounet::data
