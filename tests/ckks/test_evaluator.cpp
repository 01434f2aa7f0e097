#include "cryptounet/ckks/evaluator.h"

#include <gtest/gtest.h>

#include <random>

#include "cryptounet/common/error.h"
#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {

using CVec = std::vector<std::complex<double>>;

CVec zip(const CVec& a, const CVec& b, auto f) {
  CVec r(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) r[i] = f(a[i], b[i]);
  return r;
}

// Bounds leave >= 2 bits below the typical precision (public-key encryption at logN 12 gives about
// 24 bits in the worst slot; the noise varies by up to ~1 bit from one key to another).
class EvaluatorTest : public ::testing::TestWithParam<std::string> {
 protected:
  const TestContext& tc = test_context(GetParam());
  void expect_bits(const CVec& want, const Ciphertext& ct, double min_bits, const char* what) {
    const auto st = precision_stats(want, tc.decrypt(ct));
    EXPECT_GE(st.min_bits, min_bits) << tc.name << " " << what << ": min " << st.min_bits << " mean " << st.mean_bits
                                     << " median " << st.median_bits << " bits";
  }
};

TEST_P(EvaluatorTest, AddSubNegate) {
  const auto a = random_complex(tc.slots(), 31), b = random_complex(tc.slots(), 32);
  const Ciphertext ca = tc.encrypt(a), cb = tc.encrypt(b);
  expect_bits(zip(a, b, std::plus<>()), tc.eval->add(ca, cb), 21, "add");
  expect_bits(zip(a, b, std::minus<>()), tc.eval->sub(ca, cb), 21, "sub");
  const Plaintext pb = tc.encoder->encode(b, tc.max_level(), tc.scale());
  expect_bits(zip(a, b, std::plus<>()), tc.eval->add(ca, pb), 21, "add plain");
  expect_bits(zip(a, b, std::minus<>()), tc.eval->sub(ca, pb), 21, "sub plain");
  CVec neg(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) neg[i] = -a[i];
  expect_bits(neg, tc.eval->negate(ca), 21, "negate");
  CVec plus_c(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) plus_c[i] = a[i] + 0.625;
  expect_bits(plus_c, tc.eval->add_const(ca, 0.625), 21, "add_const");
}

TEST_P(EvaluatorTest, PlaintextAndConstantProducts) {
  const auto a = random_complex(tc.slots(), 33), b = random_complex(tc.slots(), 34), c = random_complex(tc.slots(), 35);
  const int L = tc.max_level();
  const Ciphertext ca = tc.encrypt(a), cc = tc.encrypt(c);
  const Plaintext pb = tc.encoder->encode(b, L, tc.scale());
  Ciphertext prod = tc.eval->mul_plain(ca, pb);
  EXPECT_DOUBLE_EQ(prod.scale(), tc.scale() * tc.scale());
  expect_bits(zip(a, b, std::multiplies<>()), prod, 20, "mul_plain");
  const Ciphertext rs = tc.eval->rescale(prod);
  EXPECT_EQ(rs.level(), L - 1);
  expect_bits(zip(a, b, std::multiplies<>()), rs, 20, "mul_plain + rescale");
  // Multiply-accumulate: a*b + c*b.
  Ciphertext acc = tc.eval->mul_plain(ca, pb);
  tc.eval->mul_plain_add_inplace(acc, cc, pb);
  CVec want(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) want[i] = a[i] * b[i] + c[i] * b[i];
  expect_bits(want, tc.eval->rescale(acc), 20, "mul_plain_add");
  // Constants: a * 0.3 and a * (-1.7) + c * 0.25 at const_scale = q_L (scale returns to ~Delta).
  const double qL = static_cast<double>(tc.ctx->params().q()[static_cast<std::size_t>(L)]);
  Ciphertext m = tc.eval->mul_const(ca, 0.3, qL);
  CVec want_m(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) want_m[i] = a[i] * 0.3;
  Ciphertext mr = tc.eval->rescale(m);
  EXPECT_NEAR(mr.scale() / tc.scale(), 1.0, 1e-9);
  expect_bits(want_m, mr, 21, "mul_const");
  Ciphertext macc = tc.eval->mul_const(ca, -1.7, qL);
  tc.eval->mul_const_add_inplace(macc, cc, 0.25, qL);
  for (std::size_t i = 0; i < a.size(); ++i) want[i] = -1.7 * a[i] + 0.25 * c[i];
  expect_bits(want, tc.eval->rescale(macc), 20, "mul_const_add");
  // Integer constant with const_scale 1 keeps the scale.
  const Ciphertext m3 = tc.eval->mul_const(ca, 3.0, 1.0);
  EXPECT_DOUBLE_EQ(m3.scale(), ca.scale());
  for (std::size_t i = 0; i < a.size(); ++i) want_m[i] = 3.0 * a[i];
  expect_bits(want_m, m3, 20, "mul_const integer");
}

// The multi-output constant accumulate equals the same terms one by one, bit for bit, into fresh
// and existing outputs, and decrypts to the linear combination.
TEST_P(EvaluatorTest, MulConstAccumulateMatchesOneByOne) {
  std::vector<CVec> x;
  std::vector<Ciphertext> cx;
  for (int i = 0; i < 5; ++i) {
    x.push_back(random_complex(tc.slots(), 50 + i));
    cx.push_back(tc.encrypt(x.back()));
  }
  const double qL = static_cast<double>(tc.ctx->params().q().back());
  std::vector<Evaluator::ConstTerm> terms;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (std::uint32_t a = 0; a < 3; ++a)
    for (int m = 0; m < 6 + 7 * static_cast<int>(a); ++m)  // 6, 13, 20 terms
      terms.push_back({a, static_cast<std::uint32_t>(rng() % cx.size()), u(rng), qL});
  // Output 0 starts fresh, 1 holds a product already, 2 is fresh; output 3 gets no term.
  std::vector<Ciphertext> got(4), want(3);
  got[1] = tc.eval->mul_const(cx[0], 0.5, qL);
  want[1] = got[1];
  std::vector<Ciphertext*> accs;
  for (auto& g : got) accs.push_back(&g);
  std::vector<const Ciphertext*> ins;
  for (auto& c : cx) ins.push_back(&c);
  tc.eval->mul_const_accumulate(accs, ins, terms);
  for (const auto& t : terms) {
    if (want[t.out].size() == 0)
      want[t.out] = tc.eval->mul_const(cx[t.in], t.c, t.const_scale);
    else
      tc.eval->mul_const_add_inplace(want[t.out], cx[t.in], t.c, t.const_scale);
  }
  EXPECT_EQ(got[3].size(), 0u);
  for (std::size_t a = 0; a < 3; ++a) {
    ASSERT_EQ(got[a].size(), 2u);
    EXPECT_DOUBLE_EQ(got[a].scale(), want[a].scale());
    for (std::size_t p = 0; p < 2; ++p)
      for (std::size_t t = 0; t < got[a].part(p).limbs(); ++t)
        for (std::size_t i = 0; i < tc.ctx->n(); ++i)
          ASSERT_EQ(got[a].part(p).limb(t)[i], want[a].part(p).limb(t)[i]) << a << " " << p << " " << t << " " << i;
    CVec v(tc.slots(), 0.0);
    if (a == 1)
      for (std::size_t s = 0; s < v.size(); ++s) v[s] = 0.5 * x[0][s];
    for (const auto& t : terms)
      if (t.out == a)
        for (std::size_t s = 0; s < v.size(); ++s) v[s] += t.c * x[t.in][s];
    expect_bits(v, tc.eval->rescale(got[a]), 16, "mul_const_accumulate");
  }
  // Errors before any work: an unknown input, a scale that does not match.
  Ciphertext fresh;
  Ciphertext* one[] = {&fresh};
  const Evaluator::ConstTerm bad_in[] = {{0, 9, 1.0, qL}};
  EXPECT_THROW(tc.eval->mul_const_accumulate(one, ins, bad_in), InvalidArgument);
  const Evaluator::ConstTerm bad_scale[] = {{0, 0, 1.0, qL}, {0, 1, 1.0, 2.0 * qL}};
  EXPECT_THROW(tc.eval->mul_const_accumulate(one, ins, bad_scale), InvalidArgument);
  EXPECT_EQ(fresh.size(), 0u);
}

TEST_P(EvaluatorTest, CiphertextProducts) {
  const auto a = random_complex(tc.slots(), 36), b = random_complex(tc.slots(), 37);
  const Ciphertext ca = tc.encrypt(a), cb = tc.encrypt(b);
  const auto ab = zip(a, b, std::multiplies<>());
  const Ciphertext t = tc.eval->mul(ca, cb);
  EXPECT_EQ(t.size(), 3u);
  expect_bits(ab, t, 20, "mul (size 3, decrypted directly)");
  const Ciphertext r = tc.eval->relinearize(t);
  EXPECT_EQ(r.size(), 2u);
  expect_bits(ab, r, 20, "relinearize");
  // The bound: product + rescale at Delta = 2^40 keeps >= 20 bits for inputs in [-1, 1].
  const Ciphertext mr = tc.eval->rescale(tc.eval->mul_relin(ca, cb));
  expect_bits(ab, mr, 20, "mul_relin + rescale");
  const Ciphertext sq = tc.eval->rescale(tc.eval->square_relin(ca));
  expect_bits(zip(a, a, std::multiplies<>()), sq, 20, "square_relin + rescale");
  Ciphertext inplace = ca;
  tc.eval->mul_relin_inplace(inplace, cb);
  tc.eval->rescale_inplace(inplace);
  expect_bits(ab, inplace, 20, "mul_relin_inplace");
}

TEST_P(EvaluatorTest, ProductChainDownToLevelZero) {
  // x^(2^L) for |x| near 1: squares down to level 0, then the result must still decode.
  CVec x = random_complex(tc.slots(), 38);
  for (auto& z : x) z = std::polar(1.0, std::arg(z));  // unit modulus: powers stay bounded
  Ciphertext c = tc.encrypt(x);
  CVec want = x;
  for (int l = tc.max_level(); l > 0; --l) {
    c = tc.eval->rescale(tc.eval->square_relin(c));
    for (auto& z : want) z *= z;
    EXPECT_EQ(c.level(), l - 1);
    EXPECT_NEAR(std::log2(c.scale()), 40.0, 0.1);
  }
  // Error roughly doubles per squaring of unit-modulus values.
  expect_bits(want, c, 20 - tc.max_level(), "square chain");
  // A product is impossible at level 0 (scale 2^80 exceeds q0 = 2^60), but a level-1 product
  // rescaled to level 0 must be fine.
  const auto y = random_complex(tc.slots(), 39), w = random_complex(tc.slots(), 40);
  const Ciphertext p = tc.eval->rescale(
      tc.eval->mul_relin(tc.eval->drop_level(tc.encrypt(y), 1), tc.eval->drop_level(tc.encrypt(w), 1)));
  EXPECT_EQ(p.level(), 0);
  expect_bits(zip(y, w, std::multiplies<>()), p, 20, "level-1 product to level 0");
}

TEST_P(EvaluatorTest, DropLevel) {
  const auto a = random_complex(tc.slots(), 40);
  const Ciphertext ca = tc.encrypt(a);
  const Ciphertext d = tc.eval->drop_level(ca, 1);
  EXPECT_EQ(d.level(), 1);
  EXPECT_DOUBLE_EQ(d.scale(), ca.scale());
  expect_bits(a, d, 21, "drop_level");
  Ciphertext e = ca;
  tc.eval->drop_level_inplace(e, 0);
  expect_bits(a, e, 21, "drop_level_inplace");
  const Plaintext p = tc.eval->drop_level(tc.encoder->encode(a, tc.max_level(), tc.scale()), 0);
  EXPECT_EQ(p.level(), 0);
}

INSTANTIATE_TEST_SUITE_P(Sets, EvaluatorTest, ::testing::Values("logN10", "logN11", "logN12"));

}  // namespace
}  // namespace cryptounet::ckks::test
