// `cryptounet segment-volume`: a NIfTI volume or DICOM series through a 2-D model slice by
// slice, encrypted (the whole client/server chain locally, keys made once) or in plaintext, into
// a NIfTI mask with the input's geometry. Finished slices are kept in OUT.partial/ so an
// interrupted run resumes; the folder is removed when the output is written. Under `mpirun -np R`
// rank 0 does all of that and the batches of slices are shared across the ranks (dynamic work
// queue): rank 0 encrypts and decrypts, any rank infers; the result is the one-process result.
#include "cli/cmd_segment_volume_mpi.h"
#include "cli/command.h"
#include "cli/options.h"
#include "cli/volume_cli.h"
#include "cli/workflow_util.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/volume.h"
#include "cryptounet/distributed/world.h"
#include "cryptounet/data/volume_slices.h"
#include "cryptounet/model/model_card.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/segment_volume.h"
#include "cryptounet/workflow/segment_volume_mpi.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace cryptounet::cli {
namespace {

struct SegmentVolumeArgs {
  std::string model, input, out, probabilities, axis = "axial", slices, checkpoint, mode = "auto";
  bool plaintext = false, json = false, no_checkpoint = false, quiet = false;
  int threads = 0;
  int concurrent_slices = 0;
  int mux = 0;
  InsecureParams insecure;
  double threshold = 0.0;
  CleanMaskChoice clean_mask;
};

// Ranks other than 0 (MPI): the model, then rank 0's plan and keys, then batches until none is left.
void serve_volume(const SegmentVolumeArgs& a, distributed::World& world) {
  const std::string model_path = world.shared_file(a.model, std::uint64_t{1} << 31);
  const nn::Graph graph = nn::load_model(model_path);
  world.barrier();  // rank 0 reads the volume and makes the keys meanwhile (no spinning here)
  const distributed::Bytes setup = world.broadcast({});
  serve_volume_batches(world, graph, setup, a.plaintext, world.threads_per_rank(a.threads));
  world.barrier();  // rank 0 has written the output
}

// The one-process command, and rank 0 under MPI.
void segment_volume_rank0(const SegmentVolumeArgs& a_, distributed::World& world) {
  const SegmentVolumeArgs* a = &a_;
  const auto t_start = std::chrono::steady_clock::now();
  if (!std::filesystem::is_regular_file(a->model)) throw InvalidArgument("--model: no such file: " + a->model);
  const bool mpi = world.distributed();
  const nn::Graph graph = nn::load_model(mpi ? world.shared_file(a->model, std::uint64_t{1} << 31) : a->model);
  const data::Volume volume = data::read_volume(a->input);
  nn::VolumeOptions opts;
  opts.axis = data::parse_slice_axis(a->axis);
  parse_slice_range(a->slices, opts);
  opts.threshold = a->threshold;
  opts.clean_mask = a->clean_mask.resolve(graph.mask_cleanup, graph.name);
  opts.probabilities = !a->probabilities.empty();
  const std::string card_norm = nn::read_card_normalisation(a->model);
  opts.normalisation = nn::parse_slice_normalisation(card_norm, &opts.percentile);
  if (!a->no_checkpoint) opts.checkpoint_dir = a->checkpoint.empty() ? a->out + ".partial" : a->checkpoint;

  const data::SliceView view(volume.geometry, opts.axis);
  const int expected = (opts.last < 0 ? view.count() - 1 : opts.last) - opts.first + 1;
  const int threads = mpi ? world.threads_per_rank(a->threads) : a->threads;
  nn::SliceModel model;
  EncryptedSliceModel enc;
  std::string method = "plaintext";
  if (a->plaintext) {
    model = make_plain_slice_model(graph);
  } else {
    // Under MPI the ranks share the batches; each rank's inference uses its threads.
    enc = make_encrypted_slice_model(graph, {threads, a->insecure, a->mode, expected, mpi ? 1 : a->concurrent_slices,
                                             a->mux});
    model = enc.model;
    method = "encrypted N=2^" + std::to_string(enc.plan.log_n) + (enc.plan.insecure_for_tests ? " INSECURE" : "") +
             ", batch " + std::to_string(enc.plan.batch);
  }
  nn::VolumeQueueReport queue;
  std::size_t setup_bytes = 0;
  if (mpi) {
    // The other ranks get the plan and evaluation keys once; then the batches go through the queue.
    auto pipe = a->plaintext ? nullptr : std::static_pointer_cast<nn::EncryptedPipeline>(enc.owner);
    distributed::Bytes setup = pipe ? encrypted_volume_setup(*pipe, graph) : distributed::Bytes{};
    setup_bytes = setup.size();
    world.barrier();
    (void)world.broadcast(std::move(setup));
    model = nn::distributed_slice_model(world, pipe ? encrypted_remote_model(pipe, graph) : plain_remote_model(graph),
                                        &queue);
  }
  // A resumed run must use the same method and parameters; keys may differ (fresh ones each run).
  opts.checkpoint_key = method;
  opts.progress = volume_progress("segment-volume", a->quiet);

  if (!a->quiet)
    std::fprintf(stderr, "%s: %dx%dx%d voxels (%s), %d %s slices of %dx%d -> model %s %dx%d, %s; normalisation %s\n",
                 a->input.c_str(), volume.geometry.dim[0], volume.geometry.dim[1], volume.geometry.dim[2],
                 data::volume_orientation(volume.geometry).code().c_str(), view.count(), a->axis.c_str(),
                 view.width(), view.height(), graph.name.c_str(), graph.input_shape().width,
                 graph.input_shape().height, method.c_str(),
                 card_norm.empty() ? "min-max (no card entry)" : card_norm.c_str());
  if (!enc.choice.empty() && !a->quiet) std::fprintf(stderr, "packing: %s\n", enc.choice.c_str());
  if (enc.workers > 1 && !a->quiet)
    std::fprintf(stderr, "%d batches at a time, one thread each (--concurrent-slices)\n", enc.workers);
  if (mpi && !a->quiet)
    std::fprintf(stderr, "MPI: %d ranks, %d thread(s) each; rank 0 encrypts and decrypts, every rank infers\n",
                 world.size(), threads);

  const nn::VolumeResult r = nn::segment_volume(graph, volume, model, opts);
  const std::string descrip = "cryptounet " + graph.name + " mask (" + a->axis + ")";
  data::write_nifti(a->out, volume.geometry, r.mask, data::VoxelType::uint8, descrip);
  if (opts.probabilities)
    data::write_nifti(a->probabilities, volume.geometry, r.probabilities, data::VoxelType::float32,
                      "cryptounet " + graph.name + " probability");
  if (!opts.checkpoint_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(opts.checkpoint_dir, ec);
  }
  std::size_t fg = 0;
  for (float v : r.mask) fg += v != 0;
  const double wall = seconds_since(t_start);
  const double per = r.computed > 0 ? r.seconds / r.computed : 0.0;
  if (a->json) {
    nlohmann::json j = {
        {"input", a->input},
        {"output", a->out},
        {"dims", volume.geometry.dim},
        {"orientation", r.orientation},
        {"axis", a->axis},
        {"method", method},
        {"slices", r.slices},
        {"empty", r.empty},
        {"resumed", r.resumed},
        {"computed", r.computed},
        {"model_seconds", r.seconds},
        {"seconds_per_computed_slice", per},
        {"wall_seconds", wall},
        {"foreground_voxels", fg},
        {"peak_rss_bytes", peak_rss_bytes()},
    };
    if (!a->plaintext)
      j["ckks"] = {{"log_n", enc.plan.log_n},
                   {"batch", enc.plan.batch},
                   {"mode", enc.plan.mode == packing::PackingMode::throughput ? "throughput" : "latency"},
                   {"concurrent_batches", enc.workers},
                   {"security", enc.plan.insecure_for_tests ? "insecure_for_tests" : "128-bit"}};
    if (opts.probabilities) j["probabilities"] = a->probabilities;
    if (mpi)
      j["mpi"] = {{"ranks", world.size()},
                  {"threads_per_rank", threads},
                  {"batches", queue.batches},
                  {"plan_and_keys_bytes", setup_bytes},
                  {"batches_per_rank", queue.stats.items_per_rank},
                  {"busy_seconds_per_rank", queue.stats.busy_s_per_rank},
                  {"bytes_sent", queue.stats.bytes_sent},
                  {"bytes_received", queue.stats.bytes_received}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%d slices: %d computed (%.2f s each), %d resumed from the checkpoint, %d empty; "
                "foreground %zu voxels; wall %.1f s, peak RSS %s\n",
                r.slices, r.computed, per, r.resumed, r.empty, fg, wall, human_bytes(peak_rss_bytes()).c_str());
    std::printf("mask -> %s%s%s\n", a->out.c_str(), opts.probabilities ? ", probabilities -> " : "",
                a->probabilities.c_str());
    if (mpi) {
      std::printf("%d ranks x %d thread(s): batches per rank", world.size(), threads);
      for (std::size_t r = 0; r < queue.stats.items_per_rank.size(); ++r)
        std::printf(" %zu (%.1f s busy)", queue.stats.items_per_rank[r], queue.stats.busy_s_per_rank[r]);
      std::printf("; plan and keys broadcast once (%s); rank 0 sent %s, received %s in batches\n",
                  human_bytes(static_cast<double>(setup_bytes)).c_str(),
                  human_bytes(static_cast<double>(queue.stats.bytes_sent)).c_str(),
                  human_bytes(static_cast<double>(queue.stats.bytes_received)).c_str());
    }
  }
  std::fflush(stdout);
  world.barrier();  // the other ranks wait for the output (no-op in one process)
}

void setup_segment_volume(CLI::App& root) {
  auto a = std::make_shared<SegmentVolumeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "segment-volume",
      "Segment a NIfTI volume or DICOM series slice by slice under encryption into a NIfTI mask");
  cmd->add_option("--model", a->model,
                  "ONNX model (its .card.json beside it is read if present; under MPI read by each rank, ranks "
                  "that cannot read the path get rank 0's copy)")
      ->required();
  cmd->add_option("input", a->input, "NIfTI file (.nii, .nii.gz) or DICOM series folder")->required();
  cmd->add_option("-o,--out", a->out, "Mask to write (.nii or .nii.gz, uint8 0/1, the input's geometry)")
      ->required();
  cmd->add_option("--probabilities", a->probabilities,
                  "Also write the foreground probability per voxel here (.nii/.nii.gz, float32)");
  cmd->add_option("--axis", a->axis, "Slice axis: axial, coronal or sagittal")
      ->check(CLI::IsMember({"axial", "coronal", "sagittal"}));
  cmd->add_option("--slices", a->slices, "Only slices FIRST:LAST (inclusive, along --axis); the rest stay 0");
  cmd->add_flag("--plaintext", a->plaintext, "The plaintext reference model, no encryption");
  cmd->add_option("--mode", a->mode,
                  "Packing: auto (the planner's predicted cost per slice), latency or throughput")
      ->check(CLI::IsMember({"auto", "latency", "throughput"}));
  add_mux_option(cmd, a->mux);
  cmd->add_option("--checkpoint", a->checkpoint, "Checkpoint folder (default OUT.partial)");
  cmd->add_flag("--no-checkpoint", a->no_checkpoint, "Keep no checkpoint (an interrupted run starts over)");
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores; under MPI the cores of a host are divided among its ranks)")->check(kNonNegative);
  cmd->add_option("--concurrent-slices", a->concurrent_slices,
                  "Slices (batches) inferred at once, one thread each (default 1: one at a time on all "
                  "--threads; ignored under MPI)")
      ->check(kNonNegative);
  cmd->add_option("--threshold", a->threshold, "Logit threshold for 1-channel heads (0 = p 0.5)");
  add_clean_mask_flag(cmd, a->clean_mask);
  add_insecure_params_option(cmd, a->insecure, InsecureUse::picks_ring);
  cmd->add_flag("--json", a->json, "Print a JSON summary on stdout (progress stays on stderr)");
  cmd->add_flag("--quiet", a->quiet, "No progress lines");
  cmd->callback([a] {
    distributed::World& world = distributed::World::get();
    distributed::run_or_fail(world, [&] {
      if (world.rank() == 0)
        segment_volume_rank0(*a, world);
      else
        serve_volume(*a, world);
    });
  });
}

Registrar reg("segment-volume", &setup_segment_volume);

}  // namespace
}  // namespace cryptounet::cli
