// Operation counts of an encrypted run, the currency of the planner's cost table. Every HE
// backend (slot simulator, CKKS engine) counts the same events, so the planner's predicted
// counts can be compared with what a run actually did.
#pragma once

#include <iosfwd>

namespace cryptounet::nn {

struct OpCounts {
  long rotations = 0;          // rotations (key switches), hoisted ones included
  long hoisted_groups = 0;     // hoisted decompositions (one per rotate_hoisted call)
  long hoisted_rotations = 0;  // rotations done inside hoisted groups (part of `rotations`)
  long relins = 0;             // ciphertext squares/products + relinearisation (key switches)
  long pt_products = 0;        // ciphertext x plaintext products
  long scalar_products = 0;    // ciphertext x constant products (no plaintext)
  long encodings = 0;          // plaintexts encoded
  long rescales = 0;
  long adds = 0;               // ct+ct, ct+pt and ct+const additions
  long level_drops = 0;

  [[nodiscard]] long key_switches() const { return rotations + relins; }
  OpCounts& operator+=(const OpCounts& o);
  [[nodiscard]] OpCounts operator-(const OpCounts& o) const;
  bool operator==(const OpCounts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const OpCounts& c);

}  // namespace cryptounet::nn
