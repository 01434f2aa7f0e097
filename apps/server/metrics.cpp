#include "server/metrics.h"

namespace cryptounet::server {

void Metrics::add_run(double seconds, bool ok) {
  std::lock_guard lock(mutex_);
  (ok ? completed_ : failed_) += 1;
  run_seconds_total_ += seconds;
}

void Metrics::add_stage(const std::string& stage, double seconds) {
  std::lock_guard lock(mutex_);
  Stat& s = stages_[stage];
  s.count += 1;
  s.total_seconds += seconds;
}

nlohmann::json Metrics::to_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json stages = nlohmann::json::object();
  for (const auto& [name, s] : stages_)
    stages[name] = {{"count", s.count}, {"mean_seconds", s.total_seconds / s.count}};
  const std::uint64_t runs = completed_ + failed_;
  return {{"requests", requests.load()},
          {"client_errors", client_errors.load()},
          {"server_errors", server_errors.load()},
          {"rejected_busy", rejected_busy.load()},
          {"bytes_in", bytes_in.load()},
          {"bytes_out", bytes_out.load()},
          {"runs_completed", completed_},
          {"runs_failed", failed_},
          {"mean_run_seconds", runs ? run_seconds_total_ / runs : 0.0},
          {"stages", stages}};
}

}  // namespace cryptounet::server
