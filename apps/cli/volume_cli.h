// Shared by `segment-volume` and `evaluate --volume`: the slice model (plaintext reference or the
// encrypted chain), slice ranges, and the progress line with an ETA on stderr.
#pragma once

#include <memory>
#include <string>

#include "cryptounet/data/volume.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/workflow/segment_volume.h"
#include "cli/options.h"

namespace cryptounet::cli {

struct VolumeModelOptions {
  int threads = 0;
  InsecureParams insecure;     // --insecure-test-params[=LOGN]
  std::string mode = "auto";   // auto | latency | throughput
  int expected_slices = 0;     // slices to run (caps a throughput batch); 0 = unknown
  /// Batches run at once, one thread each (--concurrent-slices); 0 or 1 = one batch at a time on
  /// all the threads (the default: on the 2-core machine two brain128 slices at once took 8.99 s per
  /// slice against 5.9 s one at a time on 2 threads, 2026-12-01).
  int concurrent_slices = 0;
  int mux = 0;                 // --mux: throughput images per stride cell side (0 = all that fit)
};

/// How many batches make_encrypted_slice_model runs at once for `o` and a plan of `batch` slices
/// per run: concurrent_slices, at most the number of batches, at least 1. It pays where one
/// inference cannot use all the threads (more cores than its layers divide into).
[[nodiscard]] int volume_slice_workers(const VolumeModelOptions& o, int batch);

/// The encrypted chain as a slice model (keys made once) and the plan it runs; the model and
/// pipeline live as long as the returned object.
struct EncryptedSliceModel {
  nn::SliceModel model;
  nn::Plan plan;
  std::string choice;  // why this layout, for the report
  int workers = 1;     // batches at once (volume_slice_workers); > 1: model.run_all runs them
  std::shared_ptr<void> owner;
};
[[nodiscard]] EncryptedSliceModel make_encrypted_slice_model(const nn::Graph& graph,
                                                             const VolumeModelOptions& o);
[[nodiscard]] nn::SliceModel make_plain_slice_model(const nn::Graph& graph);

/// "A:B" (inclusive) or "" (all) into opts.first/last.
void parse_slice_range(const std::string& text, nn::VolumeOptions& opts);

/// A progress callback: slices done, the last slice, elapsed and ETA, on stderr (one line per
/// slice when stderr is not a terminal). Also the test hook CU_TEST_VOLUME_ABORT_AFTER=K: the
/// process ends abruptly (as with kill -9) after K computed slices.
[[nodiscard]] std::function<void(const nn::VolumeProgress&)> volume_progress(const std::string& label,
                                                                            bool quiet);

}  // namespace cryptounet::cli

namespace cryptounet::cli {

struct VolumeEvalArgs {
  std::string volume, mask, axis = "axial", slices;
  bool plain = false, json = false;
  double threshold = 0.0;
  bool clean_mask = false;
  VolumeModelOptions model;
};
/// `evaluate --volume IMG --mask GT`: volume Dice of the plaintext and the encrypted masks
/// against the ground truth (GT > 0, on IMG's grid), their voxel agreement, time per slice.
void evaluate_volume(const nn::Graph& graph, const std::string& model_path, const VolumeEvalArgs& a);

}  // namespace cryptounet::cli
