#include "cryptounet/data/nifti.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"
#include "data/nifti_data.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace cryptounet::data {

Image read_nifti_slice(const std::string& path, int slice) {
  const std::string what = "read_nifti_slice '" + path + "'";
  auto [hdr, nx, ny, nz] = detail::read_nifti_header(path, what);
  // Before the library reads (and inflates, for .nii.gz) the whole volume: every voxel of every
  // dimension the header declares.
  {
    const unsigned __int128 voxels = static_cast<unsigned __int128>(std::max<std::int64_t>(hdr->nvox, 0));
    const unsigned __int128 bytes = voxels * static_cast<unsigned>(std::max(hdr->nbyper, 1));
    check_declared_size(what, static_cast<std::uint64_t>(nx), static_cast<std::uint64_t>(ny),
                        bytes > kMaxDecodedBytes ? kMaxDecodedBytes + 1 : static_cast<std::uint64_t>(bytes));
  }
  if (slice < 0) slice = static_cast<int>(nz / 2);
  if (slice >= nz)
    throw InvalidArgument(what + ": slice " + std::to_string(slice) + " out of range (the volume has " +
                          std::to_string(nz) + ")");
  hdr.reset();
  const detail::NiftiData nim(path, what, nx, ny, nz);
  const std::size_t plane = static_cast<std::size_t>(nx * ny);
  std::vector<double> values(plane);
  const std::size_t off = plane * static_cast<std::size_t>(slice);
  for (std::size_t i = 0; i < plane; ++i) values[i] = nim.value(off + i);
  return image_from_values(values, static_cast<int>(nx), static_cast<int>(ny), what);
}

}  // namespace cryptounet::data
