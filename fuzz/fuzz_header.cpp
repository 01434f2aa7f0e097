// libFuzzer target: the common file header and the BinaryReader primitives (raw input, the
// header's payload length is not corrected here).
#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"

using namespace cryptounet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  for (std::uint16_t k = 1; k <= 10; ++k) {
    for (std::uint64_t fp : {std::uint64_t{0}, std::uint64_t{0x0123456789abcdef}}) {
      try {
        BinaryReader r(bytes, "fuzz");
        const FileHeader h = read_header(r, static_cast<ObjectKind>(k), fp);
        if (h.payload_bytes != r.remaining()) __builtin_trap();
        // Walk the payload with the primitives a reader uses.
        while (r.remaining() > 0) {
          switch (r.u8() % 4) {
            case 0: (void)r.str(1 << 16); break;
            case 1: (void)r.u64s(1 << 20, "words"); break;
            case 2: (void)r.count(1 << 10, 8, "count"); break;
            default: (void)r.raw(r.u8()); break;
          }
        }
        r.expect_end();
      } catch (const FormatError&) {
      } catch (const SecurityError&) {
      }
    }
  }
  return 0;
}
