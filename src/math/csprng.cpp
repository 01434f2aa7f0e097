#include "cryptounet/math/csprng.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <memory>
#if defined(__AVX512F__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif
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

namespace {

// One stream block: SHAKE-256(seed || domain || counter), kBlock bytes, through OpenSSL.
void shake_block(const Seed& seed, std::uint64_t domain, std::uint64_t counter, std::uint8_t* out, std::size_t len) {
  std::uint8_t input[32 + 8 + 8];
  std::memcpy(input, seed.data(), 32);
  for (int i = 0; i < 8; ++i) input[32 + i] = static_cast<std::uint8_t>(domain >> (8 * i));
  for (int i = 0; i < 8; ++i) input[40 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
  // The SHAKE-256 method is fetched once and each thread keeps one digest context: an implicit
  // fetch and a fresh context per 4 KiB block cost more than the hashing (key loading expands
  // hundreds of MiB). The stream is unchanged. The context is reset (its sponge state cleansed)
  // after every block, as freeing it did.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHAKE256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> tl_ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_MD_CTX* ctx = tl_ctx.get();
  const bool ok = md && ctx && EVP_DigestInit_ex(ctx, md, nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, input, sizeof(input)) == 1 && EVP_DigestFinalXOF(ctx, out, len) == 1;
  if (ctx) EVP_MD_CTX_reset(ctx);
  std::memset(input, 0, sizeof(input));
  if (!ok) throw SecurityError("csprng: SHAKE-256 expansion failed");
}

#if defined(__AVX512F__)
// Eight SHAKE-256 streams at once: Keccak-f[1600] on 25 vectors, lane j of way w in element w of
// vector j (our own implementation of FIPS 202, checked against OpenSSL's output in the tests).
// The 48-byte input fits one 136-byte rate block, so each block is: absorb input + padding,
// then permute and read 136 bytes, until kBlock bytes are out.
constexpr std::uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// rho offsets by lane index x + 5y: (x, y) = (1, 0), then (y, 2x + 3y), offset (t+1)(t+2)/2.
struct RhoTable {
  int r[25]{};
  constexpr RhoTable() {
    int x = 1, y = 0;
    for (int t = 0; t < 24; ++t) {
      r[x + 5 * y] = ((t + 1) * (t + 2) / 2) % 64;
      const int nx = y, ny = (2 * x + 3 * y) % 5;
      x = nx;
      y = ny;
    }
  }
};
constexpr RhoTable kRho;

template <int R>
inline __m512i rol(__m512i v) {
  if constexpr (R == 0) {
    return v;
  } else {
    return _mm512_maskz_rol_epi64(0xFF, v, R);  // maskz: no undefined source (GCC 12 LTO warns on that)
  }
}

template <int I>
inline void rho_pi(const __m512i* A, const __m512i* D, __m512i* B) {
  if constexpr (I < 25) {
    constexpr int x = I % 5, y = I / 5;
    B[y + 5 * ((2 * x + 3 * y) % 5)] = rol<kRho.r[I]>(_mm512_xor_si512(A[I], D[x]));
    rho_pi<I + 1>(A, D, B);
  }
}

void keccak_f8(__m512i* A) {
  for (int round = 0; round < 24; ++round) {
    __m512i C[5], D[5], B[25];
    for (int x = 0; x < 5; ++x)
      C[x] = _mm512_ternarylogic_epi64(_mm512_ternarylogic_epi64(A[x], A[x + 5], A[x + 10], 0x96), A[x + 15],
                                       A[x + 20], 0x96);
    for (int x = 0; x < 5; ++x) D[x] = _mm512_xor_si512(C[(x + 4) % 5], _mm512_maskz_rol_epi64(0xFF, C[(x + 1) % 5], 1));
    rho_pi<0>(A, D, B);
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 5; ++x)  // a ^ (~b & c): truth table 0xD2
        A[x + 5 * y] = _mm512_ternarylogic_epi64(B[x + 5 * y], B[(x + 1) % 5 + 5 * y], B[(x + 2) % 5 + 5 * y], 0xD2);
    A[0] = _mm512_xor_si512(A[0], _mm512_set1_epi64(static_cast<long long>(kRoundConstants[round])));
  }
}

// Blocks counter .. counter + 7 into out (8 * block bytes, block a multiple of 8).
void shake_blocks8(const Seed& seed, std::uint64_t domain, std::uint64_t counter, std::uint8_t* out, std::size_t block) {
  constexpr std::size_t kRateWords = 17;  // 136 bytes
  __m512i A[25];
  for (auto& v : A) v = _mm512_setzero_si512();
  for (int j = 0; j < 4; ++j) {
    std::uint64_t w;
    std::memcpy(&w, seed.data() + 8 * j, 8);
    A[j] = _mm512_set1_epi64(static_cast<long long>(w));
  }
  A[4] = _mm512_set1_epi64(static_cast<long long>(domain));
  const __m512i ways = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  A[5] = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(counter)), ways);
  A[6] = _mm512_set1_epi64(0x1F);                     // SHAKE domain bits + first pad bit, byte 48
  A[16] = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ULL));  // last pad bit, byte 135
  alignas(64) std::uint64_t lanes[kRateWords * 8];
  const std::size_t words = block / 8;
  for (std::size_t done = 0; done < words;) {
    keccak_f8(A);
    for (std::size_t j = 0; j < kRateWords; ++j) _mm512_store_si512(lanes + 8 * j, A[j]);
    const std::size_t take = std::min(kRateWords, words - done);
    for (std::size_t w = 0; w < 8; ++w) {
      std::uint8_t* dst = out + w * block + done * 8;
      for (std::size_t j = 0; j < take; ++j) std::memcpy(dst + 8 * j, &lanes[8 * j + w], 8);
    }
    done += take;
  }
  volatile std::uint64_t* p = lanes;
  for (std::size_t i = 0; i < kRateWords * 8; ++i) p[i] = 0;
  for (auto& v : A) v = _mm512_setzero_si512();
}
#endif

}  // namespace

void Prng::refill() {
#if defined(__AVX512F__)
  shake_blocks8(seed_, domain_, counter_, buf_.data(), kBlock);
  counter_ += kBatch;
#else
  for (std::size_t b = 0; b < kBatch; ++b) shake_block(seed_, domain_, counter_++, buf_.data() + b * kBlock, kBlock);
#endif
  pos_ = 0;
}

namespace detail {
void shake_reference_block(const Seed& seed, std::uint64_t domain, std::uint64_t counter, std::uint8_t* out,
                           std::size_t len) {
  shake_block(seed, domain, counter, out, len);
}
}  // namespace detail

void Prng::fill(std::uint8_t* out, std::size_t len) {
  while (len > 0) {
    if (pos_ == buf_.size()) refill();
    const std::size_t take = std::min(len, buf_.size() - pos_);
    std::memcpy(out, buf_.data() + pos_, take);
    pos_ += take;
    out += take;
    len -= take;
  }
}

std::uint64_t Prng::next_u64() {
  if (buf_.size() - pos_ >= 8) {
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
  if (pos_ == buf_.size()) refill();
  return buf_[pos_++];
}

}  // namespace cryptounet::math
