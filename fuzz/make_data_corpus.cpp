// Seed corpus for fuzz_image and fuzz_volume: one small valid file of each kind the readers take,
// written byte by byte by the test suite's writers (tests/data/image_writers.h), plus the bundled
// PNG sample. Usage: fuzz_make_data_corpus CORPUS_DIR (writes CORPUS_DIR/image and CORPUS_DIR/volume).
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "image_writers.h"

namespace {

namespace fs = std::filesystem;
namespace ti = cryptounet::test_images;

void seed(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  ti::write_file(dir / name, bytes);
}

// gzip framing (deflate with windowBits 16 + 15), in memory.
std::string gzip(const std::string& raw) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, static_cast<uLong>(raw.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_data_corpus CORPUS_DIR\n");
    return 2;
  }
  const fs::path root = argv[1];
  const int w = 8, h = 6, z = 3;
  std::vector<std::int16_t> px(w * h * z);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::int16_t>((i * 37) % 900 - 100);
  std::vector<std::uint8_t> grey(w * h);
  for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = static_cast<std::uint8_t>(i * 5);
  const std::vector<std::int16_t> plane(px.begin(), px.begin() + w * h);

  const std::string nifti = ti::make_nifti(w, h, z, px, 1.0f, 0.0f);
  const std::string dicom = ti::make_dicom(w, h, 1, plane, "MONOCHROME2", "1", "0");
  std::string png;
  {
    std::ifstream in(fs::path(CU_SOURCE_DIR) / "models/samples/brain64_test.png", std::ios::binary);
    png.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // fuzz_image: first byte = extension (png, tif, dcm, nii, nii.gz).
  const fs::path img = root / "image";
  if (!png.empty()) seed(img, "png", std::string(1, '\0') + png);
  seed(img, "tiff", std::string(1, '\1') + ti::make_tiff8(w, h, grey));
  seed(img, "dicom", std::string(1, '\2') + dicom);
  seed(img, "dicom_frames", std::string(1, '\2') + ti::make_dicom(w, h, z, px, "MONOCHROME1", "2", "-5"));
  seed(img, "nifti", std::string(1, '\3') + nifti);
  seed(img, "nifti_gz", std::string(1, '\4') + gzip(nifti));
  // fuzz_volume: first byte = kind (nii, nii.gz, series); for a series the second byte + 1 files.
  const fs::path vol = root / "volume";
  seed(vol, "nifti", std::string(1, '\0') + nifti);
  seed(vol, "nifti_gz", std::string(1, '\1') + gzip(nifti));
  seed(vol, "series2", std::string("\2\1", 2) + dicom + dicom);
  seed(vol, "series1", std::string("\2\0", 2) + dicom);
  return 0;
}
