// CKKS encoding through the canonical embedding: N/2 complex slots <-> a real polynomial of
// degree < N, with the "special FFT" of size N/2 over the rotation group 5^j mod 2N (as in
// HEAAN), O(N log N). Slot rotation by k is then the automorphism X -> X^(5^k).
#pragma once

#include <complex>
#include <memory>
#include <span>
#include <vector>

#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/plaintext.h"

namespace cryptounet::ckks {

class Encoder {
 public:
  explicit Encoder(std::shared_ptr<const Context> ctx);

  /// Encodes up to slots() values (fewer are zero-padded) at `level` (builds only level+1
  /// limbs) and `scale`. Throws InvalidArgument: too many values, level outside [0, max_level],
  /// scale <= 0, a non-finite value, or a scaled coefficient of 2^126 or more.
  /// Cost: one FFT of N/2 points + (level+1) NTTs.
  [[nodiscard]] Plaintext encode(std::span<const double> values, int level, double scale) const;
  [[nodiscard]] Plaintext encode(std::span<const std::complex<double>> values, int level, double scale) const;

  /// All slots() values. Uses only the fewest limbs whose product exceeds scale * 2^50 (the
  /// message is centred and far smaller), so it costs a few inverse NTTs and one FFT.
  /// Throws InvalidArgument for an empty plaintext or a fingerprint of other parameters.
  [[nodiscard]] std::vector<std::complex<double>> decode(const Plaintext& pt) const;
  [[nodiscard]] std::vector<double> decode_real(const Plaintext& pt) const;

  [[nodiscard]] std::size_t slots() const { return slots_; }

 private:
  void fft_inverse(std::complex<double>* v) const;  // slots -> coefficients (includes 1/slots)
  void fft_forward(std::complex<double>* v) const;  // coefficients -> slots
  [[nodiscard]] Plaintext encode_coeffs(const std::vector<std::complex<double>>& v, int level, double scale) const;

  std::shared_ptr<const Context> ctx_;
  std::size_t slots_;
  // Twiddles of the layer with half-length h at [h, 2h) (h = 1, 2, 4, ..., slots/2):
  // forward ksi^(5^j mod 4h * gap), inverse its conjugate, with ksi = exp(2 pi i / 2N).
  std::vector<std::complex<double>> tw_fwd_;
  std::vector<std::complex<double>> tw_inv_;
  std::vector<std::size_t> bitrev_;               // bit reversal on log2(slots) bits
};

}  // namespace cryptounet::ckks
