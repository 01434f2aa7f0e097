// libFuzzer target: the volume readers (data/volume.h): a NIfTI file (.nii, .nii.gz) or a DICOM
// series folder, which `segment-volume` and `evaluate --volume` read. The first byte picks the
// kind; for a series the second byte is the number of files (1-4) and the rest is cut into that
// many equal pieces, one file each.
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/data/volume.h"
#include "fuzz_scratch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  if (size < 2) return 0;
  const fs::path& dir = cryptounet::fuzz::scratch_dir();
  fs::path input;
  switch (data[0] % 3) {
    case 0: input = dir / "in.nii"; cryptounet::fuzz::write_scratch(input, data + 1, size - 1); break;
    case 1: input = dir / "in.nii.gz"; cryptounet::fuzz::write_scratch(input, data + 1, size - 1); break;
    default: {
      input = dir / "series";
      std::error_code ec;
      fs::remove_all(input, ec);
      fs::create_directory(input);
      const std::size_t files = 1 + data[1] % 4, body = size - 2, piece = body / files;
      for (std::size_t f = 0; f < files; ++f) {
        const std::size_t begin = f * piece, end = f + 1 == files ? body : begin + piece;
        cryptounet::fuzz::write_scratch(input / ("IM" + std::to_string(f)), data + 2 + begin, end - begin);
      }
    }
  }
  try {
    (void)cryptounet::data::read_volume(input.string());
  } catch (const cryptounet::FormatError&) {
  } catch (const cryptounet::InvalidArgument&) {
  } catch (const cryptounet::IoError&) {
  } catch (const cryptounet::Unsupported&) {
  }
  return 0;
}
