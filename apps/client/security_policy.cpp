#include "client/security_policy.h"

#include <cstdio>
#include <regex>
#include <vector>

#include "cryptounet/ckks/params.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/he/plan/rotation_set.h"

namespace cryptounet::client {

void check_plan_security(const nn::Plan& plan, bool allow_insecure, const std::string& what) {
  std::string reason;
  try {
    // Judged by the numbers: insecurity_reason ignores the plan's own label.
    ckks::ParamsLiteral lit = nn::params_literal(plan);
    lit.security = ckks::Security::insecure_for_tests;  // build it, then judge it below
    reason = ckks::insecurity_reason(ckks::Params::from_literal(lit));
  } catch (const InvalidArgument& e) {
    throw FormatError(what + ": the plan's CKKS parameters are malformed: " + e.what());
  }
  if (reason.empty()) return;
  if (!allow_insecure)
    throw SecurityError(what + " asks for parameters that are not 128-bit secure (" + reason +
                        "); refused. Only for a test with throw-away data: pass --insecure-test-params");
  std::fprintf(stderr, "WARNING: %s uses INSECURE parameters (%s): accepted because of --insecure-test-params; "
                       "tests and demos only\n", what.c_str(), reason.c_str());
}

void check_rotation_steps(const nn::Plan& plan, const std::string& what) {
  const std::vector<int> extra = nn::unexplained_rotation_steps(plan);
  if (extra.empty()) return;
  throw SecurityError(what + " lists " + std::to_string(plan.rotation_steps.size()) + " rotation steps, " +
                      std::to_string(extra.size()) + " of which (e.g. " + std::to_string(extra.front()) +
                      ") its own layers cannot need (they need at most " +
                      std::to_string(nn::geometry_rotation_steps(plan).size()) + "); refused before making keys");
}

std::uint64_t check_key_budget(const ckks::Context& ctx, const nn::Plan& plan, std::uint64_t cap,
                               const std::string& what) {
  check_rotation_steps(plan, what);
  const std::size_t steps = plan.rotation_steps.size();
  // In memory every key is unseeded: the unseeded file size is what building them costs.
  const std::uint64_t bytes = ckks::evaluation_keys_file_size(ctx, true, steps, false);
  std::fprintf(stderr, "%s: relinearisation + %zu Galois keys, %.1f MiB in memory (limit %.0f MiB)\n", what.c_str(),
               steps, static_cast<double>(bytes) / (1 << 20), static_cast<double>(cap) / (1 << 20));
  if (bytes > cap)
    throw SecurityError(what + " asks for " + std::to_string(steps) + " Galois keys (" +
                        std::to_string(bytes >> 20) + " MiB), more than the client's limit of " +
                        std::to_string(cap >> 20) + " MiB; refused");
  return bytes;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "[::1]" || host == "::1") return true;
  static const std::regex v4(R"(^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$)");
  std::smatch m;
  if (!std::regex_match(host, m, v4)) return false;
  for (std::size_t i = 1; i <= 3; ++i)
    if (std::stoi(m[i].str()) > 255) return false;
  return true;
}

void check_transport(const std::string& url, bool allow_http) {
  static const std::regex http(R"(^http://([^/:\[\]]+|\[[^\]]*\])(:[0-9]+)?/?$)", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(url, m, http)) return;  // https (or not a URL: the client's own check says so)
  const std::string host = m[1].str();
  if (allow_http || is_loopback_host(host)) return;
  throw SecurityError("client: '" + url + "' is plain http to another machine: anyone on the path could change "
                      "the plan or the results. Use https (with --ca-cert), or pass --allow-http on a network "
                      "you trust");
}

}  // namespace cryptounet::client
