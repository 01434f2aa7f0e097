// Small helpers shared by the encrypted-workflow commands (plan, keygen, encrypt, infer,
// decrypt, segment, evaluate): sizes and times for humans, a progress bar, peak memory, the
// per-layer report table. (hex64: common/sha256.h; seconds_since: common/stopwatch.h, both
// included here for the commands.)
#pragma once

#include <chrono>
#include <string>

#include "cryptounet/common/sha256.h"
#include "cryptounet/common/stopwatch.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/workflow/plan_io.h"
#include "cli/options.h"

namespace cryptounet::cli {

std::string human_bytes(double bytes);
/// Peak resident set size of this process, in bytes (getrusage).
double peak_rss_bytes();
/// The plan file a client command (keygen, encrypt) acts on: a --insecure-test-params value must be
/// its ring, and its parameters must be 128-bit secure unless --insecure-test-params is given.
nn::PlanFile read_client_plan(const std::string& path, const InsecureParams& insecure);
/// Prints a loud warning on stderr for plans with insecure test parameters.
void warn_if_insecure(const nn::Plan& plan);
/// A progress callback drawing a bar on stderr when stderr is a terminal (nothing otherwise).
nn::RunOptions progress_bar_options(const std::string& label);
/// Per-layer wall time, operation counts done, levels; totals; whether the counts equal the
/// plan's; peak RSS.
void print_exec_report(const nn::Plan& plan, const nn::ExecReport& report);

}  // namespace cryptounet::cli
