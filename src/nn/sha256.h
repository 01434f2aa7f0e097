// SHA-256 through OpenSSL for the fingerprints of plans, models and keys (internal to nn).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "cryptounet/common/error.h"

namespace cryptounet::nn::detail {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw SecurityError("sha256: OpenSSL digest initialisation failed");
  }
  void update(std::span<const std::uint8_t> data) {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
      throw SecurityError("sha256: OpenSSL digest update failed");
  }
  void update(std::string_view s) {
    update(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  }
  std::array<std::uint8_t, 32> finish() {
    std::array<std::uint8_t, 32> out{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) != 1 || len != 32)
      throw SecurityError("sha256: OpenSSL digest finalisation failed");
    return out;
  }
  /// The first 8 bytes, little-endian; never 0 (0 means "none" in headers).
  std::uint64_t finish_u64() {
    const auto d = finish();
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(d[i]) << (8 * i);
    return v == 0 ? 1 : v;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

inline std::string hex(std::span<const std::uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : bytes) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

inline std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace cryptounet::nn::detail
