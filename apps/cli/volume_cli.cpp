#include "cli/volume_cli.h"

#include "cli/workflow_util.h"
#include "cryptounet/common/error.h"
#include "cryptounet/workflow/pipeline.h"
#include "cryptounet/workflow/server_infer.h"
#include "cryptounet/model/ref_executor.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

namespace cryptounet::cli {

nn::SliceModel make_plain_slice_model(const nn::Graph& graph) {
  nn::SliceModel m;
  m.name = "plaintext";
  m.batch = 1;
  m.run = [&graph](const std::vector<nn::Tensor>& in) {
    std::vector<nn::Tensor> out;
    for (const nn::Tensor& t : in) out.push_back(nn::run_reference(graph, t));
    return out;
  };
  return m;
}

namespace {

// Runs `workers` batches at a time: each worker thread takes the next batch, encrypts it (one at
// a time, under the lock: the pipeline's client half is not shared), infers it on its own thread
// (the context has a one-thread pool, so every worker computes inline and the pipeline's encode
// cache, which is thread-safe, serves all of them), and queues the result; the calling thread
// decrypts each result and hands it to `done`, as SliceModel::run_all requires. The first error
// stops the workers from taking more batches and is rethrown once they have finished.
void run_concurrently(const std::shared_ptr<nn::EncryptedPipeline>& pipe, const nn::Graph& graph, int workers,
                      std::vector<std::vector<nn::Tensor>> batches, const nn::SliceModel::BatchDone& done) {
  struct Result {
    std::size_t batch;
    std::vector<ckks::Ciphertext> out;
  };
  std::mutex m;
  std::condition_variable ready;
  std::deque<Result> results;
  std::size_t next = 0, finished = 0;
  std::exception_ptr error;
  auto work = [&] {
    for (;;) {
      std::size_t b;
      std::vector<ckks::Ciphertext> in;
      {
        std::lock_guard<std::mutex> lock(m);
        if (error || next >= batches.size()) return;
        b = next++;
        try {
          in = pipe->encrypt_batch(batches[b]);
        } catch (...) {
          error = std::current_exception();
          ready.notify_all();
          return;
        }
      }
      try {
        nn::RunOptions o;
        o.encodings = &pipe->encodings();
        auto out = nn::infer_encrypted(pipe->context(), graph, pipe->plan(), pipe->evaluation_keys(), std::move(in),
                                       nullptr, o);
        std::lock_guard<std::mutex> lock(m);
        results.push_back({b, std::move(out)});
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!error) error = std::current_exception();
      }
      ready.notify_all();
    }
  };
  std::vector<std::thread> threads;
  const std::size_t n = std::min(batches.size(), static_cast<std::size_t>(workers));
  for (std::size_t i = 0; i < n; ++i) threads.emplace_back(work);
  auto stop_and_join = [&] {
    {
      std::lock_guard<std::mutex> lock(m);
      if (!error) error = std::make_exception_ptr(InvalidArgument("segment-volume: stopped"));
    }
    for (auto& t : threads) t.join();
  };
  try {
    while (finished < batches.size()) {
      Result r;
      {
        std::unique_lock<std::mutex> lock(m);
        ready.wait(lock, [&] { return !results.empty() || error; });
        if (results.empty()) break;  // an error: batches still running are dropped, the run ends with it
        r = std::move(results.front());
        results.pop_front();
      }
      done(r.batch, pipe->decrypt_batch(r.out, batches[r.batch].size()));
      ++finished;
    }
  } catch (...) {
    stop_and_join();
    throw;
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

int volume_slice_workers(const VolumeModelOptions& o, int batch) {
  const int batches = o.expected_slices > 0 ? (o.expected_slices + batch - 1) / batch : 1;
  const int wanted = o.concurrent_slices > 0 ? o.concurrent_slices : 1;
  return std::max(1, std::min(wanted, batches));
}

EncryptedSliceModel make_encrypted_slice_model(const nn::Graph& graph, const VolumeModelOptions& o) {
  nn::PlanOptions opt;
  apply_insecure_params(o.insecure, opt);
  if (o.mode != "auto" && o.mode != "latency" && o.mode != "throughput")
    throw InvalidArgument("--mode '" + o.mode + "': expected auto, latency or throughput");
  EncryptedSliceModel r;
  char buf[256];
  if (o.mode != "throughput") r.plan = nn::make_plan(graph, opt);
  if (o.mode != "latency") {
    // Throughput: one slice per row, as many rows as the ring has, and after each pooling up to
    // q x q slices per stride cell (q = 1, 2, 4, ... up to --mux and what the model's poolings
    // allow); a batch holds no more than the slices. Of these, the plan with the least predicted
    // cost for all the slices (runs x cost per run) is kept.
    nn::Plan tp;
    double thr_total = 0.0;
    const int slices = std::max(o.expected_slices, 1);
    for (int q = 1; q <= plan_mux(o.mux); q *= 2) {
      nn::PlanOptions t = opt;
      t.mode = packing::PackingMode::throughput;
      t.batch = 0;
      t.mux = q;
      nn::Plan cand;
      try {
        cand = nn::make_plan(graph, t);
        if (o.expected_slices > 0 && cand.batch > o.expected_slices) {
          t.batch = o.expected_slices;
          cand = nn::make_plan(graph, t);
        }
      } catch (const Error&) {
        if (o.mode == "throughput" && q == 1) throw;
        break;
      }
      const double runs = std::ceil(static_cast<double>(slices) / cand.batch);
      const double total = runs * nn::predicted_cost_per_image(cand) * cand.batch;
      if (tp.log_n == 0 || total < thr_total) {
        tp = cand;
        thr_total = total;
      }
      if (cand.input().layout.groups() < q * q) break;  // the model (or the slice count) allows no more
    }
    if (o.mode == "throughput") {
      r.plan = tp;
      std::snprintf(buf, sizeof buf, "throughput layout (--mode throughput): %d slices per run%s", tp.batch,
                    tp.input().layout.groups() > 1 ? " (multiplexed after pooling)" : "");
      r.choice = buf;
    } else if (tp.log_n != 0) {
      const double lat = nn::predicted_cost_per_image(r.plan), thr = thr_total / slices;
      const bool use_thr = thr < lat;
      std::snprintf(buf, sizeof buf,
                    "%s layout: predicted cost per slice %.0f (latency, N=2^%d) vs %.0f (throughput, %d per run%s, N=2^%d)",
                    use_thr ? "throughput" : "latency", lat, r.plan.log_n, thr, tp.batch,
                    tp.input().layout.groups() > 1 ? ", multiplexed" : "", tp.log_n);
      r.choice = buf;
      if (use_thr) r.plan = tp;
    }
  }
  if (r.choice.empty()) r.choice = "latency layout (one slice per run)";
  warn_if_insecure(r.plan);
  r.workers = volume_slice_workers(o, r.plan.batch);
  // Several batches at once run one thread each (the pool is the context's, one per pipeline).
  const int pool_threads = r.workers > 1 ? 1 : o.threads;
  auto pipe = std::make_shared<nn::EncryptedPipeline>(graph, r.plan, ExecOptions{.threads = pool_threads}, true);
  r.owner = pipe;
  r.model.name = "encrypted";
  r.model.batch = r.plan.batch;
  r.model.run = [pipe](const std::vector<nn::Tensor>& in) { return pipe->run_batch(in); };
  if (r.workers > 1) {
    const int workers = r.workers;
    r.model.run_all = [pipe, &graph, workers](std::vector<std::vector<nn::Tensor>> batches,
                                              const nn::SliceModel::BatchDone& done) {
      run_concurrently(pipe, graph, workers, std::move(batches), done);
    };
  }
  return r;
}

void parse_slice_range(const std::string& text, nn::VolumeOptions& opts) {
  if (text.empty()) return;
  const auto colon = text.find(':');
  try {
    std::size_t used = 0;
    if (colon == std::string::npos) {
      opts.first = opts.last = std::stoi(text, &used);
      if (used != text.size()) throw std::invalid_argument("trailing");
    } else {
      const std::string a = text.substr(0, colon), b = text.substr(colon + 1);
      opts.first = std::stoi(a, &used);
      if (used != a.size()) throw std::invalid_argument("trailing");
      opts.last = std::stoi(b, &used);
      if (used != b.size()) throw std::invalid_argument("trailing");
    }
  } catch (const std::logic_error&) {
    throw InvalidArgument("--slices '" + text + "': expected FIRST:LAST (inclusive) or one slice index");
  }
  if (opts.first < 0 || opts.last < opts.first)
    throw InvalidArgument("--slices '" + text + "': expected 0 <= FIRST <= LAST");
}

namespace {
std::string clock_text(double s) {
  if (s < 0) return "?";
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}
}  // namespace

std::function<void(const nn::VolumeProgress&)> volume_progress(const std::string& label, bool quiet) {
  long abort_after = -1;
  if (const char* e = std::getenv("CU_TEST_VOLUME_ABORT_AFTER")) abort_after = std::atol(e);
  const bool tty = isatty(fileno(stderr)) != 0;
  return [label, quiet, tty, abort_after](const nn::VolumeProgress& p) {
    if (!quiet) {
      std::fprintf(stderr, "%s%s slice %d: %d/%d done (%d computed), %s elapsed, ETA %s%s", tty ? "\r" : "",
                   label.c_str(), p.last_slice, p.done, p.total, p.computed, clock_text(p.elapsed_s).c_str(),
                   clock_text(p.eta_s).c_str(), tty ? "   " : "\n");
      if (tty && p.done == p.total) std::fprintf(stderr, "\n");
      std::fflush(stderr);
    }
    if (abort_after >= 0 && p.computed >= abort_after) std::_Exit(137);
  };
}

}  // namespace cryptounet::cli

namespace cryptounet::cli {

void evaluate_volume(const nn::Graph& graph, const std::string& model_path, const VolumeEvalArgs& a) {
  const data::Volume volume = data::read_volume(a.volume);
  const data::Volume truth = data::read_volume(a.mask);
  if (truth.geometry.dim != volume.geometry.dim)
    throw InvalidArgument("evaluate: --mask '" + a.mask + "' is " + std::to_string(truth.geometry.dim[0]) + "x" +
                          std::to_string(truth.geometry.dim[1]) + "x" + std::to_string(truth.geometry.dim[2]) +
                          ", the volume " + std::to_string(volume.geometry.dim[0]) + "x" +
                          std::to_string(volume.geometry.dim[1]) + "x" + std::to_string(volume.geometry.dim[2]));
  nn::VolumeOptions opts;
  opts.axis = data::parse_slice_axis(a.axis);
  parse_slice_range(a.slices, opts);
  opts.threshold = a.threshold;
  opts.clean_mask = a.clean_mask;
  opts.normalisation = nn::parse_slice_normalisation(nn::read_card_normalisation(model_path), &opts.percentile);

  // Voxels in the evaluated slice range.
  const data::SliceView view(volume.geometry, opts.axis);
  const int last = opts.last < 0 ? view.count() - 1 : opts.last;
  std::vector<float> in_range(volume.voxels.size(), 0.0f);
  if (opts.first >= 0 && opts.first <= last && last < view.count()) {
    const std::vector<float> ones(static_cast<std::size_t>(view.width()) * view.height(), 1.0f);
    for (int s = opts.first; s <= last; ++s) view.insert(in_range, s, ones);
  }
  auto dice = [&](const std::vector<float>& m) {
    double both = 0, a_n = 0, b_n = 0;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (in_range[i] == 0) continue;
      const bool p = m[i] != 0, t = truth.voxels[i] > 0;
      both += p && t;
      a_n += p;
      b_n += t;
    }
    return a_n + b_n > 0 ? 2 * both / (a_n + b_n) : 1.0;
  };

  opts.progress = volume_progress("plaintext", a.json);
  const nn::VolumeResult plain = nn::segment_volume(graph, volume, make_plain_slice_model(graph), opts);
  nlohmann::json j = {{"volume", a.volume},
                      {"mask", a.mask},
                      {"axis", a.axis},
                      {"slices", plain.slices},
                      {"empty_slices", plain.empty},
                      {"plaintext", {{"dice", dice(plain.mask)}, {"seconds_per_slice", plain.computed ? plain.seconds / plain.computed : 0.0}}}};
  if (!a.plain) {
    VolumeModelOptions mo = a.model;
    mo.expected_slices = plain.slices;
    EncryptedSliceModel enc = make_encrypted_slice_model(graph, mo);
    opts.progress = volume_progress("encrypted", a.json);
    const nn::VolumeResult e = nn::segment_volume(graph, volume, enc.model, opts);
    std::size_t same = 0, n = 0;
    for (std::size_t i = 0; i < e.mask.size(); ++i)
      if (in_range[i] != 0) {
        ++n;
        same += e.mask[i] == plain.mask[i];
      }
    j["encrypted"] = {{"dice", dice(e.mask)},
                      {"seconds_per_slice", e.computed ? e.seconds / e.computed : 0.0},
                      {"log_n", enc.plan.log_n},
                      {"batch", enc.plan.batch},
                      {"security", enc.plan.insecure_for_tests ? "insecure_for_tests" : "128-bit"}};
    j["dice_difference"] = dice(e.mask) - dice(plain.mask);
    j["voxel_agreement"] = n ? static_cast<double>(same) / static_cast<double>(n) : 1.0;
  }
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("volume %s, %d %s slices (%d empty): plaintext Dice %.5f", a.volume.c_str(), plain.slices,
              a.axis.c_str(), plain.empty, j["plaintext"]["dice"].get<double>());
  if (!a.plain)
    std::printf(", encrypted Dice %.5f (difference %+.2e), %.4f%% voxels identical; %.2f s per encrypted slice",
                j["encrypted"]["dice"].get<double>(), j["dice_difference"].get<double>(),
                100.0 * j["voxel_agreement"].get<double>(), j["encrypted"]["seconds_per_slice"].get<double>());
  std::printf("\n");
}

}  // namespace cryptounet::cli
