#include "server/job_store.h"

#include <sys/statvfs.h>

#include <limits>

#include "cryptounet/common/error.h"
#include "cryptounet/common/file_io.h"
#include "cryptounet/common/private_directory.h"
#include "cryptounet/common/secure_random.h"
#include "cryptounet/common/sha256.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace cryptounet::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kIdBytes = 16;     // 128-bit ids -> 32 hex characters
constexpr std::size_t kTokenBytes = 32;  // 256-bit bearer tokens
constexpr std::uint64_t kMaxMetadataBytes = 1 << 20;  // session.json, JOB.json (a few hundred bytes)

JobState state_from_string(const std::string& s) {
  if (s == "queued") return JobState::kQueued;
  if (s == "running") return JobState::kRunning;
  if (s == "done") return JobState::kDone;
  if (s == "failed") return JobState::kFailed;
  throw FormatError("job state: unknown value '" + s + "'");
}

json job_to_json(const JobInfo& j) {
  return json{{"id", j.id},
              {"session", j.session_id},
              {"state", to_string(j.state)},
              {"error", j.error},
              {"created_ms", j.created_ms},
              {"started_ms", j.started_ms},
              {"finished_ms", j.finished_ms},
              {"run_seconds", j.run_seconds},
              {"attempts", j.attempts},
              {"idempotency_key", j.idempotency_key},
              {"input_sha256", j.input_sha256},
              {"result_bytes", j.result_bytes},
              {"items", j.items},
              {"items_done", j.items_done}};
}

JobInfo job_from_json(const json& v) {
  JobInfo j;
  j.id = v.at("id").get<std::string>();
  j.session_id = v.at("session").get<std::string>();
  j.state = state_from_string(v.at("state").get<std::string>());
  j.error = v.at("error").get<std::string>();
  j.created_ms = v.at("created_ms").get<std::int64_t>();
  j.started_ms = v.at("started_ms").get<std::int64_t>();
  j.finished_ms = v.at("finished_ms").get<std::int64_t>();
  j.run_seconds = v.at("run_seconds").get<double>();
  j.attempts = v.at("attempts").get<int>();
  j.idempotency_key = v.at("idempotency_key").get<std::string>();
  j.input_sha256 = v.at("input_sha256").get<std::string>();
  j.result_bytes = v.at("result_bytes").get<std::uint64_t>();
  j.items = v.value("items", 0);  // absent in files of older servers: one-ciphertext jobs
  j.items_done = v.value("items_done", 0);
  if (j.items < 0 || j.items_done < 0 || j.items_done > j.items) throw FormatError("job file: bad item counts");
  return j;
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

bool finished(JobState s) { return s == JobState::kDone || s == JobState::kFailed; }

}  // namespace

const char* to_string(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
  }
  return "unknown";
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

JobStore::JobStore(fs::path data_dir, std::size_t queue_capacity, int max_attempts,
                   std::size_t max_jobs_per_session, std::size_t max_sessions)
    : data_dir_(std::move(data_dir)),
      sessions_root_(data_dir_ / "sessions"),
      queue_capacity_(queue_capacity),
      max_attempts_(max_attempts),
      max_jobs_per_session_(max_jobs_per_session),
      max_sessions_(max_sessions) {
  if (queue_capacity_ == 0) throw InvalidArgument("JobStore: queue capacity must be >= 1");
  if (max_attempts_ < 1) throw InvalidArgument("JobStore: max attempts must be >= 1");
}

fs::path JobStore::session_dir(const std::string& sid) const { return sessions_root_ / sid; }
fs::path JobStore::jobs_dir(const std::string& sid) const { return sessions_root_ / sid / "jobs"; }

void JobStore::persist_job(const JobInfo& info) const {
  write_file_atomic(jobs_dir(info.session_id) / (info.id + ".json"), job_to_json(info).dump());
}

fs::path JobStore::item_file(const std::string& sid, const std::string& jid, int item) const {
  char name[16];
  std::snprintf(name, sizeof name, ".r%05d", item);
  return jobs_dir(sid) / (jid + name);
}

void JobStore::remove_job_files(const std::string& sid, const std::string& jid) const {
  for (const char* ext : {".json", ".input", ".result"}) remove_quietly(jobs_dir(sid) / (jid + ext));
  std::error_code ec;  // a multi-ciphertext job's item results: <jid>.rNNNNN
  std::vector<fs::path> items;
  for (fs::directory_iterator it(jobs_dir(sid), ec), end; !ec && it != end; it.increment(ec))
    if (it->path().stem().string() == jid) items.push_back(it->path());
  for (const auto& p : items) remove_quietly(p);
}

void JobStore::remove_session_dir(const std::string& sid) const {
  const fs::path dir = session_dir(sid);
  const fs::path doomed = sessions_root_ / (".deleted-" + sid + "-" + random_hex(4));
  std::error_code ec;
  fs::rename(dir, doomed, ec);  // one atomic step: the session is gone even if removal stops
  if (ec) {
    remove_quietly(dir);
    return;
  }
  try {
    fsync_directory(sessions_root_);
  } catch (const IoError&) {
  }
  remove_quietly(doomed);
}

JobStore::~JobStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::size_t JobStore::load(const std::set<std::string>& models) {
  make_private_directory(sessions_root_);
  if (lock_fd_ < 0) {
    const fs::path lock_path = data_dir_ / "lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw IoError("serve: cannot open " + lock_path.string());
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd_);
      lock_fd_ = -1;
      throw IoError("serve: data directory " + data_dir_.string() +
                    " is in use by another server (lock held on " + lock_path.string() + ")");
    }
  }
  std::vector<JobInfo> requeue;
  std::lock_guard lock(mutex_);
  for (const auto& entry : fs::directory_iterator(sessions_root_)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] == '.') {  // half-built or half-deleted session
      remove_quietly(entry.path());
      continue;
    }
    if (!entry.is_directory() || !is_hex_id(name, 2 * kIdBytes)) continue;
    Session s;
    try {
      const json meta = json::parse(read_file_string(entry.path() / "session.json", kMaxMetadataBytes));
      s.id = meta.at("id").get<std::string>();
      s.model = meta.at("model").get<std::string>();
      s.token_sha256 = meta.at("token_sha256").get<std::string>();
      s.created_ms = meta.at("created_ms").get<std::int64_t>();
      if (s.id != name) throw FormatError("session id does not match its directory");
      if (!fs::exists(entry.path() / "eval_keys.bin")) throw FormatError("eval_keys.bin missing");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "serve: skipping session directory %s: %s\n", entry.path().c_str(),
                   e.what());
      continue;
    }
    if (!models.count(s.model)) {
      std::fprintf(stderr, "serve: session %s is for model '%s', not served now; kept on disk\n",
                   s.id.c_str(), s.model.c_str());
      continue;
    }
    s.last_used_ms = s.created_ms;
    {
      std::error_code ec;
      const auto size = fs::file_size(entry.path() / "eval_keys.bin", ec);
      s.key_bytes = ec ? 0 : size;
      key_bytes_ += s.key_bytes;  // sessions from before a restart count against the quota
    }
    const fs::path jdir = entry.path() / "jobs";
    make_private_directory(jdir);
    std::set<std::string> with_json;
    for (const auto& f : fs::directory_iterator(jdir)) {
      const std::string fname = f.path().filename().string();
      if (fname.rfind(".tmp-", 0) == 0) {
        remove_quietly(f.path());
        continue;
      }
      if (f.path().extension() != ".json") continue;
      JobInfo info;
      try {
        info = job_from_json(json::parse(read_file_string(f.path(), kMaxMetadataBytes)));
        if (info.session_id != s.id || f.path().stem().string() != info.id)
          throw FormatError("job file does not match its session or name");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: removing unreadable job file %s: %s\n", f.path().c_str(), e.what());
        continue;
      }
      with_json.insert(info.id);
      info.model = s.model;
      const bool has_input = fs::exists(jdir / (info.id + ".input"));
      if (info.items > 0) {  // the item results on disk say how far it got
        int done = 0;
        while (done < info.items && fs::exists(item_file(s.id, info.id, done))) ++done;
        info.items_done = done;
      }
      const bool has_result = info.items > 0 ? info.items_done == info.items
                                             : fs::exists(jdir / (info.id + ".result"));
      if (info.state == JobState::kDone && !has_result) info.state = JobState::kQueued;
      if (!finished(info.state)) {
        if (!has_input) {
          remove_job_files(s.id, info.id);
          continue;
        }
        info.progress = info.items > 0 ? static_cast<double>(info.items_done) / info.items : 0.0;
        if (info.attempts >= max_attempts_) {
          info.state = JobState::kFailed;
          info.error = "job was interrupted " + std::to_string(info.attempts) +
                       " times (server stopped during the run); not retried";
          info.finished_ms = now_ms();
          persist_job(info);
        } else {
          info.state = JobState::kQueued;
          requeue.push_back(info);
        }
      } else {
        info.progress = info.state == JobState::kDone ? 1.0 : info.progress;
      }
      s.last_used_ms = std::max({s.last_used_ms, info.created_ms, info.finished_ms});
      s.jobs.insert(info.id);
      if (!info.idempotency_key.empty()) s.idempotency[info.idempotency_key] = info.id;
      jobs_[info.id] = Job{info};
    }
    for (const auto& f : fs::directory_iterator(jdir)) {  // inputs/results without a .json
      if (!with_json.count(f.path().stem().string())) remove_quietly(f.path());
    }
    sessions_[s.id] = std::move(s);
  }
  std::sort(requeue.begin(), requeue.end(),
            [](const JobInfo& a, const JobInfo& b) { return a.created_ms < b.created_ms; });
  for (const auto& j : requeue) queue_.push_back(j.id);
  queue_cv_.notify_all();
  return requeue.size();
}

JobStore::NewSession JobStore::create_session(const std::string& model,
                                              std::string_view eval_keys, std::string key_identity) {
  {
    std::lock_guard lock(mutex_);
    if (sessions_.size() + sessions_being_created_ >= max_sessions_) throw TooManySessions{};
    if (key_quota_bytes_ > 0 && key_bytes_ + eval_keys.size() > key_quota_bytes_) throw KeyQuotaFull{};
    ++sessions_being_created_;
    key_bytes_ += eval_keys.size();  // reserved now, released below if the session is not stored
  }
  bool stored = false;
  struct Done {
    JobStore* self;
    const bool& stored;
    std::uint64_t bytes;
    ~Done() {
      std::lock_guard lock(self->mutex_);
      --self->sessions_being_created_;
      if (!stored) self->key_bytes_ -= bytes;
    }
  } done{this, stored, eval_keys.size()};
  NewSession out{random_hex(kIdBytes), random_hex(kTokenBytes)};
  Session s;
  s.id = out.id;
  s.model = model;
  s.token_sha256 = sha256_hex(out.token);
  s.key_identity = std::move(key_identity);
  s.created_ms = s.last_used_ms = now_ms();
  const fs::path building = sessions_root_ / (".new-" + s.id);
  try {
    make_private_directory(building);
    make_private_directory(building / "jobs");
    write_file_atomic(building / "eval_keys.bin", eval_keys);
    write_file_atomic(building / "session.json", json{{"id", s.id},
                                                      {"model", s.model},
                                                      {"token_sha256", s.token_sha256},
                                                      {"created_ms", s.created_ms}}
                                                     .dump());
    fs::rename(building, session_dir(s.id));
    fsync_directory(sessions_root_);
  } catch (const std::filesystem::filesystem_error& e) {
    remove_quietly(building);
    throw IoError(std::string("create_session: ") + e.what());
  } catch (...) {
    remove_quietly(building);
    throw;
  }
  std::lock_guard lock(mutex_);
  s.key_bytes = eval_keys.size();
  sessions_[s.id] = std::move(s);
  stored = true;
  return out;
}

std::optional<std::string> JobStore::authorize(const std::string& session_id,
                                               const std::string& token) {
  const std::string presented = sha256_hex(token);
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return std::nullopt;
  if (!constant_time_equal(presented, it->second.token_sha256)) return std::nullopt;
  it->second.last_used_ms = now_ms();
  return it->second.model;
}

bool JobStore::delete_session(const std::string& session_id) {
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return false;
    for (const auto& jid : it->second.jobs) jobs_.erase(jid);
    std::erase_if(queue_, [&](const std::string& jid) { return it->second.jobs.count(jid) > 0; });
    key_bytes_ -= std::min(key_bytes_, it->second.key_bytes);
    sessions_.erase(it);
  }
  remove_session_dir(session_id);
  return true;
}

JobStore::Submitted JobStore::submit_job(const std::string& session_id,
                                         const std::string& idempotency_key,
                                         std::string_view ciphertext) {
  return submit(session_id, idempotency_key, sha256_hex(ciphertext), 0,
                [&](const fs::path& input) { write_file_atomic(input, ciphertext); });
}

fs::path JobStore::staging_path(const std::string& session_id) {
  {
    std::lock_guard lock(mutex_);
    if (!sessions_.count(session_id)) throw InvalidArgument("staging_path: session no longer exists");
  }
  return jobs_dir(session_id) / (".tmp-upload-" + random_hex(8));
}

JobStore::Submitted JobStore::submit_items(const std::string& session_id, const std::string& idempotency_key,
                                           const std::string& digest, int items, const fs::path& staged) {
  if (items < 1) throw InvalidArgument("submit_items: a job needs at least one item");
  struct Cleanup {
    const fs::path& p;
    ~Cleanup() { remove_quietly(p); }  // gone already when it was moved into place
  } cleanup{staged};
  return submit(session_id, idempotency_key, digest, items, [&](const fs::path& input) {
    fs::rename(staged, input);
    fsync_directory(input.parent_path());
  });
}

JobStore::Submitted JobStore::submit(const std::string& session_id, const std::string& idempotency_key,
                                     const std::string& digest, int items,
                                     const std::function<void(const fs::path&)>& store_input) {
  auto existing = [&](Session& s) -> std::optional<Submitted> {
    if (idempotency_key.empty()) return std::nullopt;
    auto it = s.idempotency.find(idempotency_key);
    if (it == s.idempotency.end()) return std::nullopt;
    const JobInfo& prior = jobs_.at(it->second).info;
    if (prior.input_sha256 != digest) throw IdempotencyConflict{prior.id};
    return Submitted{prior.id, false};
  };
  JobInfo info;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) throw InvalidArgument("submit_job: session no longer exists");
    if (auto prior = existing(it->second)) return *prior;
    if (it->second.jobs.size() >= max_jobs_per_session_) throw TooManyJobs{};
    if (queue_.size() >= queue_capacity_) throw QueueFull{};
    if (queued_of(session_id) >= max_queued_per_session_) throw SessionQueueFull{};
    info.model = it->second.model;
  }
  info.id = random_hex(kIdBytes);
  info.session_id = session_id;
  info.state = JobState::kQueued;
  info.created_ms = now_ms();
  info.idempotency_key = idempotency_key;
  info.input_sha256 = digest;
  info.items = items;
  try {
    store_input(jobs_dir(session_id) / (info.id + ".input"));
    persist_job(info);
  } catch (const fs::filesystem_error& e) {
    remove_job_files(session_id, info.id);
    throw IoError(std::string("submit_job: ") + e.what());
  } catch (...) {
    remove_job_files(session_id, info.id);
    throw;
  }
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session_id);
  std::optional<Submitted> prior;
  bool full = false;
  if (it != sessions_.end()) {
    try {
      prior = existing(it->second);
    } catch (...) {
      remove_job_files(session_id, info.id);
      throw;
    }
    full = !prior && queue_.size() >= queue_capacity_;
  }
  const bool share_full = it != sessions_.end() && !prior && !full && queued_of(session_id) >= max_queued_per_session_;
  if (it == sessions_.end() || prior || full || share_full) {
    remove_job_files(session_id, info.id);
    if (prior) return *prior;
    if (full) throw QueueFull{};
    if (share_full) throw SessionQueueFull{};
    throw InvalidArgument("submit_job: session no longer exists");
  }
  Session& s = it->second;
  s.jobs.insert(info.id);
  s.last_used_ms = info.created_ms;
  if (!idempotency_key.empty()) s.idempotency[idempotency_key] = info.id;
  jobs_[info.id] = Job{info};
  queue_.push_back(info.id);
  queue_cv_.notify_one();
  return {info.id, true};
}

std::optional<JobInfo> JobStore::job(const std::string& job_id, const std::string& session_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.info.session_id != session_id) return std::nullopt;
  return it->second.info;
}

std::optional<std::string> JobStore::job_session(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.info.session_id;
}

std::vector<JobInfo> JobStore::session_jobs(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  std::vector<JobInfo> out;
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return out;
  for (const auto& jid : it->second.jobs) out.push_back(jobs_.at(jid).info);
  std::sort(out.begin(), out.end(),
            [](const JobInfo& a, const JobInfo& b) { return a.created_ms < b.created_ms; });
  return out;
}

std::string JobStore::read_result(const std::string& job_id) {
  std::string sid;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end() || it->second.info.state != JobState::kDone)
      throw InvalidArgument("read_result: job " + job_id + " has no result");
    sid = it->second.info.session_id;
  }
  return read_file_string(jobs_dir(sid) / (job_id + ".result"), kOwnFileAnySize);
}

fs::path JobStore::result_path(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.info.state != JobState::kDone)
    throw InvalidArgument("result_path: job " + job_id + " has no result");
  return jobs_dir(it->second.info.session_id) / (job_id + ".result");
}

std::optional<JobClaim> JobStore::claim_next() {
  JobInfo copy;
  std::string key_identity;
  {
    std::unique_lock lock(mutex_);
    for (;;) {
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return std::nullopt;
      // Round-robin across sessions: the first queued job of the session that was served longest
      // ago (queue order within a session; unknown sessions' leftovers first, they are skipped).
      auto pick = queue_.begin();
      std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
      for (auto q = queue_.begin(); q != queue_.end(); ++q) {
        auto j = jobs_.find(*q);
        if (j == jobs_.end()) {
          pick = q;
          break;
        }
        auto s = sessions_.find(j->second.info.session_id);
        const std::uint64_t served = s == sessions_.end() ? 0 : s->second.last_claim;
        if (served < best) {
          best = served;
          pick = q;
        }
      }
      const std::string jid = *pick;
      queue_.erase(pick);
      auto it = jobs_.find(jid);
      if (it == jobs_.end() || it->second.info.state != JobState::kQueued) continue;
      JobInfo& info = it->second.info;
      info.state = JobState::kRunning;
      if (auto s = sessions_.find(info.session_id); s != sessions_.end()) {
        s->second.last_claim = ++claims_;
        key_identity = s->second.key_identity;
      }
      info.attempts += 1;
      info.started_ms = now_ms();
      info.progress = info.items > 0 ? static_cast<double>(info.items_done) / info.items : 0.0;
      info.stage.clear();
      copy = info;
      break;
    }
  }
  try {
    persist_job(copy);  // "running" + attempts on disk: a crash now re-queues (up to max attempts)
  } catch (...) {
    // Storage refused the write (ENOSPC, quota): the job goes back to the head of the queue,
    // unchanged, and the caller retries later; nothing stored is lost.
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(copy.id);
    if (it != jobs_.end() && it->second.info.state == JobState::kRunning) {
      it->second.info.state = JobState::kQueued;
      it->second.info.attempts = std::max(0, it->second.info.attempts - 1);
      it->second.info.started_ms = 0;
      queue_.push_front(copy.id);
    }
    throw;
  }
  return JobClaim{copy.id,
                  copy.session_id,
                  copy.model,
                  session_dir(copy.session_id) / "eval_keys.bin",
                  key_identity,
                  jobs_dir(copy.session_id) / (copy.id + ".input"),
                  copy.items,
                  copy.items_done};
}

void JobStore::set_progress(const std::string& job_id, double fraction, const std::string& stage) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  it->second.info.progress = std::clamp(fraction, 0.0, 1.0);
  it->second.info.stage = stage;
}

std::optional<JobInfo> JobStore::job_copy(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;  // session deleted meanwhile
  return it->second.info;
}

void JobStore::store_finished(const JobInfo& info, bool touch_session) {
  persist_job(info);
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(info.id);
  if (it == jobs_.end()) return;
  it->second.info = info;
  if (touch_session) {
    auto s = sessions_.find(info.session_id);
    if (s != sessions_.end()) s->second.last_used_ms = info.finished_ms;
  }
  remove_quietly(jobs_dir(info.session_id) / (info.id + ".input"));  // its digest stays in .json
}

void JobStore::complete(const std::string& job_id, std::string_view result, double run_seconds) {
  std::optional<JobInfo> copy = job_copy(job_id);
  if (!copy) return;
  copy->state = JobState::kDone;
  copy->progress = 1.0;
  copy->finished_ms = now_ms();
  copy->run_seconds = run_seconds;
  copy->result_bytes = result.size();
  write_file_atomic(jobs_dir(copy->session_id) / (job_id + ".result"), result);
  store_finished(*copy, true);
}

void JobStore::fail(const std::string& job_id, const std::string& error, double run_seconds) {
  std::optional<JobInfo> copy = job_copy(job_id);
  if (!copy) return;
  copy->state = JobState::kFailed;
  copy->error = error;
  copy->finished_ms = now_ms();
  copy->run_seconds = run_seconds;
  store_finished(*copy, false);
}

void JobStore::complete_item(const std::string& job_id, int item, std::string_view result) {
  std::string sid;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;  // session deleted meanwhile
    const JobInfo& info = it->second.info;
    if (item != info.items_done || item >= info.items)
      throw InvalidArgument("complete_item: item " + std::to_string(item) + " is not the next of job " + job_id);
    sid = info.session_id;
  }
  write_file_atomic(item_file(sid, job_id, item), result);
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  it->second.info.items_done = item + 1;
  it->second.info.result_bytes += result.size();
}

void JobStore::complete_items(const std::string& job_id, double run_seconds) {
  std::optional<JobInfo> copy = job_copy(job_id);
  if (!copy) return;
  if (copy->items_done != copy->items)
    throw InvalidArgument("complete_items: job " + job_id + " has " + std::to_string(copy->items_done) + " of " +
                          std::to_string(copy->items) + " items done");
  copy->state = JobState::kDone;
  copy->progress = 1.0;
  copy->finished_ms = now_ms();
  copy->run_seconds = run_seconds;
  store_finished(*copy, true);
}

fs::path JobStore::item_result_path(const std::string& job_id, int item) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || item < 0 || item >= it->second.info.items_done)
    throw InvalidArgument("item_result_path: job " + job_id + " has no result for item " + std::to_string(item));
  return item_file(it->second.info.session_id, job_id, item);
}

bool JobStore::others_waiting(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  for (const auto& jid : queue_) {
    auto j = jobs_.find(jid);
    if (j != jobs_.end() && j->second.info.session_id != session_id) return true;
  }
  return false;
}

void JobStore::requeue_interrupted(const std::string& job_id) {
  JobInfo copy;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    JobInfo& info = it->second.info;
    info.state = JobState::kQueued;
    info.progress = info.items > 0 ? static_cast<double>(info.items_done) / info.items : 0.0;
    info.stage.clear();
    info.attempts = std::max(0, info.attempts - 1);  // a cancelled run is not a failed attempt
    copy = info;
    queue_.push_front(job_id);
    queue_cv_.notify_one();
  }
  persist_job(copy);  // may fail (full disk): the job is queued in memory all the same
}

std::size_t JobStore::queued_of(const std::string& session_id) const {
  std::size_t n = 0;
  for (const auto& jid : queue_) {
    auto j = jobs_.find(jid);
    n += j != jobs_.end() && j->second.info.session_id == session_id;
  }
  return n;
}

bool JobStore::has_room(std::uint64_t bytes) const {
  struct statvfs st {};
  if (::statvfs(data_dir_.c_str(), &st) != 0) return true;  // unknown: let the write decide
  const unsigned __int128 free = static_cast<unsigned __int128>(st.f_bavail) * st.f_frsize;
  return free >= static_cast<unsigned __int128>(bytes) + min_free_bytes_;
}

std::size_t JobStore::expire(std::chrono::milliseconds ttl) {
  const std::int64_t cutoff = now_ms() - ttl.count();
  std::vector<std::string> dead_sessions;
  std::vector<std::pair<std::string, std::string>> dead_jobs;
  {
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      Session& s = it->second;
      bool active = false;
      for (const auto& jid : s.jobs) active |= !finished(jobs_.at(jid).info.state);
      if (!active && s.last_used_ms < cutoff) {
        for (const auto& jid : s.jobs) jobs_.erase(jid);
        key_bytes_ -= std::min(key_bytes_, s.key_bytes);
        dead_sessions.push_back(s.id);
        it = sessions_.erase(it);
        continue;
      }
      for (auto j = s.jobs.begin(); j != s.jobs.end();) {
        const JobInfo& info = jobs_.at(*j).info;
        if (finished(info.state) && info.finished_ms < cutoff) {
          if (!info.idempotency_key.empty()) s.idempotency.erase(info.idempotency_key);
          dead_jobs.emplace_back(s.id, *j);
          jobs_.erase(*j);
          j = s.jobs.erase(j);
        } else {
          ++j;
        }
      }
      ++it;
    }
  }
  for (const auto& sid : dead_sessions) remove_session_dir(sid);
  for (const auto& [sid, jid] : dead_jobs) remove_job_files(sid, jid);
  return dead_sessions.size() + dead_jobs.size();
}

JobStoreCounts JobStore::counts() {
  std::lock_guard lock(mutex_);
  JobStoreCounts c;
  c.sessions = sessions_.size();
  for (const auto& [id, job] : jobs_) {
    switch (job.info.state) {
      case JobState::kQueued: ++c.queued; break;
      case JobState::kRunning: ++c.running; break;
      case JobState::kDone: ++c.done; break;
      case JobState::kFailed: ++c.failed; break;
    }
  }
  return c;
}

void JobStore::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  queue_cv_.notify_all();
}

}  // namespace cryptounet::server
