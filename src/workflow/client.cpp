#include "cryptounet/workflow/client.h"

#include <span>
#include <string>

#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/encryptor.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/workflow/segment.h"

namespace cryptounet::nn {

ckks::EvaluationKeys make_evaluation_keys(std::shared_ptr<const ckks::Context> ctx, const ckks::SecretKey& sk,
                                          const Plan& plan, const KeyProgress& progress) {
  ckks::KeyGenerator kg(std::move(ctx));
  ckks::EvaluationKeys keys;
  const std::size_t total = plan.rotation_steps.size() + 1;
  keys.relin = kg.relin_key(sk);
  if (progress) progress(1, total);
  // One step at a time, so that a caller can show how far the (seconds to minutes of) work has got.
  std::size_t done = 1;
  for (const int& step : plan.rotation_steps) {
    ckks::GaloisKeys one = kg.galois_keys(sk, std::span<const int>(&step, 1));
    keys.galois.keys.merge(one.keys);
    if (progress) progress(++done, total);
  }
  return keys;
}

Tensor plan_input_tensor(const Plan& plan, const std::string& model_name, const data::Image& image,
                         bool resize, const std::string& what) {
  const packing::DvrLayout& in = plan.input().layout;
  Graph g;  // only the input shape and name are read
  g.name = model_name;
  Node node;
  node.kind = OpKind::Input;
  node.name = "input";
  node.shape = Shape{in.channels(), in.height(), in.width()};
  g.nodes.push_back(node);
  g.output = 0;
  return image_to_input(g, image, resize, what);
}

data::PlaneLimit plan_plane_limit(const Plan& plan, const std::string& model_name, bool resize) {
  const packing::DvrLayout& in = plan.input().layout;
  return data::PlaneLimit{in.width(), in.height(), resize, "model '" + model_name + "'"};
}

namespace {

void check_context(const char* op, const ckks::Context& ctx, const Plan& plan) {
  const ckks::Params& p = ctx.params();
  if (p.log_n() != plan.log_n || p.max_level() + 1 != static_cast<int>(plan.log_q.size()) ||
      p.log_scale() != plan.log_scale)
    throw InvalidArgument(std::string(op) + ": the CKKS context (N=2^" + std::to_string(p.log_n()) +
                          ", " + std::to_string(p.max_level() + 1) +
                          " Q primes) was not made for this plan (N=2^" +
                          std::to_string(plan.log_n) + ", " + std::to_string(plan.log_q.size()) +
                          " Q primes)");
}

}  // namespace

std::vector<ckks::Ciphertext> encrypt_inputs(std::shared_ptr<const ckks::Context> ctx, const ckks::SecretKey& sk,
                                             const Plan& plan, const std::vector<Tensor>& inputs) {
  check_context("encrypt", *ctx, plan);
  const ckks::Encryptor encryptor(ctx, sk);
  const ckks::Encoder enc(ctx);
  std::vector<ckks::Ciphertext> cts;
  for (const auto& s : input_slots(plan, inputs))
    cts.push_back(encryptor.encrypt(enc.encode(s, plan.input_level, ctx->params().default_scale())));
  return cts;
}

std::vector<Tensor> decrypt_outputs(std::shared_ptr<const ckks::Context> ctx, const ckks::SecretKey& sk,
                                    const Plan& plan, const std::vector<ckks::Ciphertext>& outputs) {
  const std::size_t team = plan.output().factor.size();
  if (outputs.size() != team)
    throw InvalidArgument("decrypt: " + std::to_string(outputs.size()) + " ciphertexts, the plan's output has " +
                          std::to_string(team));
  for (const auto& ct : outputs)
    if (ct.level() != plan.output_level || ct.size() != 2)
      throw InvalidArgument("decrypt: output ciphertext of " + std::to_string(ct.size()) + " parts at level " +
                            std::to_string(ct.level()) + ", the plan's output is 2 parts at level " +
                            std::to_string(plan.output_level));
  check_context("decrypt", *ctx, plan);
  const ckks::Decryptor decryptor(ctx, sk);
  const ckks::Encoder enc(ctx);
  std::vector<std::vector<double>> slots;
  for (const auto& ct : outputs) slots.push_back(enc.decode_real(decryptor.decrypt(ct)));
  return output_tensors(plan, slots);
}

}  // namespace cryptounet::nn
