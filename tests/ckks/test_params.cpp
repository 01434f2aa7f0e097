#include "cryptounet/ckks/params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "cryptounet/ckks/context.h"
#include "cryptounet/common/error.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::ckks {
namespace {

void expect_valid(const Params& p) {
  std::set<std::uint64_t> seen;
  for (auto q : p.q()) seen.insert(q);
  for (auto q : p.p()) seen.insert(q);
  EXPECT_EQ(seen.size(), p.q().size() + p.p().size()) << "primes must be distinct";
  for (auto q : seen) {
    EXPECT_TRUE(math::is_prime(q));
    EXPECT_EQ(q % (2 * p.n()), 1u);
    EXPECT_LT(q, 1ull << 61);
  }
  if (p.security() == Security::bits128) {
    EXPECT_LE(p.log_qp(), max_log_qp_128(p.log_n()));
  }
}

TEST(ParamsTest, PresetsAre128BitAndWellFormed) {
  const Params p1 = presets::P1(), p2 = presets::P2(), p3 = presets::P3();
  for (const Params* p : {&p1, &p2, &p3}) expect_valid(*p);
  EXPECT_EQ(p1.n(), 1u << 14);
  EXPECT_EQ(p1.max_level(), 5);
  EXPECT_EQ(p1.dnum(), 2);
  EXPECT_EQ(p2.max_level(), 13);
  EXPECT_EQ(p2.slots(), 1u << 14);
  EXPECT_EQ(p3.max_level(), 28);
  EXPECT_EQ(p3.dnum(), 3);
  EXPECT_NEAR(p1.log_qp(), 410, 1);
  EXPECT_NEAR(p2.log_qp(), 880, 1);
  EXPECT_NEAR(p3.log_qp(), 1630, 1);
  EXPECT_NE(p1.fingerprint(), p2.fingerprint());
  EXPECT_EQ(p1.fingerprint(), presets::P1().fingerprint()) << "prime generation must be deterministic";
  EXPECT_EQ(presets::params_128_logn15_logqp880().fingerprint(), p2.fingerprint());
  // Scale primes stay close to 2^40 on both sides.
  for (std::size_t i = 1; i < p2.q().size(); ++i) EXPECT_NEAR(std::log2(static_cast<double>(p2.q()[i])), 40.0, 1e-3);
}

TEST(ParamsTest, RefusesInsecureUnlessAsked) {
  ParamsLiteral small{.log_n = 12, .log_q = {60, 40}, .log_p = {60}};
  EXPECT_THROW((void)Params::from_literal(small), SecurityError);
  small.security = Security::insecure_for_tests;
  EXPECT_NO_THROW((void)Params::from_literal(small));
  ParamsLiteral big{.log_n = 14, .log_q = {60, 60, 60, 60, 60, 60, 60}, .log_p = {60}};  // 480 > 438
  try {
    (void)Params::from_literal(big);
    FAIL() << "expected SecurityError";
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("128-bit bound 438"), std::string::npos) << e.what();
  }
  big.security = Security::insecure_for_tests;
  EXPECT_NO_THROW((void)Params::from_literal(big));
}

// Issue 9, item 9: the bound table is OpenFHE 1.5.1's HE-standard ternary 128-bit classic table;
// N=2^16 once allowed 1772 bits, more than that table allows.
TEST(ParamsTest, BoundTableIsTheHeStandardTernary128Classic) {
  const int want[] = {27, 54, 109, 218, 438, 881, 1747, 3523};
  for (int log_n = 10; log_n <= 17; ++log_n) EXPECT_EQ(max_log_qp_128(log_n), want[log_n - 10]) << log_n;
  EXPECT_EQ(max_log_qp_128(9), 0);
  EXPECT_EQ(max_log_qp_128(18), 0);
  // 1760 bits at N=2^16: inside the old 1772, outside 1747.
  ParamsLiteral lit{.log_n = 16, .log_q = std::vector<int>(29, 60), .log_p = {20}};
  try {
    (void)Params::from_literal(lit);
    FAIL() << "expected SecurityError";
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("128-bit bound 1747"), std::string::npos) << e.what();
  }
}

TEST(ParamsTest, RejectsMalformedLiterals) {
  const auto ins = Security::insecure_for_tests;
  EXPECT_THROW((void)Params::from_literal({.log_n = 9, .log_q = {60}, .log_p = {60}, .security = ins}), InvalidArgument);
  EXPECT_THROW((void)Params::from_literal({.log_n = 17, .log_q = {60}, .log_p = {60}, .security = ins}), InvalidArgument);
  EXPECT_THROW((void)Params::from_literal({.log_n = 10, .log_q = {}, .log_p = {60}, .security = ins}), InvalidArgument);
  EXPECT_THROW((void)Params::from_literal({.log_n = 10, .log_q = {60}, .log_p = {}, .security = ins}), InvalidArgument);
  EXPECT_THROW((void)Params::from_literal({.log_n = 10, .log_q = {61}, .log_p = {60}, .security = ins}), InvalidArgument);
  EXPECT_THROW((void)Params::from_literal({.log_n = 10, .log_q = {60, 40}, .log_p = {60}, .dnum = 3, .security = ins}),
               InvalidArgument);
  // One 30-bit special prime cannot carry a digit of 60 + 3x40 bits.
  EXPECT_THROW(
      (void)Params::from_literal({.log_n = 10, .log_q = {60, 40, 40, 40}, .log_p = {30}, .dnum = 1, .security = ins}),
      InvalidArgument);
}

TEST(ParamsTest, DigitLayout) {
  const auto ctx = Context::create(presets::P3(), ExecOptions{1});
  EXPECT_EQ(ctx->digit_begin(0), 0u);
  EXPECT_EQ(ctx->digit_end(0), 10u);
  EXPECT_EQ(ctx->digit_end(1), 20u);
  EXPECT_EQ(ctx->digit_end(2), 29u);
  // dnum larger than needed collapses: 6 primes in digits of 2 -> 3 digits... with dnum 4 -> alpha 2 -> 3 digits.
  const auto p = Params::from_literal(
      {.log_n = 10, .log_q = {60, 40, 40, 40, 40, 40}, .log_p = {60, 60}, .dnum = 4, .security = Security::insecure_for_tests});
  EXPECT_EQ(p.digit_size(), 2);
  EXPECT_EQ(p.dnum(), 3);
}

}  // namespace
}  // namespace cryptounet::ckks
