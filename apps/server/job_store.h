// The server's state: sessions (public evaluation keys + a token hash), jobs (encrypted inputs,
// state, results) and the bounded queue of jobs waiting for a worker. Every accepted session,
// job and result is on disk before it is acknowledged (atomic_file.h), so after a crash load()
// serves finished results again and re-queues queued or interrupted jobs.
//
// Data directory layout (all files 0600, directories 0700):
//   sessions/<sid>/session.json        id, model, SHA-256 of the token, creation time
//   sessions/<sid>/eval_keys.bin       the uploaded public evaluation keys (opaque)
//   sessions/<sid>/jobs/<jid>.input    one uploaded ciphertext (opaque)
//   sessions/<sid>/jobs/<jid>.json     state, attempts, idempotency key, timings, error
//   sessions/<sid>/jobs/<jid>.result   the encrypted result (written before the .json says done)
//   sessions/<sid>/jobs/<jid>.rNNNNN   a multi-ciphertext job's (a volume's) result of item NNNNN,
//                                      written as soon as the item is done; its .input holds the
//                                      items back to back (equal sizes)
// A session directory is built under a dot-name and renamed into place, and removed by renaming
// it to a dot-name first; dot-names left by a crash are deleted by load().
// Thread-safe: one mutex guards the maps; disk writes happen outside it.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace cryptounet::server {

enum class JobState { kQueued, kRunning, kDone, kFailed };
const char* to_string(JobState state);

/// A copy of one job's state for status answers.
struct JobInfo {
  std::string id;
  std::string session_id;
  std::string model;
  JobState state = JobState::kQueued;
  double progress = 0;
  std::string stage;
  std::string error;
  std::int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
  double run_seconds = 0;
  int attempts = 0;
  std::string idempotency_key;
  std::string input_sha256;
  std::uint64_t result_bytes = 0;
  int items = 0;       // 0: a one-ciphertext job (/result); >= 1: a multi-ciphertext job (/result?item=I)
  int items_done = 0;  // multi-ciphertext jobs: items 0..items_done-1 have their results stored
};

/// Thrown by submit_job when the queue is full (answer 503 + Retry-After).
struct QueueFull {};
/// Thrown by create_session when the server holds its maximum number of sessions (503).
struct TooManySessions {};
/// Thrown by create_session when the stored evaluation keys would exceed the key quota (507).
struct KeyQuotaFull {};
/// Thrown by submit_job when the session already has its share of the queue waiting (503).
struct SessionQueueFull {};
/// Thrown by submit_job when the session already holds its maximum number of jobs (429).
struct TooManyJobs {};
/// Thrown by submit_job when an idempotency key is reused with a different ciphertext (409).
struct IdempotencyConflict {
  std::string job_id;
};

/// What a worker gets from claim_next().
struct JobClaim {
  std::string job_id;
  std::string session_id;
  std::string model;
  std::filesystem::path eval_keys_path;
  std::string key_identity;  // JobStore::create_session's, or "" (a session from before a restart)
  std::filesystem::path input_path;
  int items = 0;       // 0: one ciphertext; else the job's item count
  int first_item = 0;  // items before it are done (a resumed job)
};

struct JobStoreCounts {
  std::size_t sessions = 0, queued = 0, running = 0, done = 0, failed = 0;
};

class JobStore {
 public:
  JobStore(std::filesystem::path data_dir, std::size_t queue_capacity, int max_attempts,
           std::size_t max_jobs_per_session = 1024, std::size_t max_sessions = 256);

  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  /// Locks the data directory (IoError if another server holds it: flock on <dir>/lock, freed
  /// by the kernel even after kill -9) and reads it (creating it if missing): sessions whose model is in `models`
  /// come back, finished jobs are served again, queued and interrupted jobs are re-queued
  /// (beyond the capacity if need be: they were accepted before the crash). A job interrupted
  /// max_attempts times is marked failed. Returns the number of re-queued jobs.
  std::size_t load(const std::set<std::string>& models);

  struct NewSession {
    std::string id;
    std::string token;  // returned once to the client; only its SHA-256 is kept
  };
  /// Stores a session (keys durable on disk) and returns its id and fresh bearer token.
  /// Throws TooManySessions when max_sessions are stored (sessions from before a restart count).
  /// `key_identity`: what the model's validator returned, handed back in JobClaim (kept in memory only).
  NewSession create_session(const std::string& model, std::string_view eval_keys, std::string key_identity = {});

  /// The session's model if `session_id` exists and `token` is its token (constant-time
  /// compare of SHA-256 hashes); nullopt otherwise, with no difference between the two cases.
  std::optional<std::string> authorize(const std::string& session_id, const std::string& token);

  /// Removes the session, its jobs and results (files included). False if unknown.
  bool delete_session(const std::string& session_id);

  struct Submitted {
    std::string job_id;
    bool created = false;  // false: an earlier job with the same idempotency key
  };
  /// Stores the ciphertext and queues a job. Returns the earlier job for a repeated
  /// idempotency key with the same ciphertext. Throws QueueFull, TooManyJobs, IdempotencyConflict,
  /// InvalidArgument (session vanished), IoError.
  Submitted submit_job(const std::string& session_id, const std::string& idempotency_key,
                       std::string_view ciphertext);

  /// A staging file in the session's jobs folder for a streamed multi-ciphertext upload (a
  /// ".tmp-" name: load() deletes leftovers of a crash). InvalidArgument if the session is gone.
  std::filesystem::path staging_path(const std::string& session_id);
  /// Queues a job of `items` ciphertexts stored back to back in the file `staged` (moved into
  /// place; removed on any refusal). `digest`: SHA-256 of the file, for the idempotency check.
  /// Throws what submit_job throws.
  Submitted submit_items(const std::string& session_id, const std::string& idempotency_key,
                         const std::string& digest, int items, const std::filesystem::path& staged);

  /// Job state if it exists and belongs to `session_id`.
  std::optional<JobInfo> job(const std::string& job_id, const std::string& session_id);
  /// Owner session of a job (for token checks), nullopt if unknown.
  std::optional<std::string> job_session(const std::string& job_id);
  /// All jobs of a session.
  std::vector<JobInfo> session_jobs(const std::string& session_id);
  /// Result bytes of a finished job (read from disk).
  std::string read_result(const std::string& job_id);
  /// Path of a finished job's result file. Throws InvalidArgument if the job has no result.
  std::filesystem::path result_path(const std::string& job_id);

  /// Blocks until a queued job is available or stop() was called (then nullopt). Marks the
  /// job running and durably counts the attempt. Fair across sessions: it takes the oldest job of
  /// the session served longest ago, so one session's many jobs do not starve the others. If the
  /// state cannot be stored (full disk) the job goes back to the queue and this throws.
  std::optional<JobClaim> claim_next();
  void set_progress(const std::string& job_id, double fraction, const std::string& stage);
  /// Stores the result durably, then marks the job done.
  void complete(const std::string& job_id, std::string_view result, double run_seconds);
  void fail(const std::string& job_id, const std::string& error, double run_seconds);
  /// Multi-ciphertext jobs: stores item `item`'s result durably, then counts it done (its
  /// result is served from then on, while the job still runs).
  void complete_item(const std::string& job_id, int item, std::string_view result);
  /// Multi-ciphertext jobs: marks the job done once every item's result is stored.
  void complete_items(const std::string& job_id, double run_seconds);
  /// Path of item `item`'s result if it is stored (InvalidArgument otherwise).
  std::filesystem::path item_result_path(const std::string& job_id, int item);
  /// Whether a job of another session than `session_id` waits in the queue (a job of several
  /// ciphertexts then yields its worker between items).
  bool others_waiting(const std::string& session_id);
  /// Puts a running job back to queued (in memory; disk already says queued), e.g. at shutdown.
  void requeue_interrupted(const std::string& job_id);

  /// Deletes sessions idle for longer than `ttl` with no queued or running job, and finished
  /// jobs (with their results) older than `ttl`. Returns the number of deleted sessions + jobs.
  std::size_t expire(std::chrono::milliseconds ttl);

  JobStoreCounts counts();
  void stop();

  /// Disk limits (issue 9): evaluation keys of all stored sessions together at most `key_quota`
  /// bytes (0: no quota; create_session throws KeyQuotaFull beyond it), and has_room() keeps
  /// `min_free` bytes of the data directory's file system free.
  void set_storage_limits(std::uint64_t key_quota, std::uint64_t min_free) {
    key_quota_bytes_ = key_quota;
    min_free_bytes_ = min_free;
  }
  /// Queued jobs one session may hold (submit_job throws SessionQueueFull beyond it).
  void set_max_queued_per_session(std::size_t n) { max_queued_per_session_ = std::max<std::size_t>(1, n); }
  /// Whether the data directory's file system has `bytes` free beyond the reserve (statvfs).
  [[nodiscard]] bool has_room(std::uint64_t bytes) const;
  /// Bytes of evaluation keys stored now.
  [[nodiscard]] std::uint64_t key_bytes() {
    std::lock_guard lock(mutex_);
    return key_bytes_;
  }

 private:
  struct Job {
    JobInfo info;
  };
  struct Session {
    std::string id;
    std::string model;
    std::string token_sha256;
    std::int64_t created_ms = 0;
    std::int64_t last_used_ms = 0;
    std::uint64_t key_bytes = 0;
    std::string key_identity;  // this process's sessions only (not stored)
    std::uint64_t last_claim = 0;  // claim_next's sequence number when it last took a job of this session
    std::set<std::string> jobs;
    std::map<std::string, std::string> idempotency;  // key -> job id
  };

  std::filesystem::path session_dir(const std::string& sid) const;
  std::filesystem::path jobs_dir(const std::string& sid) const;
  void persist_job(const JobInfo& info) const;
  /// A copy of job_id's record, or nothing when its session was deleted meanwhile.
  std::optional<JobInfo> job_copy(const std::string& job_id);
  /// Persists a finished job's record, stores it back (unless deleted meanwhile), optionally marks its
  /// session used at the finish time, and removes the job's input file.
  void store_finished(const JobInfo& info, bool touch_session);
  void remove_job_files(const std::string& sid, const std::string& jid) const;
  void remove_session_dir(const std::string& sid) const;
  std::size_t queued_of(const std::string& session_id) const;  // with mutex_ held
  std::filesystem::path item_file(const std::string& sid, const std::string& jid, int item) const;
  Submitted submit(const std::string& session_id, const std::string& idempotency_key, const std::string& digest,
                   int items, const std::function<void(const std::filesystem::path&)>& store_input);

  std::filesystem::path data_dir_;
  std::filesystem::path sessions_root_;
  std::size_t queue_capacity_;
  int max_attempts_;
  std::size_t max_jobs_per_session_;
  std::size_t max_sessions_;
  std::size_t sessions_being_created_ = 0;
  std::uint64_t key_bytes_ = 0;
  std::uint64_t key_quota_bytes_ = 0;
  std::uint64_t min_free_bytes_ = 0;
  std::size_t max_queued_per_session_ = static_cast<std::size_t>(-1);
  std::uint64_t claims_ = 0;
  int lock_fd_ = -1;

  std::mutex mutex_;
  std::condition_variable queue_cv_;
  bool stopping_ = false;
  std::unordered_map<std::string, Session> sessions_;
  std::unordered_map<std::string, Job> jobs_;
  std::deque<std::string> queue_;
};

/// Milliseconds since the Unix epoch (wall clock: persisted times survive restarts).
std::int64_t now_ms();

}  // namespace cryptounet::server
