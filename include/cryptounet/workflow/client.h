// The client side of an encrypted run (DESIGN.md §1), from the plan file alone (the client never
// sees the model): keys for exactly the plan's rotations, images packed and encrypted with the
// secret key (seeded: the upload is about half a full ciphertext), and decrypted output slots
// turned back into logits. Everything here needs the secret key; nothing here is for a server.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/data/image.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

/// Called after each key is made: (keys made so far, keys in all), the relinearisation key first.
using KeyProgress = std::function<void(std::size_t done, std::size_t total)>;

/// Relinearisation key plus one Galois key per rotation step of the plan (and nothing more).
[[nodiscard]] ckks::EvaluationKeys make_evaluation_keys(std::shared_ptr<const ckks::Context> ctx,
                                                        const ckks::SecretKey& sk, const Plan& plan,
                                                        const KeyProgress& progress = {});

/// The model's input tensor from an image, knowing only the plan (its input layout). Same rules
/// and message as image_to_input: a size mismatch without `resize` is an InvalidArgument that
/// suggests --resize.
[[nodiscard]] Tensor plan_input_tensor(const Plan& plan, const std::string& model_name,
                                       const data::Image& image, bool resize,
                                       const std::string& what = "image");

/// The image size the plan's model takes, as a reader limit (data/image_file.h): a file declaring
/// another size (or, with `resize`, more than kMaxResampleFactor times it per side) is refused
/// before it is decoded. Pass it to data::read_any_image before plan_input_tensor.
[[nodiscard]] data::PlaneLimit plan_plane_limit(const Plan& plan, const std::string& model_name, bool resize);

/// Packs plan.batch input tensors (input_slots) and encrypts each team member with the secret
/// key at the plan's input level and the default scale. Throws InvalidArgument on a shape or
/// count mismatch, or a key of other parameters.
[[nodiscard]] std::vector<ckks::Ciphertext> encrypt_inputs(std::shared_ptr<const ckks::Context> ctx,
                                                           const ckks::SecretKey& sk, const Plan& plan,
                                                           const std::vector<Tensor>& inputs);

/// Decrypts the output team and returns the logits of each image (output_tensors). Throws
/// InvalidArgument if the count, level or parameters do not match the plan.
[[nodiscard]] std::vector<Tensor> decrypt_outputs(std::shared_ptr<const ckks::Context> ctx,
                                                  const ckks::SecretKey& sk, const Plan& plan,
                                                  const std::vector<ckks::Ciphertext>& outputs);

}  // namespace cryptounet::nn
