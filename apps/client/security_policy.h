// What the client side refuses from a server (issue 9): plans that are not 128-bit secure by the
// client's own check, and plain http:// to anything but this machine. Only the user's own command
// line can relax either (--insecure-test-params, --allow-http); a server's plan cannot.
#pragma once

#include <cstdint>
#include <string>

#include "cryptounet/ckks/context.h"
#include "cryptounet/he/plan/planner.h"

namespace cryptounet::client {

/// Throws SecurityError if `plan`'s CKKS parameters fall short of 128-bit security (N < 2^14 or
/// log2(QP) above the HE-standard bound), whatever the plan's own `insecure_for_tests` label says,
/// unless `allow_insecure` (the user passed --insecure-test-params): then it warns on stderr.
/// `what` names the plan in messages ("model 'brain-64'", "plan 'x.plan'").
void check_plan_security(const nn::Plan& plan, bool allow_insecure, const std::string& what);

/// Throws SecurityError if `plan` lists a rotation step that its own layers cannot need: the
/// client recomputes the set from the layers' kinds and layouts with the planner's rules
/// (he/plan/rotation_set.h) and makes Galois keys only for a subset of it (issue 9, item 8).
void check_rotation_steps(const nn::Plan& plan, const std::string& what);

/// Default cap on the evaluation keys a plan may make the client build (bytes in memory).
inline constexpr std::uint64_t kDefaultMaxEvalKeyBytes = std::uint64_t{8} << 30;

/// Prints on stderr how many keys `plan` asks for and how large they are, before any is made,
/// and throws SecurityError if that is above `cap` (a hostile plan listing every rotation step
/// would otherwise make the client build ~N/2 Galois keys) or if check_rotation_steps refuses
/// the plan (checked first). Returns the size in bytes.
std::uint64_t check_key_budget(const ckks::Context& ctx, const nn::Plan& plan, std::uint64_t cap,
                               const std::string& what);

/// Whether `host` (as in a URL: name, IPv4 or [IPv6]) is this machine: localhost, 127.0.0.0/8, ::1.
[[nodiscard]] bool is_loopback_host(const std::string& host);

/// Throws SecurityError for an http:// URL whose host is not loopback, unless `allow_http`.
void check_transport(const std::string& url, bool allow_http);

}  // namespace cryptounet::client
