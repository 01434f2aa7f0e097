// Turns `cryptounet serve --model PATH` arguments into ModelServices. The one place where the
// real encrypted executor gets wired into the server.
#pragma once

#include "server/model_service.h"

#include "cryptounet/distributed/world.h"

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
  /// `serve --mpi`: every run is split across the ranks of this world (latency mode,
  /// workflow/split_infer.h), one run at a time. Rank 0 serves; the other ranks load the same
  /// models with the same options and run serve_split_jobs(). Null: each run in this process.
  distributed::World* split_world = nullptr;
  /// No warnings on stderr (the ranks other than 0 of `serve --mpi`).
  bool quiet = false;
};

/// One ModelService per model file: the ONNX model (and its .card.json if present) is imported,
/// planned, and served by the CKKS encrypted executor. Throws what the importer and planner
/// throw (FormatError for bad model files, InvalidArgument for a model that does not fit),
/// InvalidArgument for two models with the same name.
std::vector<std::shared_ptr<const ModelService>> load_model_services(
    const std::vector<std::string>& model_paths, const ModelLoadOptions& options = {});

/// `serve --mpi`, the ranks other than 0: runs rank 0's split runs (services from
/// load_model_services with the same paths and options) until rank 0 calls stop_split_jobs().
/// Each job brings its ciphertext, and the evaluation keys when they changed; this rank checks
/// them as rank 0 did. An error on any rank ends every rank (World::fail): the others are in the
/// middle of the same run.
void serve_split_jobs(const std::vector<std::shared_ptr<const ModelService>>& services, distributed::World& world);

/// `serve --mpi`, rank 0 at shutdown: the other ranks leave serve_split_jobs(). No-op in a
/// one-rank world.
void stop_split_jobs(distributed::World& world);

}  // namespace cryptounet::server
