#include "cryptounet/common/sha256.h"

#include <openssl/evp.h>

#include <cstdio>

#include "cryptounet/common/error.h"

namespace cryptounet {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
    throw SecurityError("sha256: OpenSSL digest initialisation failed");
}

void Sha256::update(std::span<const std::uint8_t> data) {
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
    throw SecurityError("sha256: OpenSSL digest update failed");
}

void Sha256::update(std::string_view s) {
  update(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

std::array<std::uint8_t, 32> Sha256::finish() {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) != 1 || len != 32)
    throw SecurityError("sha256: OpenSSL digest finalisation failed");
  return out;
}

std::uint64_t Sha256::finish_u64() {
  const auto d = finish();
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(d[i]) << (8 * i);
  return v == 0 ? 1 : v;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  const auto d = h.finish();
  return hex(d);
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace cryptounet
