#include "cli/client_volume.h"

#include "cli/volume_cli.h"
#include "cli/workflow_util.h"
#include "client/progress.h"
#include "cryptounet/common/error.h"
#include "cryptounet/common/file_io.h"
#include "cryptounet/common/private_directory.h"
#include "cryptounet/common/stopwatch.h"
#include "cryptounet/data/volume.h"
#include "cryptounet/data/volume_slices.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/segment_volume.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

namespace cryptounet::cli {
namespace {
namespace fs = std::filesystem;

/// The model's shapes as the client knows them from the plan: the input node and the output
/// node (segment_volume needs no weights, only what goes in and what comes out).
nn::Graph graph_of_plan(const nn::PlanFile& pf) {
  const auto& in = pf.plan.input().layout;
  const auto& out = pf.plan.output().layout;
  nn::Graph g;
  g.name = pf.model_name;
  nn::Node input;
  input.name = "input";
  input.kind = nn::OpKind::Input;
  input.shape = {in.channels(), in.height(), in.width()};
  nn::Node output;
  output.name = "output";
  output.kind = pf.plan.output().kind;
  output.shape = {out.channels(), out.height(), out.width()};
  output.inputs = {0};
  g.nodes = {input, output};
  g.output = 1;
  return g;
}

/// A read-only memory map of a file, as one string_view (the upload is sent from it without
/// holding the whole job in the process's own memory).
class MappedFile {
 public:
  explicit MappedFile(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd_ < 0 || ::fstat(fd_, &st) != 0) throw IoError("client: cannot read " + path.string());
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (data_ == MAP_FAILED) throw IoError("client: cannot map " + path.string());
    }
  }
  ~MappedFile() {
    if (data_ && data_ != MAP_FAILED) ::munmap(data_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  [[nodiscard]] std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

 private:
  int fd_ = -1;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace

void run_client_volume(client::InferenceClient& c, client::Session& session, const client::ModelInfo& model,
                       client::CkksClientCrypto& crypto, const ClientVolumeArgs& a, JsonOutput& json_out) {
  const auto t_start = std::chrono::steady_clock::now();
  const nn::PlanFile& pf = crypto.plan();
  const nn::Graph graph = graph_of_plan(pf);
  const data::Volume volume = data::read_volume(a.input);
  nn::VolumeOptions opts;
  opts.axis = data::parse_slice_axis(a.axis);
  parse_slice_range(a.slices, opts);
  opts.threshold = a.threshold;
  opts.clean_mask = a.clean_mask;
  opts.probabilities = !a.probabilities.empty();
  opts.normalisation = nn::parse_slice_normalisation(model.normalisation, &opts.percentile);
  if (!a.no_checkpoint) opts.checkpoint_dir = a.checkpoint.empty() ? a.out + ".partial" : a.checkpoint;
  // A resumed run must be for the same server model and plan (keys may differ).
  opts.checkpoint_key = "server model " + model.name + " " + pf.model_fingerprint + " plan " +
                        hex64(nn::plan_fingerprint(pf));
  opts.progress = volume_progress("client", a.quiet);

  const int batch = std::max(1, pf.plan.batch);
  const int per_job = std::max(1, model.max_job_items);
  const std::uint64_t ct_bytes = model.ciphertext.max_bytes;
  // The upload is staged in a file (beside the checkpoint, or the output), not in memory.
  const fs::path stage_dir = opts.checkpoint_dir.empty() ? fs::path(a.out).parent_path() : fs::path(opts.checkpoint_dir);
  const fs::path staged = (stage_dir.empty() ? fs::path(".") : stage_dir) /
                          (fs::path(a.out).filename().string() + ".upload");
  int jobs = 0;
  nn::SliceModel remote;
  remote.name = "server";
  remote.batch = batch;
  remote.run_all = [&](std::vector<std::vector<nn::Tensor>> batches, const nn::SliceModel::BatchDone& done) {
    for (std::size_t first = 0; first < batches.size(); first += static_cast<std::size_t>(per_job)) {
      const std::size_t count = std::min(batches.size() - first, static_cast<std::size_t>(per_job));
      if (!stage_dir.empty()) make_private_directory(stage_dir);
      {
        std::FILE* f = std::fopen(staged.c_str(), "wb");
        if (!f) throw IoError("client: cannot write " + staged.string());
        struct Close {
          std::FILE* f;
          ~Close() { std::fclose(f); }
        } close{f};
        for (std::size_t b = 0; b < count; ++b) {
          std::vector<nn::Tensor> inputs = batches[first + b];
          while (inputs.size() < static_cast<std::size_t>(batch)) inputs.emplace_back(inputs.front().shape);
          const std::string blob = crypto.encrypt_inputs(inputs);
          if (blob.size() != ct_bytes)
            throw FormatError("client: a ciphertext of " + std::to_string(blob.size()) + " bytes; the server takes " +
                              std::to_string(ct_bytes));
          if (std::fwrite(blob.data(), 1, blob.size(), f) != blob.size())
            throw IoError("client: cannot write " + staged.string() + " (disk full?)");
          if (!a.quiet)
            std::fprintf(stderr, "client: encrypted %zu/%zu ciphertext(s) of %d slice(s)\n", b + 1, count, batch);
        }
        if (std::fflush(f) != 0) throw IoError("client: cannot write " + staged.string() + " (disk full?)");
      }
      std::string job;
      {
        const MappedFile body(staged);
        job = c.submit_items(session, body.view(), static_cast<int>(count), {},
                             a.quiet ? client::ByteProgress{} : client::stderr_progress("client: uploading the job"));
      }
      std::error_code ec;
      fs::remove(staged, ec);
      ++jobs;
      if (!a.quiet)
        std::fprintf(stderr, "client: job %s: %zu ciphertext(s), %zu slice(s) at most; the server runs them in order\n",
                     job.c_str(), count, count * static_cast<std::size_t>(batch));
      // Fetch each item as soon as the server has it: decrypted, handed to segment_volume (which
      // checkpoints the slices), so a client killed now keeps what it has.
      std::size_t fetched = 0;
      std::string last_stage;
      const bool tty = isatty(fileno(stderr)) != 0;
      for (;;) {
        const client::JobStatus s = c.status(session, job);
        if (s.items != static_cast<int>(count))
          throw FormatError("client: the server reports " + std::to_string(s.items) + " items for a job of " +
                            std::to_string(count));
        for (; fetched < static_cast<std::size_t>(s.items_done); ++fetched) {
          std::vector<nn::Tensor> logits = crypto.decrypt_batch(c.item_result(session, job, static_cast<int>(fetched)));
          logits.resize(batches[first + fetched].size(), nn::Tensor{});
          done(first + fetched, std::move(logits));
        }
        if (s.state == "failed")
          throw client::ServerError(422, "the volume job " + job + " failed on the server: " + s.error);
        if (s.state == "done" && fetched == count) break;
        if (tty && !a.quiet && s.stage != last_stage) {
          std::fprintf(stderr, "\rclient: server %-48s %3.0f%%", s.stage.substr(0, 48).c_str(), 100 * s.progress);
          std::fflush(stderr);
          last_stage = s.stage;
        }
        std::this_thread::sleep_for(c.options().poll_interval);
      }
      if (tty && !a.quiet) std::fprintf(stderr, "\n");
    }
  };

  if (!a.quiet)
    std::fprintf(stderr, "%s: %dx%dx%d voxels, %s slices -> server model %s (N=2^%d%s, %d slice(s) per ciphertext); "
                         "normalisation %s\n",
                 a.input.c_str(), volume.geometry.dim[0], volume.geometry.dim[1], volume.geometry.dim[2], a.axis.c_str(),
                 model.name.c_str(), pf.plan.log_n, pf.plan.insecure_for_tests ? " INSECURE" : "", batch,
                 model.normalisation.empty() ? "min-max (no card entry)" : model.normalisation.c_str());
  const nn::VolumeResult r = nn::segment_volume(graph, volume, remote, opts);
  data::write_nifti(a.out, volume.geometry, r.mask, data::VoxelType::uint8,
                    "cryptounet " + graph.name + " mask (" + a.axis + ")");
  if (opts.probabilities)
    data::write_nifti(a.probabilities, volume.geometry, r.probabilities, data::VoxelType::float32,
                      "cryptounet " + graph.name + " probability");
  if (!opts.checkpoint_dir.empty()) {
    std::error_code ec;
    fs::remove_all(opts.checkpoint_dir, ec);
  }
  std::size_t fg = 0;
  for (float v : r.mask) fg += v != 0;
  const double wall = seconds_since(t_start);
  auto& j = json_out.json();
  j["input"] = a.input;
  j["output"] = a.out;
  j["server_model"] = model.name;
  j["session"] = session.id;
  j["jobs"] = jobs;
  j["slices"] = r.slices;
  j["empty"] = r.empty;
  j["resumed"] = r.resumed;
  j["computed"] = r.computed;
  j["slices_per_ciphertext"] = batch;
  j["wall_seconds"] = wall;
  j["foreground_voxels"] = fg;
  if (opts.probabilities) j["probabilities"] = a.probabilities;
  if (!json_out.on()) {
    std::printf("%d slices: %d computed on the server (%d job(s)), %d resumed from the checkpoint, %d empty; "
                "foreground %zu voxels; wall %.1f s\n",
                r.slices, r.computed, jobs, r.resumed, r.empty, fg, wall);
    std::printf("mask -> %s%s%s\n", a.out.c_str(), opts.probabilities ? ", probabilities -> " : "",
                a.probabilities.c_str());
  }
  std::fflush(stdout);
  json_out.emit();
}

}  // namespace cryptounet::cli
