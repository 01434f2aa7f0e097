// Functions whose machine code must hold no conditional branch and no conditional move: they
// handle secret-key and error coefficients (issue 9, item 10). check_branch_free.sh disassembles
// this object (built with the project's flags) and fails on any j<cc> or cmov<cc> in them.
#include <cstdint>

#include "cryptounet/math/modarith.h"

extern "C" {
std::uint64_t cu_probe_from_signed(std::int64_t x, const cryptounet::math::Modulus* q) {
  return cryptounet::math::from_signed(x, *q);
}
std::uint64_t cu_probe_reduce_once_ct(std::uint64_t y, std::uint64_t q) {
  return cryptounet::math::reduce_once_ct(y, q);
}
}
