// The CryptoUNet inference server: the /v1 HTTP API (cpp-httplib, TLS when given a certificate),
// a bounded worker pool over a bounded job queue, durable state (job_store.h) and expiry.
//
//   GET    /v1/health                      liveness, worker and queue figures
//   GET    /v1/metrics                     counters (metrics.h) and job counts by state
//   GET    /v1/models                      every model: name, plan (JSON), blob size rules
//   GET    /v1/models/{m}                  one model
//   POST   /v1/models/{m}/sessions         body: evaluation keys -> 201 {session_id, token}
//   GET    /v1/sessions/{sid}              the session's jobs                       (token)
//   DELETE /v1/sessions/{sid}              deletes session, jobs and results        (token)
//   POST   /v1/sessions/{sid}/jobs         body: ciphertext -> 202 {job_id}          (token)
//                                          header Idempotency-Key: a repeat -> 200, same job
//          /v1/sessions/{sid}/jobs?items=N body: N ciphertexts back to back: one job that runs
//                                          them in order (a volume); status has items_done
//   GET    /v1/jobs/{jid}                  state, progress 0..1, stage, error        (token)
//   GET    /v1/jobs/{jid}/result           the encrypted result, binary              (token)
//   GET    /v1/jobs/{jid}/result?item=I    item I of a job of several, once it is done (token)
// (token): header `Authorization: Bearer <token>`; missing -> 401; wrong token or unknown id
// -> 404 with the same message, so nothing tells whether someone else's session exists.
// Errors are JSON {"error": "..."}; a full queue answers 503 with Retry-After.
// Bodies: Content-Length is required and checked against the model's size rule before the body
// is read; the body is then validated by the ModelService before anything is stored.
// The server never needs, asks for or accepts a secret key: sessions take public evaluation
// keys only, and it knows no key format beyond ModelService::validate_eval_keys.
#pragma once

#include "server/model_service.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace cryptounet::server {

struct ServerConfig {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: any free port (see InferenceServer::port())
  std::filesystem::path data_dir;
  int workers = 1;              // concurrent model runs (inference itself uses all cores)
  std::size_t queue_capacity = 16;  // queued jobs beyond which submissions get 503
  std::chrono::seconds ttl{24 * 3600};  // idle sessions and finished results are deleted after
  std::chrono::milliseconds expiry_interval{0};  // 0: ttl/4, clamped to [100 ms, 60 s]
  std::string cert_file, key_file;  // both set: HTTPS
  int http_threads = 8;             // connections served at once
  // Request bodies are held in memory while validated; at most this many bytes at once (0: four
  // times the largest blob). Beyond it uploads get 503 + Retry-After before their body is read.
  std::uint64_t max_upload_bytes_in_flight = 0;
  std::size_t max_header_bytes = 16384;  // request line + headers (plain HTTP; see guarded_http_server.h)
  std::chrono::milliseconds header_timeout{10000};  // first byte to end of headers (plain HTTP)
  std::chrono::seconds read_timeout{10};   // per socket read
  std::chrono::seconds write_timeout{10};  // per socket write
  // A body upload must finish within upload_grace + length / upload_min_rate (slow clients).
  std::chrono::seconds upload_grace{10};
  std::uint64_t upload_min_bytes_per_second = 256 * 1024;
  int max_attempts = 3;          // a job interrupted by crashes this often is marked failed
  int retry_after_seconds = 2;   // Retry-After of 503 answers
  // Ciphertexts one job may hold (POST .../jobs?items=N: a volume's slices as one job). The body
  // is streamed to disk and each ciphertext validated as it arrives (one is held in memory), so
  // this bounds the disk a job takes: N x the model's ciphertext size.
  int max_job_items = 512;
  std::size_t max_jobs_per_session = 1024;  // stored jobs (queued+finished) per session -> 429
  std::size_t max_sessions = 256;  // stored sessions (each holds its keys on disk) -> 503
  bool log_requests = false;     // one line per request on stderr
  // Per client address (issue 9, denial of service without a token): connections served at once
  // (beyond: 503 and close), uploads in progress at once (beyond: 503 + Retry-After), and
  // sessions created per minute (beyond: 503 + Retry-After). 0: no limit. Clients behind one
  // NAT or proxy share one address, so raise these for such deployments (serve --help).
  int max_connections_per_address = 4;
  int max_uploads_per_address = 2;
  int max_sessions_per_address_per_minute = 10;
  // Queued jobs one session may hold (0: half the queue, at least 1); workers take jobs round-robin
  // across sessions, so one session cannot starve the others.
  std::size_t max_queued_per_session = 0;
  // Disk: evaluation keys of all sessions together (0: no quota) -> 507; uploads that would leave
  // less than min_free_disk_bytes free on the data directory's file system -> 507 + Retry-After.
  std::uint64_t key_quota_bytes = 16ull << 30;
  std::uint64_t min_free_disk_bytes = 256ull << 20;
};

class InferenceServer {
 public:
  /// Throws InvalidArgument for bad config or model names (must be [A-Za-z0-9._-]{1,64},
  /// unique) and IoError if the data directory cannot be used.
  InferenceServer(ServerConfig config, std::vector<std::shared_ptr<const ModelService>> models);
  ~InferenceServer();
  InferenceServer(const InferenceServer&) = delete;
  InferenceServer& operator=(const InferenceServer&) = delete;

  /// Loads the data directory (re-queuing unfinished jobs), starts workers, binds and starts
  /// serving on a background thread. Returns the bound port. Throws IoError if it cannot bind.
  int start();
  /// Stops accepting, cancels running jobs at their next progress report (they stay queued on
  /// disk) and joins every thread. Idempotent.
  void stop();
  /// Blocks until stop() has been called (from another thread or a signal handler thread).
  void wait();
  [[nodiscard]] int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cryptounet::server
