#include "cryptounet/math/sampler.h"

#include <array>
#include <cmath>

namespace cryptounet::math {
namespace {

// CDT over x in [-19, 19]: cdt[k] = 2^63 * P(X <= -19 + k) for the Gaussian exp(-x^2 / (2 sigma^2))
// truncated to |x| <= 19 and renormalised, computed in long double.
constexpr int kSize = 2 * kGaussianBound + 1;

const std::array<std::uint64_t, kSize>& cdt() {
  static const std::array<std::uint64_t, kSize> table = [] {
    std::array<long double, kSize> w{};
    long double total = 0;
    for (int k = 0; k < kSize; ++k) {
      const long double x = k - kGaussianBound;
      w[k] = std::exp(-x * x / (2.0L * kGaussianSigma * kGaussianSigma));
      total += w[k];
    }
    std::array<std::uint64_t, kSize> t{};
    long double acc = 0;
    for (int k = 0; k < kSize; ++k) {
      acc += w[k];
      const long double c = acc / total * 9223372036854775808.0L;  // 2^63
      t[k] = k == kSize - 1 ? (std::uint64_t{1} << 63) : static_cast<std::uint64_t>(c);
    }
    return t;
  }();
  return table;
}

}  // namespace

void sample_uniform(Prng& prng, const Modulus& q, std::uint64_t* out, std::size_t n) {
  const int bits = q.bit_count();
  const std::uint64_t mask = bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  const std::uint64_t qv = q.value();
  for (std::size_t i = 0; i < n;) {
    const std::uint64_t r = prng.next_u64() & mask;
    if (r < qv) out[i++] = r;
  }
}

void sample_ternary(Prng& prng, std::int64_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    const std::uint8_t b = prng.next_u8();
    if (b < 255) out[i++] = static_cast<std::int64_t>(b % 3) - 1;  // 255 = 3 * 85: unbiased
  }
}

void sample_gaussian(Prng& prng, std::int64_t* out, std::size_t n) {
  const auto& table = cdt();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t r = prng.next_u64() >> 1;  // uniform in [0, 2^63)
    // x = -19 + #{k : r >= cdt[k]}; every entry is compared, without branches.
    std::int64_t count = 0;
    for (int k = 0; k < kSize - 1; ++k) count += static_cast<std::int64_t>(r >= table[k]);
    out[i] = count - kGaussianBound;
  }
}

}  // namespace cryptounet::math
