// `cryptounet segment`: the whole encrypted chain on one image in one process (plan, keygen,
// encrypt, infer, decrypt) with the time of each phase, the key and ciphertext sizes, and the
// agreement with the plaintext reference. The server half sees only evaluation keys and
// ciphertexts, as over the wire.
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/data/metrics.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/resize.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/pipeline.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/segment.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>

namespace cryptounet::cli {
namespace {

struct SegmentArgs {
  std::string model, image;
  MaskOutputs outputs;
  int threads = 0;
  int slice = -1;
  InsecureParams insecure;
  bool resize = false, report = false, json = false;
};

void setup_segment(CLI::App& root) {
  auto a = std::make_shared<SegmentArgs>();
  CLI::App* cmd = root.add_subcommand(
      "segment", "Segment one image under encryption, the whole client/server chain locally");
  add_model_option(cmd, a->model);
  cmd->add_option("image", a->image, std::string("Input image: ") + kImageFormats)->required();
  add_mask_output_options(cmd, a->outputs, "Also write the decrypted logits (float64, CxHxW) as a .npy file");
  add_slice_option(cmd, a->slice);
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(kNonNegative);
  add_insecure_params_option(cmd, a->insecure, InsecureUse::picks_ring);
  cmd->add_flag("--resize", a->resize, "Resample an image of another size to the model's input");
  cmd->add_flag("--report", a->report, "Also print the per-layer breakdown of the inference");
  add_json_flag(cmd, a->json);
  cmd->callback([a] {
    JsonOutput out(a->json);
    const nn::Graph graph = nn::load_model(a->model);
    const data::Image image = data::read_any_image(a->image, a->slice, nn::model_plane_limit(graph, a->resize));
    const nn::Tensor input = nn::image_to_input(graph, image, a->resize, "image '" + a->image + "'");

    auto t0 = std::chrono::steady_clock::now();
    nn::PlanOptions opt;
    apply_insecure_params(a->insecure, opt);
    nn::Plan plan = nn::make_plan(graph, opt);
    const double plan_s = seconds_since(t0);
    warn_if_insecure(plan);
    std::printf("model %s (%dx%d, depth %d) on %s\n", graph.name.c_str(), graph.input_shape().width,
                graph.input_shape().height, plan.depth, a->image.c_str());
    std::printf("CKKS N=2^%d, %zu+%zu primes, log2(QP) %.0f, %s; %zu rotation keys; %d thread(s)\n",
                plan.log_n, plan.log_q.size(), plan.log_p.size(), plan.log_qp(),
                plan.insecure_for_tests ? "INSECURE test parameters" : "128-bit security",
                plan.rotation_steps.size(), a->threads > 0 ? a->threads : static_cast<int>(std::thread::hardware_concurrency()));
    std::fflush(stdout);

    nn::EncryptedPipeline pipe(graph, plan, ExecOptions{.threads = a->threads});
    nn::ExecReport report;
    const nn::Tensor logits = pipe.run(input, &report, progress_bar_options("infer"));

    t0 = std::chrono::steady_clock::now();
    const nn::Tensor ref = nn::run_reference(graph, input);
    const double ref_s = seconds_since(t0);

    const MaskOutputs& o = a->outputs;
    const data::Mask enc_mask = nn::logits_to_mask(logits, o.threshold);
    const data::Mask ref_mask = nn::logits_to_mask(ref, o.threshold);
    double max_err = 0, max_ref = 0;
    for (std::size_t i = 0; i < ref.data.size(); ++i) {
      max_err = std::max(max_err, std::abs(logits.data[i] - ref.data[i]));
      max_ref = std::max(max_ref, std::abs(ref.data[i]));
    }
    std::size_t same = 0;
    for (std::size_t i = 0; i < enc_mask.values.size(); ++i) same += enc_mask.values[i] == ref_mask.values[i];
    const data::SegmentationMetrics agree = data::segmentation_metrics(enc_mask, ref_mask);

    const data::Mask out_mask =
        write_mask_outputs(o, image, logits, nn::output_mask(logits, o.threshold, o.clean_mask.resolve(graph.mask_cleanup, graph.name)));

    const ckks::Context& ctx = *pipe.context();
    const double ek = static_cast<double>(ckks::save(pipe.evaluation_keys(), ctx).size());
    const double in_b =
        static_cast<double>(ckks::save_ciphertext_set(pipe.last_inputs(), ctx, ckks::SaveOptions{.seeded = true}).size());
    const double out_b =
        static_cast<double>(ckks::save_ciphertext_set(pipe.last_outputs(), ctx).size());
    const nn::PipelineTimes& t = pipe.times();
    if (a->report) print_exec_report(plan, report);
    std::printf("time: plan %.2f s, keygen %.2f s, encrypt %.2f s, infer %.2f s, decrypt %.2f s "
                "(encrypted total %.2f s; plaintext reference %.3f s)\n",
                plan_s, t.keygen, t.encrypt, t.infer, t.decrypt, t.keygen + t.encrypt + t.infer + t.decrypt,
                ref_s);
    std::printf("sizes: evaluation keys %s (seeded), input %s (seeded), output %s; peak RSS %s\n",
                human_bytes(ek).c_str(), human_bytes(in_b).c_str(), human_bytes(out_b).c_str(),
                human_bytes(peak_rss_bytes()).c_str());
    std::printf("ops: %ld key switches (%ld rotations, %ld relinearisations), %ld plaintext products, "
                "%ld constant products, %ld encodings\n",
                report.total.key_switches(), report.total.rotations, report.total.relins,
                report.total.pt_products, report.total.scalar_products, report.total.encodings);
    std::printf("agreement with plaintext: max logit error %.3g (%.3g of max|logit| %.3g), "
                "%.3f%% identical mask pixels, Dice(encrypted, plaintext) %.4f\n",
                max_err, max_ref > 0 ? max_err / max_ref : 0.0, max_ref,
                100.0 * static_cast<double>(same) / static_cast<double>(enc_mask.values.size()), agree.dice);
    const double fg = static_cast<double>(out_mask.count()) / static_cast<double>(out_mask.values.size());
    std::printf("mask: foreground %.1f%% -> %s%s%s\n", 100.0 * fg, o.out.c_str(),
                o.overlay.empty() ? "" : ", overlay -> ", o.overlay.c_str());
    auto& j = out.json();
    j["image"] = a->image;
    j["model"] = graph.name;
    j["mask"] = o.out;
    if (!o.overlay.empty()) j["overlay"] = o.overlay;
    if (!o.logits.empty()) j["logits"] = o.logits;
    j["foreground_fraction"] = fg;
    j["log_n"] = plan.log_n;
    j["security"] = plan.insecure_for_tests ? "insecure_for_tests" : "128-bit";
    j["seconds"] = {{"plan", plan_s}, {"keygen", t.keygen}, {"encrypt", t.encrypt}, {"infer", t.infer},
                    {"decrypt", t.decrypt}, {"plaintext_reference", ref_s}};
    j["bytes"] = {{"eval_keys", ek}, {"input", in_b}, {"output", out_b}};
    j["peak_rss_bytes"] = peak_rss_bytes();
    j["max_logit_error"] = max_err;
    j["max_abs_logit"] = max_ref;
    j["identical_mask_fraction"] = static_cast<double>(same) / static_cast<double>(enc_mask.values.size());
    j["dice_vs_plaintext"] = agree.dice;
    out.emit();
  });
}

Registrar reg("segment", &setup_segment);

}  // namespace
}  // namespace cryptounet::cli
