// The plan file the server publishes and the client reads (`cryptounet plan` writes it): the
// CKKS parameter literal, every tensor's layout and value factors, the exact rotation steps,
// the predicted operation counts, and which model it was made for (name and a SHA-256
// fingerprint of the model file and its card). Nothing in it is secret and it holds no weight.
// On disk: the common 32-byte header (kind Plan, the CKKS parameter fingerprint) followed by a
// JSON payload; the reader checks both and rebuilds every layout through DvrLayout::from_parts,
// so a damaged file ends in a FormatError, never in a wrong run.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cryptounet/ckks/params.h"
#include "cryptounet/he/plan/planner.h"

namespace cryptounet::nn {

struct PlanFile {
  Plan plan;
  std::string model_name;         // Graph::name of the planned model
  std::string model_fingerprint;  // model_file_fingerprint() of the planned model (hex)
  // The model card's client-side mask step (Graph::mask_cleanup): the client's default for
  // `--clean-mask`. Written only when it is not none, so plans of other models are unchanged.
  MaskCleanup mask_cleanup = MaskCleanup::none;
};

/// SHA-256 (hex) of the model file followed by its card (models/x.onnx + models/x.card.json, if
/// the card exists): the card's activation ranges change the plan, so both count.
/// @throws IoError if the model cannot be read.
[[nodiscard]] std::string model_file_fingerprint(const std::string& model_path);

/// The checked parameters of a plan (params_literal of he/backends/ckks_backend.h). Throws what
/// ckks::Params::from_literal throws.
[[nodiscard]] ckks::Params plan_params(const Plan& plan);

/// The plan as JSON text (stable field order; doubles round-trip exactly).
[[nodiscard]] std::string plan_to_json(const PlanFile& file);
/// Parses plan_to_json's output. @throws FormatError naming the bad field.
[[nodiscard]] PlanFile plan_from_json(const std::string& text);

/// A 64-bit identifier of the plan (from SHA-256 of its JSON): ciphertext files carry it, so a
/// ciphertext made for one plan is refused under another.
[[nodiscard]] std::uint64_t plan_fingerprint(const PlanFile& file);

/// Header + JSON payload. The header's fingerprint is plan_params(plan).fingerprint().
[[nodiscard]] std::vector<std::uint8_t> encode_plan_file(const PlanFile& file);
/// @throws FormatError (truncated, not a plan, bad JSON, inconsistent fields) or SecurityError
///         (the header's parameter fingerprint does not match the literal inside).
[[nodiscard]] PlanFile decode_plan_file(std::span<const std::uint8_t> bytes,
                                        const std::string& what = "plan");
void write_plan_file(const std::string& path, const PlanFile& file);
[[nodiscard]] PlanFile read_plan_file(const std::string& path);

}  // namespace cryptounet::nn
