// libFuzzer target: the image file readers (data/image_file.h: PNG and the other formats stb reads,
// TIFF, DICOM, NIfTI slices), which read files a user hands over. The first byte picks the file
// name's extension (the readers choose by content and by name), the rest is the file. The plane
// limit is a 64x64 model's with --resize, as `segment` passes it.
#include <array>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"
#include "fuzz_scratch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const std::array<const char*, 5> kNames = {"in.png", "in.tif", "in.dcm", "in.nii", "in.nii.gz"};
  const auto path = cryptounet::fuzz::scratch_dir() / kNames[data[0] % kNames.size()];
  cryptounet::fuzz::write_scratch(path, data + 1, size - 1);
  const cryptounet::data::PlaneLimit limit{64, 64, true, "fuzz model"};
  try {
    (void)cryptounet::data::read_any_image(path.string(), -1, limit);
  } catch (const cryptounet::FormatError&) {
  } catch (const cryptounet::InvalidArgument&) {
  } catch (const cryptounet::IoError&) {
  } catch (const cryptounet::Unsupported&) {
  }
  return 0;
}
