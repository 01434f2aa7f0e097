// Client of the CryptoUNet inference server (apps/server/inference_server.h): lists models and
// plans, opens a session by uploading the public evaluation keys once (cached per server, model
// and key fingerprint in a directory), submits ciphertexts, polls progress and downloads results.
// Retries: connection loss (backoff) and 503 (honours Retry-After). Each submission carries an
// Idempotency-Key (by default derived from the ciphertext's SHA-256), so a retry after a lost
// answer returns the job the server already has and no image is run twice.
// The blobs are opaque here; making keys, encrypting and decrypting is ClientCrypto's job.
#pragma once

#include "cryptounet/common/error.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cryptounet::client {

/// The server answered with an error status (after retries where they apply).
class ServerError : public Error {
 public:
  ServerError(int status, const std::string& message)
      : Error("server answered " + std::to_string(status) + ": " + message), status_(status) {}
  [[nodiscard]] int status() const { return status_; }

 private:
  int status_;
};

struct ClientOptions {
  std::string server_url;        // http://host:port or https://host:port
  std::string ca_cert_file;      // https: trust this CA file (default: the system store)
  std::filesystem::path cache_dir;  // session cache; empty: sessions are not cached
  int max_connection_retries = 6;   // consecutive connection failures before giving up
  int max_busy_retries = 120;       // 503 answers before giving up
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  int max_retry_after_seconds = 30;  // cap on a server's Retry-After
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds io_timeout{60};
  std::chrono::milliseconds poll_interval{200};
  bool allow_http = false;  // plain http to a non-loopback host (else refused: client/security_policy.h)
  // Caps on what the client buffers from the server (a larger answer is refused, not retried).
  std::uint64_t max_json_bytes = 16u << 20;       // models, sessions, job status, errors
  std::uint64_t max_result_bytes = 1ull << 30;    // one result ciphertext file
  // Called as the evaluation keys go out, in 1 MiB pieces (bytes sent, total); may be empty.
  // `client` passes client/progress.h's stderr_progress.
  std::function<void(std::uint64_t sent, std::uint64_t total)> upload_progress;
};

struct BlobRule {
  std::uint64_t max_bytes = 0;
  bool exact = false;
};

struct ModelInfo {
  std::string name;
  std::string plan_json;  // the model's plan as JSON text
  BlobRule eval_keys;
  BlobRule ciphertext;
  int max_job_items = 1;       // ciphertexts the server takes in one job (submit_items)
  std::string normalisation;   // the model card's slice normalisation ("" if none)
};

struct Session {
  std::string id;
  std::string token;
  std::string model;
};

struct JobStatus {
  std::string id;
  std::string state;  // queued | running | done | failed
  double progress = 0;
  std::string stage;
  std::string error;
  int items = 0;       // a job of several ciphertexts: their count (0: one-ciphertext job)
  int items_done = 0;  // ... and how many have their result ready
  [[nodiscard]] bool finished() const { return state == "done" || state == "failed"; }
};

/// Called while waiting: index of the image in the batch and its latest status.
using JobProgress = std::function<void(std::size_t index, const JobStatus& status)>;

class InferenceClient {
 public:
  /// Throws InvalidArgument for a URL that is not http(s)://host[:port].
  explicit InferenceClient(ClientOptions options);

  std::vector<ModelInfo> list_models();
  ModelInfo model(const std::string& name);

  /// Uploads the evaluation keys: a new session. Retried on connection loss and 503; an answer
  /// lost after the server stored the session leaves an orphan session there, which expires.
  Session create_session(const std::string& model, std::string_view eval_keys);
  /// The cached session for (server, model, SHA-256 of eval_keys) if the server still has it,
  /// else a new one (cached when a cache directory is set). Keys are uploaded at most once.
  Session open_session(const std::string& model, std::string_view eval_keys);
  void forget_cached_session(const std::string& model);

  /// Submits one ciphertext; returns the job id. `idempotency_key` empty: first 32 hex digits of
  /// the ciphertext's SHA-256.
  std::string submit(const Session& session, std::string_view ciphertext,
                     std::string idempotency_key = {});
  /// Submits one job of `items` ciphertexts stored back to back in `body` (all of the model's
  /// exact ciphertext size); the server runs them in order. `idempotency_key` empty: from the
  /// body's SHA-256. `progress`: bytes sent, total (may be empty).
  std::string submit_items(const Session& session, std::string_view body, int items,
                           std::string idempotency_key = {},
                           const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});
  JobStatus status(const Session& session, const std::string& job_id);
  /// Polls until the job is done or failed (or `timeout` passes: IoError).
  JobStatus wait(const Session& session, const std::string& job_id,
                 const std::function<void(const JobStatus&)>& on_progress = {},
                 std::chrono::seconds timeout = std::chrono::hours(24));
  std::string result(const Session& session, const std::string& job_id);
  /// Item `item`'s result of a job of several ciphertexts (available once items_done > item).
  std::string item_result(const Session& session, const std::string& job_id, int item);
  void delete_session(const Session& session);

  /// Submits every ciphertext, waits for all and returns the results in order. A failed job
  /// throws ServerError(422) naming the image index and the server's message.
  std::vector<std::string> run_batch(const Session& session,
                                     const std::vector<std::string>& ciphertexts,
                                     const JobProgress& on_progress = {});

  [[nodiscard]] const ClientOptions& options() const { return options_; }

 private:
  ClientOptions options_;
};

}  // namespace cryptounet::client
