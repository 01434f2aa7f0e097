// Unguessable identifiers and tokens: random hex from OpenSSL's CSPRNG, the check that a string
// is such an id, and the constant-time comparison for secrets. (SHA-256 hex: common/sha256.h.)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cryptounet {

/// `bytes` random bytes from OpenSSL's CSPRNG as lower-case hex. Throws SecurityError if the
/// CSPRNG fails.
std::string random_hex(std::size_t bytes);

/// Equality of two strings in time independent of where they differ (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

/// True if `s` is exactly `length` lower-case hex characters.
bool is_hex_id(std::string_view s, std::size_t length);

}  // namespace cryptounet
