#include "cryptounet/data/npy.h"

#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"

#include <bit>
#include <cstdint>
#include <cstring>

namespace cryptounet::data {

std::vector<unsigned char> npy_bytes(const std::vector<std::size_t>& shape,
                                     const std::vector<double>& values) {
  static_assert(std::endian::native == std::endian::little, "npy_bytes writes '<f8' from memory");
  std::size_t count = 1;
  for (std::size_t d : shape) count *= d;
  if (count != values.size())
    throw InvalidArgument("write_npy: shape holds " + std::to_string(count) + " values, " +
                          std::to_string(values.size()) + " given");
  std::string dims;  // "(2, 3)"; one dimension is "(2,)"
  for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + header length (2) + header + '\n', padded with spaces to 64 bytes.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string head = "\x93NUMPY";
  head += '\x01';
  head += '\x00';
  head += static_cast<char>(header.size() & 0xff);
  head += static_cast<char>(header.size() >> 8);
  head += header;
  std::vector<unsigned char> out(head.size() + values.size() * sizeof(double));
  std::memcpy(out.data(), head.data(), head.size());
  if (!values.empty()) std::memcpy(out.data() + head.size(), values.data(), values.size() * sizeof(double));
  return out;
}

void write_npy(const std::string& path, const std::vector<std::size_t>& shape,
               const std::vector<double>& values) {
  const std::vector<unsigned char> bytes = npy_bytes(shape, values);
  write_file_atomic(path, std::span<const std::uint8_t>(bytes.data(), bytes.size()));
}

}  // namespace cryptounet::data
