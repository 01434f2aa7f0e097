#include "cli/workflow_util.h"

#include "client/security_policy.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace cryptounet::cli {

std::string human_bytes(double b) {
  char buf[64];
  if (b >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  else if (b >= 1024.0)
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

double peak_rss_bytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;  // Linux: KiB
}

nn::PlanFile read_client_plan(const std::string& path, const InsecureParams& insecure) {
  nn::PlanFile pf = nn::read_plan_file(path);
  check_insecure_ring(insecure, pf.plan.log_n, "plan '" + path + "'");
  client::check_plan_security(pf.plan, insecure.given, "plan '" + path + "'");
  return pf;
}

void warn_if_insecure(const nn::Plan& plan) {
  if (plan.insecure_for_tests)
    std::fprintf(stderr,
                 "WARNING: this plan uses INSECURE test parameters (N=2^%d, no 128-bit "
                 "guarantee): for tests and quick demos only, never for real data\n",
                 plan.log_n);
}

nn::RunOptions progress_bar_options(const std::string& label) {
  nn::RunOptions o;
  if (!isatty(fileno(stderr))) return o;
  auto t0 = std::chrono::steady_clock::now();
  o.progress = [label, t0](int done, int total, const std::string& name) {
    const int width = 30;
    const int fill = total > 0 ? done * width / total : width;
    std::fprintf(stderr, "\r%s [%.*s%*s] %d/%d %-16.16s %6.1f s", label.c_str(), fill,
                 "##############################", width - fill, "", done, total, name.c_str(),
                 seconds_since(t0));
    if (done == total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
  return o;
}

void print_exec_report(const nn::Plan& plan, const nn::ExecReport& r) {
  std::printf("%-4s %-18s %-16s %5s %9s %6s %6s %6s %8s %8s %6s %7s\n", "#", "node", "op", "level",
              "seconds", "share", "rot", "relin", "pt*ct", "const*ct", "enc", "rescale");
  for (const nn::LayerReport& l : r.layers) {
    std::printf("%-4d %-18.18s %-16s %5d %9.3f %5.1f%% %6ld %6ld %6ld %8ld %8ld %6ld\n", l.node,
                l.name.c_str(), nn::op_name(l.kind), l.level, l.seconds,
                r.seconds > 0 ? 100.0 * l.seconds / r.seconds : 0.0, l.counts.rotations,
                l.counts.relins, l.counts.pt_products, l.counts.scalar_products,
                l.counts.encodings, l.counts.rescales);
  }
  const nn::OpCounts& t = r.total;
  std::printf("%-4s %-18s %-16s %5s %9.3f %6s %6ld %6ld %6ld %8ld %8ld %6ld\n", "", "total", "", "",
              r.seconds, "", t.rotations, t.relins, t.pt_products, t.scalar_products, t.encodings,
              t.rescales);
  bool same = r.total == plan.total && r.layers.size() == plan.layers.size();
  for (std::size_t i = 0; same && i < r.layers.size(); ++i)
    same = r.layers[i].counts == plan.layers[i].predicted;
  std::printf("key switches %ld (%ld rotations, %ld hoisted in %ld groups; %ld relinearisations); "
              "operation counts %s the plan's\n",
              t.key_switches(), t.rotations, t.hoisted_rotations, t.hoisted_groups, t.relins,
              same ? "equal" : "DIFFER FROM");
  std::printf("level = CKKS level of the layer's output: levels left, counting down to the output's\n");
  std::printf("peak RSS %s\n", human_bytes(peak_rss_bytes()).c_str());
}

}  // namespace cryptounet::cli
