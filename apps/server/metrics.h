// Counters of the running server for GET /v1/metrics: requests, bytes, job outcomes, run times
// and per-stage times (stages are what ModelService::run reports through its progress callback,
// e.g. layer names, so the real executor gets per-layer times here for free).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace cryptounet::server {

class Metrics {
 public:
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> client_errors{0};  // 4xx answers
  std::atomic<std::uint64_t> server_errors{0};  // 5xx answers (503 busy included)
  std::atomic<std::uint64_t> rejected_busy{0};  // 503: queue full
  std::atomic<std::uint64_t> bytes_in{0};       // accepted key and ciphertext bodies
  std::atomic<std::uint64_t> bytes_out{0};      // result bodies sent

  void add_run(double seconds, bool ok);
  void add_stage(const std::string& stage, double seconds);
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  struct Stat {
    std::uint64_t count = 0;
    double total_seconds = 0;
  };
  mutable std::mutex mutex_;
  std::uint64_t completed_ = 0, failed_ = 0;
  double run_seconds_total_ = 0;
  std::map<std::string, Stat> stages_;
};

}  // namespace cryptounet::server
