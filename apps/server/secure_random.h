// Unguessable identifiers and tokens (OpenSSL RAND_bytes), SHA-256 hex and constant-time compare.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cryptounet::server {

/// `bytes` random bytes from OpenSSL's CSPRNG as lower-case hex. Throws SecurityError if the
/// CSPRNG fails.
std::string random_hex(std::size_t bytes);

/// SHA-256 of `data` as 64 lower-case hex characters.
std::string sha256_hex(std::string_view data);

/// Equality of two strings in time independent of where they differ (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

/// True if `s` is exactly `length` lower-case hex characters.
bool is_hex_id(std::string_view s, std::size_t length);

}  // namespace cryptounet::server
