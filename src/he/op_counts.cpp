#include "cryptounet/he/op_counts.h"

#include <ostream>

namespace cryptounet::nn {

OpCounts& OpCounts::operator+=(const OpCounts& o) {
  rotations += o.rotations;
  hoisted_groups += o.hoisted_groups;
  hoisted_rotations += o.hoisted_rotations;
  relins += o.relins;
  pt_products += o.pt_products;
  scalar_products += o.scalar_products;
  encodings += o.encodings;
  rescales += o.rescales;
  adds += o.adds;
  level_drops += o.level_drops;
  return *this;
}

OpCounts OpCounts::operator-(const OpCounts& o) const {
  OpCounts r = *this;
  r.rotations -= o.rotations;
  r.hoisted_groups -= o.hoisted_groups;
  r.hoisted_rotations -= o.hoisted_rotations;
  r.relins -= o.relins;
  r.pt_products -= o.pt_products;
  r.scalar_products -= o.scalar_products;
  r.encodings -= o.encodings;
  r.rescales -= o.rescales;
  r.adds -= o.adds;
  r.level_drops -= o.level_drops;
  return r;
}

std::ostream& operator<<(std::ostream& os, const OpCounts& c) {
  return os << "{rot " << c.rotations << " (hoisted " << c.hoisted_rotations << " in "
            << c.hoisted_groups << " groups), relin " << c.relins << ", pt*ct "
            << c.pt_products << ", const*ct " << c.scalar_products << ", enc " << c.encodings
            << ", rescale " << c.rescales << ", add " << c.adds << ", drop " << c.level_drops
            << "}";
}

}  // namespace cryptounet::nn
