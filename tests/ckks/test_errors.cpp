// Every misuse named in the API contract throws InvalidArgument with a message naming the op.
#include <gtest/gtest.h>

#include "cryptounet/common/error.h"
#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {

template <class F>
void expect_message(F f, const std::string& fragment) {
  try {
    f();
    FAIL() << "expected InvalidArgument containing '" << fragment << "'";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(EvaluatorErrorTest, MismatchesAndMissingKeys) {
  const auto& tc = test_context("logN10");
  const auto& other = test_context("logN12");
  const auto a = random_complex(tc.slots(), 61);
  const Ciphertext top = tc.encrypt(a), low = tc.encrypt(a, 1);
  const Evaluator& ev = *tc.eval;
  expect_message([&] { (void)ev.add(top, low); }, "add: level mismatch (3 vs 1)");
  expect_message([&] { (void)ev.mul(top, low); }, "mul: level mismatch");
  const Ciphertext sq = ev.mul_plain(top, tc.encoder->encode(a, tc.max_level(), tc.scale()));
  expect_message([&] { (void)ev.add(top, sq); }, "add: scale mismatch (2^40");
  expect_message([&] { (void)ev.sub(top, tc.encoder->encode(a, tc.max_level(), 2 * tc.scale())); }, "sub: scale mismatch");
  expect_message([&] { (void)ev.mul_plain(top, tc.encoder->encode(a, 1, tc.scale())); }, "mul_plain: level mismatch");
  const Ciphertext foreign = other.encrypt(random_complex(other.slots(), 62));
  expect_message([&] { (void)ev.add(top, foreign); }, "fingerprint mismatch");
  expect_message([&] { (void)ev.rotate(top, 6); }, "rotate: no Galois key for step 6");
  expect_message([&] { (void)ev.rotate_hoisted(top, std::vector<int>{1, 6}); }, "rotate_hoisted: no Galois key for step 6");
  expect_message([&] { (void)ev.rescale(low.level() == 0 ? low : ev.drop_level(low, 0)); }, "rescale: ciphertext is at level 0");
  expect_message([&] { (void)ev.drop_level(top, 4); }, "drop_level: target level 4");
  expect_message([&] { (void)ev.mul(ev.mul(top, top), top); }, "mul: ciphertext sizes 3 and 2");
  expect_message([&] { (void)ev.relinearize(top); }, "relinearize: ciphertext size 2");
  expect_message([&] { (void)ev.rotate(ev.mul(top, top), 1); }, "rotate: ciphertext size 3");
  expect_message([&] { (void)ev.mul_const(top, 1.0, 0.0); }, "mul_const");
  expect_message([&] { (void)ev.add_const(top, std::nan("")); }, "add_const");
  Ciphertext acc = top;
  expect_message([&] { ev.mul_plain_add_inplace(acc, top, tc.encoder->encode(a, tc.max_level(), tc.scale())); },
                 "mul_plain_add: accumulator scale");
  // No keys at all.
  const Evaluator bare(tc.ctx);
  expect_message([&] { (void)bare.mul_relin(top, top); }, "no relinearisation key");
  expect_message([&] { (void)bare.relinearize(bare.mul(top, top)); }, "relinearize: no relinearisation key");
  expect_message([&] { (void)bare.conjugate(top); }, "conjugate: no Galois key for conjugation");
  // Keys of other parameters, or malformed.
  EXPECT_THROW(Evaluator(tc.ctx, &other.evk), InvalidArgument);
  EvaluationKeys broken;
  broken.relin.key = tc.evk.relin.key;
  broken.relin.key.a.pop_back();
  expect_message([&] { Evaluator(tc.ctx, &broken); }, "relinearisation key is malformed");
  // Malformed ciphertexts (parts of different shapes).
  Ciphertext odd = top;
  odd.part(1).truncate(1);
  expect_message([&] { (void)ev.add(odd, top); }, "malformed ciphertext");
  // Decryption of foreign data.
  EXPECT_THROW((void)tc.dec->decrypt(foreign), InvalidArgument);
  EXPECT_THROW((void)tc.enc_pk->encrypt(other.encoder->encode(a, 0, other.scale())), InvalidArgument);
}

}  // namespace
}  // namespace cryptounet::ckks::test
