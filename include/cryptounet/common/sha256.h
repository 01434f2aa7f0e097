// SHA-256 through OpenSSL, and hex spelling of digests and ids: the fingerprints of plans,
// models, keys and server tokens all go through here (one implementation).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace cryptounet {

/// Incremental SHA-256. @throws SecurityError if OpenSSL fails.
class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::uint8_t> data);
  void update(std::string_view s);
  [[nodiscard]] std::array<std::uint8_t, 32> finish();
  /// The first 8 bytes of the digest, little-endian; never 0 (0 means "none" in headers).
  [[nodiscard]] std::uint64_t finish_u64();

 private:
  std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

/// SHA-256 of `data`, as 64 lowercase hex digits.
[[nodiscard]] std::string sha256_hex(std::string_view data);

/// Lowercase hex of `bytes`, two digits a byte.
[[nodiscard]] std::string hex(std::span<const std::uint8_t> bytes);

/// `v` as 16 lowercase hex digits.
[[nodiscard]] std::string hex64(std::uint64_t v);

}  // namespace cryptounet
