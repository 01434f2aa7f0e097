#include "cryptounet/math/csprng.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <limits>

#include "cryptounet/common/error.h"

namespace cryptounet::math {

void random_bytes(std::uint8_t* out, std::size_t len) {
  while (len > 0) {
    const int chunk = static_cast<int>(std::min<std::size_t>(len, 1 << 20));
    if (RAND_bytes(out, chunk) != 1) throw SecurityError("csprng: RAND_bytes failed (no OS entropy)");
    out += chunk;
    len -= static_cast<std::size_t>(chunk);
  }
}

Seed random_seed() {
  Seed s;
  random_bytes(s.data(), s.size());
  return s;
}

Prng::Prng(const Seed& seed, std::uint64_t domain) : seed_(seed), domain_(domain) {}

Prng::~Prng() {
  volatile std::uint8_t* p = buf_.data();
  for (std::size_t i = 0; i < buf_.size(); ++i) p[i] = 0;
  volatile std::uint8_t* s = seed_.data();
  for (std::size_t i = 0; i < seed_.size(); ++i) s[i] = 0;
}

void Prng::refill() {
  std::uint8_t input[32 + 8 + 8];
  std::memcpy(input, seed_.data(), 32);
  for (int i = 0; i < 8; ++i) input[32 + i] = static_cast<std::uint8_t>(domain_ >> (8 * i));
  for (int i = 0; i < 8; ++i) input[40 + i] = static_cast<std::uint8_t>(counter_ >> (8 * i));
  ++counter_;
  // The SHAKE-256 method is fetched once and each thread keeps one digest context: an implicit
  // fetch and a fresh context per 4 KiB block cost more than the hashing (key loading expands
  // hundreds of MiB). The stream is unchanged. The context is reset (its sponge state cleansed)
  // after every block, as freeing it did.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHAKE256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> tl_ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_MD_CTX* ctx = tl_ctx.get();
  const bool ok = md && ctx && EVP_DigestInit_ex(ctx, md, nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, input, sizeof(input)) == 1 &&
                  EVP_DigestFinalXOF(ctx, buf_.data(), buf_.size()) == 1;
  if (ctx) EVP_MD_CTX_reset(ctx);
  std::memset(input, 0, sizeof(input));
  if (!ok) throw SecurityError("csprng: SHAKE-256 expansion failed");
  pos_ = 0;
}

void Prng::fill(std::uint8_t* out, std::size_t len) {
  while (len > 0) {
    if (pos_ == kBlock) refill();
    const std::size_t take = std::min(len, kBlock - pos_);
    std::memcpy(out, buf_.data() + pos_, take);
    pos_ += take;
    out += take;
    len -= take;
  }
}

std::uint64_t Prng::next_u64() {
  if (kBlock - pos_ >= 8) {
    std::uint64_t v;
    std::memcpy(&v, buf_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  std::uint8_t b[8];
  fill(b, 8);
  std::uint64_t v;
  std::memcpy(&v, b, 8);
  return v;
}

std::uint8_t Prng::next_u8() {
  if (pos_ == kBlock) refill();
  return buf_[pos_++];
}

}  // namespace cryptounet::math
