#include "cryptounet/common/secure_random.h"

#include "cryptounet/common/error.h"
#include "cryptounet/common/sha256.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdint>
#include <vector>

namespace cryptounet {

std::string random_hex(std::size_t bytes) {
  std::vector<std::uint8_t> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1)
    throw SecurityError("random_hex: RAND_bytes failed for " + std::to_string(bytes) + " bytes");
  std::string out = hex(buf);
  OPENSSL_cleanse(buf.data(), buf.size());
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool is_hex_id(std::string_view s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace cryptounet
