// Turns `cryptounet serve --model PATH` arguments into ModelServices. The one place where the
// real encrypted executor gets wired into the server.
#pragma once

#include "server/model_service.h"

#include <memory>
#include <string>
#include <vector>

namespace cryptounet::server {

struct ModelLoadOptions {
  /// false: 128-bit secure parameters chosen by the planner. true: INSECURE, TEST ONLY, without
  /// the 128-bit check (as `plan --insecure-test-params[=LOGN]`): ring degree N =
  /// 2^insecure_test_log_n (10..16), or with 0 the smallest ring that holds an input plane.
  bool insecure_test_params = false;
  int insecure_test_log_n = 0;
  /// Throughput layout: each ciphertext carries as many images as the ring has rows for (the
  /// plan's batch; a client sends fewer padded with zeros). Pays off for volumes, whose slices
  /// then share runs; a single image costs the same run as a full batch. false: latency layout.
  bool throughput = false;
  /// Threads of each model's CKKS context (0 = all cores).
  int threads = 0;
  /// Deserialised evaluation-key sets kept per model (by SHA-256 of the blob).
  std::size_t key_cache_entries = 2;
};

/// One ModelService per model file: the ONNX model (and its .card.json if present) is imported,
/// planned, and served by the CKKS encrypted executor. Throws what the importer and planner
/// throw (FormatError for bad model files, InvalidArgument for a model that does not fit),
/// InvalidArgument for two models with the same name.
std::vector<std::shared_ptr<const ModelService>> load_model_services(
    const std::vector<std::string>& model_paths, const ModelLoadOptions& options = {});

}  // namespace cryptounet::server
