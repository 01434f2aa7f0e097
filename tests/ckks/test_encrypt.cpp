#include <gtest/gtest.h>

#include <type_traits>

#include "cryptounet/common/error.h"
#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {

static_assert(!std::is_copy_constructible_v<SecretKey>, "SecretKey must be move-only");
static_assert(!std::is_copy_assignable_v<SecretKey>, "SecretKey must be move-only");
static_assert(std::is_nothrow_move_constructible_v<SecretKey>);

class EncryptTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EncryptTest, PublicAndSecretKeyRoundTrip) {
  const auto& tc = test_context(GetParam());
  const auto v = random_complex(tc.slots(), 21);
  for (int level : {0, tc.max_level()}) {
    const Plaintext pt = tc.encoder->encode(v, level, tc.scale());
    for (const Encryptor* enc : {tc.enc_pk.get(), tc.enc_sk.get()}) {
      const Ciphertext ct = enc->encrypt(pt);
      EXPECT_EQ(ct.level(), level);
      EXPECT_EQ(ct.size(), 2u);
      EXPECT_EQ(ct.fingerprint(), tc.ctx->fingerprint());
      const auto st = precision_stats(v, tc.decrypt(ct));
      EXPECT_GE(st.min_bits, 21) << tc.name << " level " << level;
      EXPECT_GE(st.median_bits, 24) << tc.name << " level " << level;
    }
  }
}

TEST_P(EncryptTest, SecretKeyCiphertextKeepsItsSeed) {
  const auto& tc = test_context(GetParam());
  const auto v = random_complex(tc.slots(), 22);
  Ciphertext ct = tc.enc_sk->encrypt(tc.encoder->encode(v, tc.max_level(), tc.scale()));
  ASSERT_TRUE(ct.seed().has_value());
  std::vector<std::size_t> idx;
  for (int i = 0; i <= ct.level(); ++i) idx.push_back(static_cast<std::size_t>(i));
  const math::RnsPoly a = expand_uniform(*tc.ctx, *ct.seed(), kCiphertextDomain, idx);
  for (std::size_t t = 0; t < idx.size(); ++t)
    ASSERT_TRUE(std::equal(a.limb(t), a.limb(t) + tc.ctx->n(), ct.part(1).limb(t)));
  // Two encryptions differ (fresh seeds and noise).
  const Ciphertext ct2 = tc.enc_sk->encrypt(tc.encoder->encode(v, tc.max_level(), tc.scale()));
  EXPECT_NE(*ct.seed(), *ct2.seed());
  // Mutation forgets the seed.
  tc.eval->add_inplace(ct, ct2);
  EXPECT_FALSE(ct.seed().has_value());
  EXPECT_FALSE(tc.enc_pk->encrypt(tc.encoder->encode(v, 0, tc.scale())).seed().has_value());
}

TEST_P(EncryptTest, PublicKeyAndEvaluationKeysAreSeeded) {
  const auto& tc = test_context(GetParam());
  std::vector<std::size_t> q_idx, qp_idx;
  for (std::size_t i = 0; i < tc.ctx->q_count(); ++i) q_idx.push_back(i);
  for (std::size_t i = 0; i < tc.ctx->q_count() + tc.ctx->p_count(); ++i) qp_idx.push_back(i);
  const auto pa = expand_uniform(*tc.ctx, tc.pk.seed, kPublicKeyDomain, q_idx);
  EXPECT_TRUE(std::equal(pa.data(), pa.data() + pa.n() * pa.limbs(), tc.pk.a.data()));
  const KeySwitchKey& rk = tc.evk.relin.key;
  ASSERT_EQ(rk.a.size(), static_cast<std::size_t>(tc.ctx->dnum()));
  for (std::size_t j = 0; j < rk.a.size(); ++j) {
    const auto a = expand_uniform(*tc.ctx, rk.seed, kKeySwitchDomain + (j << 32), qp_idx);
    EXPECT_TRUE(std::equal(a.data(), a.data() + a.n() * a.limbs(), rk.a[j].data())) << "digit " << j;
  }
}

TEST_P(EncryptTest, SecretKeyMoveAndWipe) {
  const auto& tc = test_context(GetParam());
  SecretKey a = tc.keygen->secret_key();
  const std::size_t limbs = a.poly().limbs();
  SecretKey b = std::move(a);
  EXPECT_EQ(b.poly().limbs(), limbs);
  EXPECT_EQ(a.poly().limbs(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  math::RnsPoly p = b.poly().prefix(1);
  p.wipe();
  for (std::size_t i = 0; i < p.n(); ++i) ASSERT_EQ(p.data()[i], 0u);
  // Other parameters are refused.
  const auto& other = test_context(GetParam() == "logN10" ? "logN12" : "logN10");
  EXPECT_THROW(Decryptor(other.ctx, *tc.sk), InvalidArgument);
  EXPECT_THROW(Encryptor(other.ctx, tc.pk), InvalidArgument);
  EXPECT_THROW((void)other.keygen->relin_key(*tc.sk), InvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Sets, EncryptTest, ::testing::Values("logN10", "logN12"));

}  // namespace
}  // namespace cryptounet::ckks::test
