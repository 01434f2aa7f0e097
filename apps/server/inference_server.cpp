#include "server/inference_server.h"

#include "cryptounet/common/error.h"
#include "cryptounet/common/file_io.h"
#include "cryptounet/common/private_directory.h"
#include "server/guarded_http_server.h"
#include "server/job_store.h"
#include "server/metrics.h"
#include "cryptounet/common/secure_random.h"
#include "cryptounet/common/sha256.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

namespace cryptounet::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kId = "([0-9a-f]{32})";
constexpr const char* kModelName = "([A-Za-z0-9._-]{1,64})";
constexpr std::size_t kMaxIdempotencyKey = 128;

/// Thrown through ModelService::run from the progress callback when the server stops.
struct JobCancelled {};
/// A worker could not store one item's result of a job of several ciphertexts.
struct ResultNotStored {
  std::string what;
};

bool valid_model_name(const std::string& s) {
  static const std::regex re(kModelName);
  return std::regex_match(s, re);
}

bool valid_idempotency_key(const std::string& s) {
  if (s.empty() || s.size() > kMaxIdempotencyKey) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == ':';
  });
}

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

/// Absolute file paths in a message become "<path>": clients never learn the server's layout
/// (issue 9). Everything else of the message stays.
std::string scrub_paths(const std::string& message) {
  static const std::regex path(R"((^|[\s'"(=:])/(?!v1/)[^\s'"(),;]+)");
  return std::regex_replace(message, path, "$1<path>");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, json{{"error", scrub_paths(message)}});
}

json blob_size_json(const BlobSize& s) {
  return json{{"max_bytes", s.max_bytes}, {"exact", s.exact}};
}

json job_json(const JobInfo& j) {
  json out{{"job_id", j.id},
           {"session_id", j.session_id},
           {"model", j.model},
           {"state", to_string(j.state)},
           {"progress", j.progress},
           {"stage", j.stage},
           {"attempts", j.attempts},
           {"created_ms", j.created_ms},
           {"started_ms", j.started_ms},
           {"finished_ms", j.finished_ms},
           {"run_seconds", j.run_seconds},
           {"result_bytes", j.result_bytes}};
  if (j.items > 0) {
    out["items"] = j.items;
    out["items_done"] = j.items_done;
  }
  if (!j.error.empty()) out["error"] = scrub_paths(j.error);
  return out;
}

/// The bearer token of the request; empty if there is none.
std::string bearer_token(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  static constexpr std::string_view kPrefix = "Bearer ";
  if (auth.size() <= kPrefix.size() || auth.compare(0, kPrefix.size(), kPrefix) != 0) return {};
  return auth.substr(kPrefix.size());
}

}  // namespace

struct InferenceServer::Impl {
  ServerConfig config;
  std::map<std::string, std::shared_ptr<const ModelService>> models;
  std::uint64_t largest_blob = 0;
  std::uint64_t largest_job = 0;  // a job of max_job_items ciphertexts (streamed to disk, not held)
  std::uint64_t upload_budget = 0;  // bytes of request bodies held in memory at once
  std::atomic<std::uint64_t> uploads_in_flight{0};
  std::mutex address_mutex;  // per-address upload counts and session-creation times
  std::map<std::string, int> uploads_by_address;
  std::map<std::string, std::deque<Clock::time_point>> sessions_by_address;
  std::atomic<bool> storage_trouble{false};  // a worker could not store a result or state
  JobStore store;
  Metrics metrics;
  std::unique_ptr<httplib::Server> http;
  int bound_port = 0;

  std::atomic<bool> stopping{false};
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool started = false, stopped = false, stop_done = false;
  std::thread listener;
  std::vector<std::thread> workers;
  std::thread expirer;

  Impl(ServerConfig c, std::vector<std::shared_ptr<const ModelService>> list)
      : config(std::move(c)),
        store(config.data_dir, config.queue_capacity, config.max_attempts,
              config.max_jobs_per_session, config.max_sessions) {
    if (config.data_dir.empty()) throw InvalidArgument("serve: a data directory is required");
    if (config.workers < 1) throw InvalidArgument("serve: workers must be >= 1");
    if (config.max_job_items < 1 || config.max_job_items > 100000)
      throw InvalidArgument("serve: ciphertexts per job must be 1..100000");
    if (config.http_threads < 2) throw InvalidArgument("serve: http threads must be >= 2");
    if (config.ttl.count() < 1) throw InvalidArgument("serve: ttl must be >= 1 second");
    if (config.max_connections_per_address < 0 || config.max_uploads_per_address < 0 ||
        config.max_sessions_per_address_per_minute < 0)
      throw InvalidArgument("serve: per-address limits must be >= 0 (0: no limit)");
    if (list.empty()) throw InvalidArgument("serve: at least one model is required");
    for (auto& m : list) {
      const std::string name = m->name();
      if (!valid_model_name(name))
        throw InvalidArgument("serve: model name '" + name + "' is not [A-Za-z0-9._-]{1,64}");
      if (!models.emplace(name, m).second)
        throw InvalidArgument("serve: model name '" + name + "' given twice");
      largest_blob = std::max({largest_blob, m->eval_keys_size().max_bytes,
                               m->ciphertext_size().max_bytes});
      if (m->ciphertext_size().exact)
        largest_job = std::max(largest_job, static_cast<std::uint64_t>(config.max_job_items) *
                                                m->ciphertext_size().max_bytes);
    }
    upload_budget = config.max_upload_bytes_in_flight > 0 ? config.max_upload_bytes_in_flight
                                                          : 4 * largest_blob;
    store.set_storage_limits(config.key_quota_bytes, config.min_free_disk_bytes);
    store.set_max_queued_per_session(config.max_queued_per_session > 0
                                         ? config.max_queued_per_session
                                         : std::max<std::size_t>(1, config.queue_capacity / 2));
    if (upload_budget < largest_blob)
      throw InvalidArgument("serve: the upload memory budget (" + std::to_string(upload_budget) +
                            " bytes) is smaller than the largest blob (" +
                            std::to_string(largest_blob) + ")");
  }

  // ---- request helpers ----------------------------------------------------------------------

  /// Claims `length` bytes of the upload memory budget; false if it is used up.
  bool reserve_upload(std::uint64_t length) {
    std::uint64_t now = uploads_in_flight.load();
    do {
      if (now + length > upload_budget) return false;
    } while (!uploads_in_flight.compare_exchange_weak(now, now + length));
    return true;
  }

  std::chrono::steady_clock::time_point upload_deadline(std::uint64_t length) const {
    return Clock::now() + config.upload_grace +
           std::chrono::seconds(length / std::max<std::uint64_t>(1, config.upload_min_bytes_per_second));
  }

  /// A body must keep up the minimum rate all along, not only by the final deadline: after the
  /// grace period, `received` must be at least min_rate x (elapsed - grace). A client trickling a
  /// byte every few seconds is cut off within seconds of the grace period, not after the whole
  /// announced length's deadline (issue 9: four trickling uploads held the budget ~20 minutes).
  bool keeps_min_rate(Clock::time_point start, std::uint64_t received) const {
    const auto late = Clock::now() - start - config.upload_grace;
    if (late <= Clock::duration::zero()) return true;
    const double need = std::chrono::duration<double>(late).count() *
                        static_cast<double>(config.upload_min_bytes_per_second);
    return static_cast<double>(received) >= need;
  }

  /// Claims one of the address's concurrent uploads; false if it has its maximum.
  bool claim_address_upload(const std::string& addr) {
    std::lock_guard lock(address_mutex);
    int& n = uploads_by_address[addr];
    if (config.max_uploads_per_address > 0 && n >= config.max_uploads_per_address) return false;
    ++n;
    return true;
  }
  void release_address_upload(const std::string& addr) {
    std::lock_guard lock(address_mutex);
    auto it = uploads_by_address.find(addr);
    if (it != uploads_by_address.end() && --it->second <= 0) uploads_by_address.erase(it);
  }
  /// Counts a session creation for the address; false if it made its maximum in the last minute.
  bool allow_session_from(const std::string& addr) {
    if (config.max_sessions_per_address_per_minute == 0) return true;  // no limit
    std::lock_guard lock(address_mutex);
    const auto now = Clock::now();
    for (auto it = sessions_by_address.begin(); it != sessions_by_address.end();) {
      auto& q = it->second;
      while (!q.empty() && now - q.front() > std::chrono::minutes(1)) q.pop_front();
      it = q.empty() && it->first != addr ? sessions_by_address.erase(it) : std::next(it);
    }
    auto& q = sessions_by_address[addr];
    if (static_cast<int>(q.size()) >= config.max_sessions_per_address_per_minute) return false;
    q.push_back(now);
    return true;
  }

  void busy(httplib::Response& res) {
    metrics.rejected_busy += 1;
    res.set_header("Retry-After", std::to_string(config.retry_after_seconds));
  }

  /// The store could not write a `thing` ("session", "job"): the detail (with server paths) goes
  /// to the log, not to the client, who gets 507 and Retry-After.
  void cannot_store(httplib::Response& res, const std::string& thing, const IoError& e) {
    std::fprintf(stderr, "serve: cannot store a %s: %s\n", thing.c_str(), e.what());
    busy(res);
    reply_error(res, 507, "the server cannot store the " + thing + " now (storage full?); retry later");
  }

  /// Called when a request with a body is refused before its body was read. A body of at most
  /// the largest blob size is read and discarded (within the upload deadline), so the client
  /// gets the answer and the keep-alive connection stays in step; anything else closes the
  /// connection after the answer.
  void discard_body(const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) {
    const std::string cl = req.get_header_value("Content-Length");
    const bool plain = !req.has_header("Transfer-Encoding") && !req.has_header("Content-Encoding") &&
                       !cl.empty() && cl.size() <= 19 &&
                       std::all_of(cl.begin(), cl.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (plain && std::stoull(cl) <= largest_blob) {
      const std::uint64_t length = std::stoull(cl);
      const auto deadline = upload_deadline(length);
      const auto start = Clock::now();
      std::uint64_t seen = 0;
      const bool ok = reader([&](const char*, std::size_t n) {
        seen += n;
        return seen <= length && Clock::now() <= deadline && keeps_min_rate(start, seen);
      });
      if (ok && seen == length) return;
    }
    res.set_header("Connection", "close");
  }

  /// read_blob, then the model's `validate` (throws Error) on the body: on refusal fills `res`
  /// (400 "WHAT rejected: ..." for a body the model refuses) and returns false.
  template <class Validate>
  bool read_valid_blob(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                       const BlobSize& rule, const char* what, Validate validate, std::string& body) {
    if (!read_blob(req, res, reader, rule, what, body)) return false;
    try {
      validate(body);
    } catch (const Error& e) {
      reply_error(res, 400, std::string(what) + " rejected: " + e.what());
      return false;
    }
    return true;
  }

  /// Reads a binary body under `rule`. On refusal fills `res` and returns false.
  bool read_blob(const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader, const BlobSize& rule, const char* what,
                 std::string& body) {
    body.clear();
    return read_body(req, res, reader, rule, what, 0, [&](std::uint64_t length) { body.reserve(length); },
                     [&](const char* data, std::size_t n, BodyRefusal&) {
                       body.append(data, n);
                       return true;
                     });
  }

  /// Why a body sink stopped reading (status and message for the client).
  struct BodyRefusal {
    int status = 0;
    std::string message;
  };

  /// The guards of every upload (encoding, Content-Length under `rule`, storage room, per-address
  /// and memory budgets, minimum rate) around `sink`, which gets the body piece by piece.
  /// `memory_bytes`: what the sink holds in memory at most (0: the whole length). On refusal
  /// fills `res` and returns false.
  template <class Start, class Sink>
  bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 const BlobSize& rule, const char* what, std::uint64_t memory_bytes, Start start_body, Sink sink) {
    auto refuse = [&](int status, const std::string& message) {
      discard_body(req, res, reader);
      reply_error(res, status, std::string(what) + ": " + message);
      return false;
    };
    const std::string encoding = req.get_header_value("Content-Encoding");
    if (!encoding.empty() && encoding != "identity")
      return refuse(415, "Content-Encoding '" + encoding + "' is not accepted; send the raw bytes");
    if (req.has_header("Transfer-Encoding") || !req.has_header("Content-Length"))
      return refuse(411, "a Content-Length header is required");
    const std::string cl = req.get_header_value("Content-Length");
    if (cl.empty() || cl.size() > 19 ||
        !std::all_of(cl.begin(), cl.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return refuse(400, "bad Content-Length '" + cl + "'");
    const std::uint64_t length = std::stoull(cl);
    if (length > rule.max_bytes)
      return refuse(413, std::to_string(length) + " bytes is larger than the limit of " +
                             std::to_string(rule.max_bytes));
    if (rule.exact && length != rule.max_bytes)
      return refuse(400, "must be exactly " + std::to_string(rule.max_bytes) +
                             " bytes, got Content-Length " + std::to_string(length));
    if (!store.has_room(length)) {
      busy(res);
      return refuse(507, "the server's storage is full; retry later");
    }
    const std::string addr = req.remote_addr;
    if (!claim_address_upload(addr)) {
      busy(res);
      return refuse(503, "too many uploads in progress from your address (" +
                             std::to_string(config.max_uploads_per_address) + "); retry later");
    }
    struct ReleaseAddress {
      Impl* self;
      const std::string& addr;
      ~ReleaseAddress() { self->release_address_upload(addr); }
    } release_address{this, addr};
    const std::uint64_t held = memory_bytes > 0 ? std::min(memory_bytes, length) : length;
    if (!reserve_upload(held)) {  // the body is read and dropped, so the client sees the 503
      busy(res);
      return refuse(503, "too many uploads in progress; retry later");
    }
    struct Release {
      Impl* self;
      std::uint64_t n;
      ~Release() { self->uploads_in_flight -= n; }
    } release{this, held};
    start_body(length);
    const auto deadline = upload_deadline(length);
    const auto start = Clock::now();
    bool too_slow = false, too_long = false;
    BodyRefusal refusal;
    std::uint64_t received = 0;
    const bool ok = reader([&](const char* data, std::size_t n) {
      if (received + n > length) {
        too_long = true;
        return false;
      }
      if (Clock::now() > deadline || !keeps_min_rate(start, received + n)) {
        too_slow = true;
        return false;
      }
      received += n;
      return sink(data, n, refusal);
    });
    if (refusal.status != 0) {
      res.set_header("Connection", "close");
      reply_error(res, refusal.status, std::string(what) + ": " + refusal.message);
      return false;
    }
    if (too_slow) {
      res.set_header("Connection", "close");
      reply_error(res, 408, std::string(what) + ": upload too slow (" + std::to_string(received) + " of " +
                                std::to_string(length) + " bytes; at least " +
                                std::to_string(config.upload_min_bytes_per_second) +
                                " bytes/s are needed after the first " +
                                std::to_string(config.upload_grace.count()) + " s)");
      return false;
    }
    if (!ok || too_long || received != length) {
      res.set_header("Connection", "close");
      reply_error(res, 400, std::string(what) + ": truncated body (" +
                                std::to_string(received) + " of " + std::to_string(length) +
                                " bytes)");
      return false;
    }
    return true;
  }

  /// Checks the bearer token for `session_id`; returns the model or fills `res` (401/404).
  std::optional<std::string> authorize(const httplib::Request& req, httplib::Response& res,
                                       const std::string& session_id, const char* not_found) {
    const std::string token = bearer_token(req);
    if (token.empty()) {
      res.set_header("WWW-Authenticate", "Bearer");
      reply_error(res, 401, "missing bearer token (Authorization: Bearer <token>)");
      return std::nullopt;
    }
    auto model = store.authorize(session_id, token);
    if (!model) reply_error(res, 404, not_found);
    return model;
  }

  /// For /v1/jobs/{id}: the job if the token belongs to its session; else fills `res`.
  std::optional<JobInfo> authorized_job(const httplib::Request& req, httplib::Response& res,
                                        const std::string& job_id) {
    static const char* kNotFound = "job not found (or the token does not match)";
    const std::string token = bearer_token(req);
    if (token.empty()) {
      res.set_header("WWW-Authenticate", "Bearer");
      reply_error(res, 401, "missing bearer token (Authorization: Bearer <token>)");
      return std::nullopt;
    }
    auto sid = store.job_session(job_id);
    // An unknown job still pays for a token hash so both cases take similar time.
    if (!sid || !store.authorize(*sid, token)) {
      if (!sid) (void)sha256_hex(token);
      reply_error(res, 404, kNotFound);
      return std::nullopt;
    }
    auto info = store.job(job_id, *sid);
    if (!info) reply_error(res, 404, kNotFound);
    return info;
  }

  json model_json(const ModelService& m) const {
    json plan;
    const std::string text = m.plan_json();
    plan = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (plan.is_discarded()) plan = text;
    return json{{"name", m.name()},
                {"plan", plan},
                {"eval_keys", blob_size_json(m.eval_keys_size())},
                {"ciphertext", blob_size_json(m.ciphertext_size())},
                {"max_job_items", m.ciphertext_size().exact ? config.max_job_items : 1},
                {"normalisation", m.normalisation()}};
  }

  // ---- routes -------------------------------------------------------------------------------

  void install_routes() {
    httplib::Server& s = *http;
    s.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
      const auto c = store.counts();
      reply_json(res, 200,
                 json{{"status", "ok"},
                      {"workers", config.workers},
                      {"queue_capacity", config.queue_capacity},
                      {"queued", c.queued},
                      {"running", c.running}});
    });
    s.Get("/v1/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const auto c = store.counts();
      json out = metrics.to_json();
      out["sessions"] = c.sessions;
      out["jobs"] = {{"queued", c.queued}, {"running", c.running}, {"done", c.done},
                     {"failed", c.failed}};
      reply_json(res, 200, out);
    });
    s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      json list = json::array();
      for (const auto& [name, m] : models) list.push_back(model_json(*m));
      reply_json(res, 200, json{{"api", "v1"}, {"models", list}});
    });
    s.Get(std::string("/v1/models/") + kModelName,
          [this](const httplib::Request& req, httplib::Response& res) {
            auto it = models.find(req.matches[1].str());
            if (it == models.end()) return reply_error(res, 404, "unknown model");
            reply_json(res, 200, model_json(*it->second));
          });
    s.Post(std::string("/v1/models/") + kModelName + "/sessions",
           [this](const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader) { create_session(req, res, reader); });
    s.Get(std::string("/v1/sessions/") + kId,
          [this](const httplib::Request& req, httplib::Response& res) {
            const std::string sid = req.matches[1].str();
            auto model = authorize(req, res, sid, "session not found (or the token does not match)");
            if (!model) return;
            json jobs = json::array();
            for (const auto& j : store.session_jobs(sid)) jobs.push_back(job_json(j));
            reply_json(res, 200, json{{"session_id", sid}, {"model", *model}, {"jobs", jobs}});
          });
    s.Delete(std::string("/v1/sessions/") + kId,
             [this](const httplib::Request& req, httplib::Response& res) {
               const std::string sid = req.matches[1].str();
               if (!authorize(req, res, sid, "session not found (or the token does not match)"))
                 return;
               store.delete_session(sid);
               reply_json(res, 200, json{{"deleted", sid}});
             });
    s.Post(std::string("/v1/sessions/") + kId + "/jobs",
           [this](const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader) { submit_job(req, res, reader); });
    s.Get(std::string("/v1/jobs/") + kId,
          [this](const httplib::Request& req, httplib::Response& res) {
            auto info = authorized_job(req, res, req.matches[1].str());
            if (info) reply_json(res, 200, job_json(*info));
          });
    s.Get(std::string("/v1/jobs/") + kId + "/result",
          [this](const httplib::Request& req, httplib::Response& res) {
            auto info = authorized_job(req, res, req.matches[1].str());
            if (!info) return;
            if (info->items > 0 || req.has_param("item")) return send_item_result(req, res, *info);
            if (info->state != JobState::kDone) {
              json body = job_json(*info);
              body["error"] = info->state == JobState::kFailed
                                  ? "job failed: " + info->error
                                  : std::string("job not finished (") + to_string(info->state) + ")";
              return reply_json(res, 409, body);
            }
            send_file(res, [&] { return store.result_path(info->id); });
          });
  }

  /// GET /v1/jobs/{jid}/result?item=I of a job of several ciphertexts: item I's result as soon
  /// as it is stored (the job may still run on the next items).
  void send_item_result(const httplib::Request& req, httplib::Response& res, const JobInfo& info) {
    if (info.items == 0) return reply_error(res, 400, "this job holds one ciphertext; fetch /result without ?item");
    const std::string text = req.get_param_value("item");
    if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return reply_error(res, 400, "this job holds " + std::to_string(info.items) +
                                       " ciphertexts; name one with ?item=0.." + std::to_string(info.items - 1));
    const long item = std::stol(text);
    if (item >= info.items)
      return reply_error(res, 404, "item " + text + " is beyond the job's " + std::to_string(info.items) + " items");
    if (item >= info.items_done) {
      json body = job_json(info);
      body["error"] = info.state == JobState::kFailed ? "job failed: " + info.error
                                                       : "item " + text + " not finished yet (" +
                                                             std::to_string(info.items_done) + " of " +
                                                             std::to_string(info.items) + " done)";
      return reply_json(res, 409, body);
    }
    send_file(res, [&] { return store.item_result_path(info.id, static_cast<int>(item)); });
  }

  /// Streams a result file (a 64 KiB buffer, not the file's size). The open descriptor keeps the
  /// bytes readable even if the job expires meanwhile.
  template <class PathOf>
  void send_file(httplib::Response& res, PathOf path_of) {
    int fd = -1;
    try {
      fd = ::open(path_of().c_str(), O_RDONLY | O_CLOEXEC);
    } catch (const Error&) {
    }
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      if (fd >= 0) ::close(fd);
      return reply_error(res, 404, "result no longer available");
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    metrics.bytes_out += size;
    res.status = 200;
    res.set_content_provider(
        size, "application/octet-stream",
        [fd](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          char buf[1 << 16];
          const ssize_t n = ::pread(fd, buf, std::min(length, sizeof buf), static_cast<off_t>(offset));
          if (n <= 0) return false;
          return sink.write(buf, static_cast<std::size_t>(n));
        },
        [fd](bool) { ::close(fd); });
  }

  void create_session(const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) {
    auto it = models.find(req.matches[1].str());
    if (it == models.end()) {
      discard_body(req, res, reader);
      return reply_error(res, 404, "unknown model");
    }
    const ModelService& model = *it->second;
    if (!allow_session_from(req.remote_addr)) {
      discard_body(req, res, reader);
      busy(res);
      return reply_error(res, 503, "too many sessions created from your address in the last minute (" +
                                       std::to_string(config.max_sessions_per_address_per_minute) +
                                       "); retry later");
    }
    std::string keys, key_identity;
    if (!read_valid_blob(req, res, reader, model.eval_keys_size(), "evaluation keys",
                         [&](std::string_view k) { key_identity = model.validate_eval_keys(k); }, keys))
      return;
    try {
      auto created = store.create_session(model.name(), keys, std::move(key_identity));
      metrics.bytes_in += keys.size();
      res.set_header("Location", "/v1/sessions/" + created.id);
      reply_json(res, 201, json{{"session_id", created.id},
                                {"token", created.token},
                                {"model", model.name()},
                                {"ttl_seconds", config.ttl.count()}});
    } catch (const TooManySessions&) {
      busy(res);
      reply_error(res, 503, "the server holds its maximum of " + std::to_string(config.max_sessions) +
                                " sessions; retry later");
    } catch (const KeyQuotaFull&) {
      busy(res);
      reply_error(res, 507, "the server's storage quota for evaluation keys is used up; retry later");
    } catch (const IoError& e) {
      cannot_store(res, "session", e);
    }
  }

  void submit_job(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader) {
    const std::string sid = req.matches[1].str();
    // The token is checked before the body is stored or validated. A refused body (at most the
    // largest blob size) is still read and dropped so that the client gets the 401/404 rather
    // than a reset connection, and can open a new session.
    auto model_name = authorize(req, res, sid, "session not found (or the token does not match)");
    if (!model_name) {
      discard_body(req, res, reader);
      return;
    }
    const std::string key = req.get_header_value("Idempotency-Key");
    if (req.has_header("Idempotency-Key") && !valid_idempotency_key(key)) {
      discard_body(req, res, reader);
      return reply_error(res, 400, "Idempotency-Key must be 1..128 characters of [A-Za-z0-9._:-]");
    }
    const ModelService& model = *models.at(*model_name);
    if (req.has_param("items")) return submit_items(req, res, reader, sid, key, model);
    std::string ct;
    if (!read_valid_blob(req, res, reader, model.ciphertext_size(), "ciphertext",
                         [&](std::string_view c) { model.validate_ciphertext(c); }, ct))
      return;
    queue_job(res, ct.size(), [&] { return store.submit_job(sid, key, ct); });
  }

  /// POST /v1/sessions/{sid}/jobs?items=N: one job of N ciphertexts back to back (a volume's
  /// slices or throughput batches). The body goes to a staging file as it arrives, each
  /// ciphertext validated as soon as it is complete: memory holds one ciphertext, not the job.
  void submit_items(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                    const std::string& sid, const std::string& key, const ModelService& model) {
    const BlobSize one = model.ciphertext_size();
    const std::string text = req.get_param_value("items");
    auto refuse = [&](int status, const std::string& message) {
      discard_body(req, res, reader);
      reply_error(res, status, "job of several ciphertexts: " + message);
    };
    if (!one.exact) return refuse(400, "model '" + model.name() + "' has no fixed ciphertext size; submit one ciphertext per job");
    if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return refuse(400, "items must be a whole number from 1 to " + std::to_string(config.max_job_items) + ", got '" +
                             text.substr(0, 16) + "'");
    const long items = std::stol(text);
    if (items < 1 || items > config.max_job_items)
      return refuse(413, std::to_string(items) + " ciphertexts is more than this server takes in one job (" +
                             std::to_string(config.max_job_items) + "); split the volume into several jobs");
    const BlobSize whole{static_cast<std::uint64_t>(items) * one.max_bytes, true};
    std::filesystem::path staged;
    try {
      staged = store.staging_path(sid);
    } catch (const InvalidArgument&) {
      return refuse(404, "session not found (or the token does not match)");
    }
    int fd = -1;
    struct Close {
      int& fd;
      const std::filesystem::path& path;
      ~Close() {
        if (fd >= 0) ::close(fd);
        std::error_code ec;
        std::filesystem::remove(path, ec);  // gone already once submitted
      }
    } close_staged{fd, staged};
    std::string piece;
    Sha256 digest;
    std::uint64_t index = 0;
    const bool read = read_body(
        req, res, reader, whole, "ciphertexts", one.max_bytes,
        [&](std::uint64_t) {
          fd = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
          piece.reserve(one.max_bytes);
        },
        [&](const char* data, std::size_t n, BodyRefusal& refusal) {
          if (fd < 0) {
            refusal = {507, "the server cannot store the job now; retry later"};
            return false;
          }
          while (n > 0) {
            const std::size_t take = std::min<std::size_t>(n, one.max_bytes - piece.size());
            piece.append(data, take);
            data += take;
            n -= take;
            if (piece.size() < one.max_bytes) break;
            try {
              model.validate_ciphertext(piece);
            } catch (const Error& e) {
              refusal = {400, "item " + std::to_string(index) + " of " + std::to_string(items) + " rejected: " + e.what()};
              return false;
            }
            digest.update(piece);
            for (std::size_t off = 0; off < piece.size();) {
              const ssize_t w = ::write(fd, piece.data() + off, piece.size() - off);
              if (w <= 0) {
                refusal = {507, "the server cannot store the job now (storage full?); retry later"};
                return false;
              }
              off += static_cast<std::size_t>(w);
            }
            piece.clear();
            ++index;
          }
          return true;
        });
    if (!read) return;
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      fd = -1;
      busy(res);
      return reply_error(res, 507, "the server cannot store the job now (storage full?); retry later");
    }
    fd = -1;
    queue_job(res, whole.max_bytes, [&] {
      std::string hex;
      for (std::uint8_t b : digest.finish()) {
        static constexpr char kHex[] = "0123456789abcdef";
        hex += kHex[b >> 4];
        hex += kHex[b & 15];
      }
      return store.submit_items(sid, key, hex, static_cast<int>(items), staged);
    });
  }

  /// Queues a job through `submit` (a JobStore call) and answers 202/200, or maps its refusal.
  template <class Submit>
  void queue_job(httplib::Response& res, std::uint64_t bytes, Submit submit) {
    try {
      auto submitted = submit();
      if (submitted.created) metrics.bytes_in += bytes;
      res.set_header("Location", "/v1/jobs/" + submitted.job_id);
      reply_json(res, submitted.created ? 202 : 200,
                 json{{"job_id", submitted.job_id}, {"duplicate", !submitted.created}});
    } catch (const QueueFull&) {
      busy(res);
      reply_error(res, 503, "queue full (" + std::to_string(config.queue_capacity) +
                                " jobs waiting); retry later");
    } catch (const TooManyJobs&) {
      reply_error(res, 429, "session holds its maximum of " +
                                std::to_string(config.max_jobs_per_session) +
                                " jobs; fetch results and delete the session or wait for expiry");
    } catch (const IdempotencyConflict& c) {
      reply_json(res, 409, json{{"error", "Idempotency-Key was used for a different ciphertext"},
                                {"job_id", c.job_id}});
    } catch (const InvalidArgument&) {
      reply_error(res, 404, "session not found (or the token does not match)");
    } catch (const SessionQueueFull&) {
      busy(res);
      reply_error(res, 503, "this session has its share of the queue waiting; retry later");
    } catch (const IoError& e) {
      cannot_store(res, "job", e);
    }
  }

  // ---- workers and expiry -------------------------------------------------------------------

  /// After a storage failure: wait (growing to 5 s) unless the server stops.
  void storage_backoff(std::chrono::milliseconds& wait) {
    std::unique_lock lock(stop_mutex);
    stop_cv.wait_for(lock, wait, [&] { return stopping.load(); });
    wait = std::min(wait * 2, std::chrono::milliseconds(5000));
  }

  void worker_loop() {
    std::chrono::milliseconds backoff{100};
    for (;;) {
      std::optional<JobClaim> claim;
      try {
        claim = store.claim_next();
      } catch (const std::exception& e) {
        // The "running" state could not be written (full disk): the job is back in the queue.
        if (!storage_trouble.exchange(true))
          std::fprintf(stderr, "serve: cannot store job state (%s); retrying\n", e.what());
        storage_backoff(backoff);
        continue;
      }
      if (!claim) break;
      const auto t0 = Clock::now();
      auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
      std::string stage;
      auto stage_start = t0;
      auto end_stage = [&] {
        if (!stage.empty())
          metrics.add_stage(stage, std::chrono::duration<double>(Clock::now() - stage_start).count());
      };
      try {
        auto model_it = models.find(claim->model);
        if (model_it == models.end()) throw Unsupported("model '" + claim->model + "' is not served");
        // Read only when the service does not know this session's keys yet.
        const SessionKeys keys{claim->session_id, claim->key_identity, [path = claim->eval_keys_path] {
                                 return read_file_string(path, kOwnFileAnySize);
                               }};
        const int items = claim->items;
        int item = claim->first_item;
        const ProgressCallback progress = [&](double fraction, std::string_view name) {
          if (stopping) throw JobCancelled{};
          if (name != stage) {
            end_stage();
            stage.assign(name);
            stage_start = Clock::now();
          }
          if (items == 0)
            store.set_progress(claim->job_id, fraction, stage);
          else  // the whole job's fraction; the stage names the item
            store.set_progress(claim->job_id, (item + std::clamp(fraction, 0.0, 1.0)) / items,
                               "item " + std::to_string(item + 1) + "/" + std::to_string(items) + ": " + stage);
        };
        std::string result;
        bool yielded = false;
        try {
        if (items == 0) {
          const std::string input = read_file_string(claim->input_path, kOwnFileAnySize);
          result = model_it->second->run(keys, input, progress);
        } else {
          // One ciphertext at a time from the input file; each result is stored (and can be
          // fetched) as soon as it is ready, and a resumed job starts at its first missing item.
          const std::uint64_t one = model_it->second->ciphertext_size().max_bytes;
          std::ifstream in(claim->input_path, std::ios::binary);
          if (!in) throw IoError("cannot read the job's input");
          std::string ct(one, '\0');
          for (; item < items; ++item) {
            in.seekg(static_cast<std::streamoff>(one * static_cast<std::uint64_t>(item)));
            if (!in.read(ct.data(), static_cast<std::streamsize>(one)))
              throw IoError("the job's input is shorter than its " + std::to_string(items) + " items");
            const std::string out = model_it->second->run(keys, ct, progress);
            try {
              store.complete_item(claim->job_id, item, out);
            } catch (const std::exception& e) {
              throw ResultNotStored{e.what()};
            }
            // Fair to other sessions: a volume does not hold the worker for all its items while
            // others wait; it goes back to the queue and resumes at its next item.
            if (item + 1 < items && store.others_waiting(claim->session_id)) {
              yielded = true;
              break;
            }
          }
        }
        } catch (const ResultNotStored& e) {
          // An item's result could not be stored (full disk): not the job's fault. It goes back to
          // the queue and resumes at this item once there is room.
          if (!storage_trouble.exchange(true))
            std::fprintf(stderr, "serve: cannot store a result (%s); the job will run again\n", e.what.c_str());
          try {
            store.requeue_interrupted(claim->job_id);
          } catch (const std::exception&) {
          }
          storage_backoff(backoff);
          continue;
        }
        end_stage();
        if (yielded) {
          try {
            store.requeue_interrupted(claim->job_id);
          } catch (const std::exception&) {
          }
          continue;
        }
        const double secs = elapsed();
        try {
          if (items == 0)
            store.complete(claim->job_id, result, secs);
          else
            store.complete_items(claim->job_id, secs);
        } catch (const std::exception& e) {
          // The result could not be stored (full disk): not the job's fault. It goes back to the
          // queue with its input kept and runs again once there is room.
          if (!storage_trouble.exchange(true))
            std::fprintf(stderr, "serve: cannot store a result (%s); the job will run again\n", e.what());
          try {
            store.requeue_interrupted(claim->job_id);
          } catch (const std::exception&) {
          }
          storage_backoff(backoff);
          continue;
        }
        if (storage_trouble.exchange(false)) std::fprintf(stderr, "serve: storing results again\n");
        backoff = std::chrono::milliseconds(100);
        metrics.add_run(secs, true);
      } catch (const JobCancelled&) {
        try {
          store.requeue_interrupted(claim->job_id);
        } catch (const std::exception&) {
        }
      } catch (const std::exception& e) {
        const bool ours = dynamic_cast<const Error*>(&e) != nullptr;
        const std::string message = ours ? e.what() : std::string("internal error: ") + e.what();
        try {
          store.fail(claim->job_id, message, elapsed());
        } catch (const std::exception& e2) {
          std::fprintf(stderr, "serve: job %s failed (%s) and its state could not be stored: %s\n",
                       claim->job_id.c_str(), message.c_str(), e2.what());
        }
        metrics.add_run(elapsed(), false);
      }
    }
  }

  void expiry_loop() {
    auto interval = config.expiry_interval;
    if (interval.count() <= 0)
      interval = std::clamp<std::chrono::milliseconds>(
          std::chrono::duration_cast<std::chrono::milliseconds>(config.ttl) / 4,
          std::chrono::milliseconds(100), std::chrono::milliseconds(60000));
    std::unique_lock lock(stop_mutex);
    while (!stop_cv.wait_for(lock, interval, [&] { return stopping.load(); })) {
      lock.unlock();
      try {
        store.expire(std::chrono::duration_cast<std::chrono::milliseconds>(config.ttl));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: expiry failed: %s\n", e.what());
      }
      lock.lock();
    }
  }

  int start() {
    {
      std::lock_guard lock(stop_mutex);
      if (started) throw InvalidArgument("InferenceServer::start: already started");
      started = true;
    }
    make_private_directory(config.data_dir);
    std::set<std::string> names;
    for (const auto& [name, m] : models) names.insert(name);
    const std::size_t requeued = store.load(names);
    if (requeued > 0) std::fprintf(stderr, "serve: re-queued %zu unfinished job(s)\n", requeued);

    if (!config.cert_file.empty() || !config.key_file.empty()) {
      if (config.cert_file.empty() || config.key_file.empty())
        throw InvalidArgument("serve: --cert and --key go together");
      http = std::make_unique<GuardedHttpServer>(config.max_header_bytes, config.header_timeout,
                                                 config.cert_file, config.key_file);
      if (!http->is_valid())
        throw IoError("serve: cannot load certificate " + config.cert_file + " / key " +
                      config.key_file + " (PEM, matching pair)");
    } else {
      http = std::make_unique<GuardedHttpServer>(config.max_header_bytes, config.header_timeout);
    }
    static_cast<GuardedHttpServer&>(*http).set_max_connections_per_address(config.max_connections_per_address);
    const int threads = config.http_threads;
    http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http->set_read_timeout(config.read_timeout.count(), 0);
    http->set_write_timeout(config.write_timeout.count(), 0);
    http->set_keep_alive_timeout(5);
    http->set_payload_max_length(std::max(largest_blob, largest_job));
    http->set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) {
        if (res.status == 404) reply_error(res, 404, "no such endpoint");
        else if (res.status == 413) reply_error(res, 413, "request body too large");
        else reply_error(res, res.status, "request refused");
      }
    });
    http->set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          std::fprintf(stderr, "serve: internal error: %s\n", what.c_str());
          reply_error(res, 500, "internal server error");
        });
    http->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      metrics.requests += 1;
      if (res.status >= 500) metrics.server_errors += 1;
      else if (res.status >= 400) metrics.client_errors += 1;
      if (config.log_requests)
        std::fprintf(stderr, "%s %s -> %d\n", req.method.c_str(), req.path.c_str(), res.status);
    });
    install_routes();

    if (config.port == 0) {
      bound_port = http->bind_to_any_port(config.bind_address);
      if (bound_port <= 0) throw IoError("serve: cannot bind " + config.bind_address);
    } else {
      if (!http->bind_to_port(config.bind_address, config.port))
        throw IoError("serve: cannot bind " + config.bind_address + ":" + std::to_string(config.port));
      bound_port = config.port;
    }
    for (int i = 0; i < config.workers; ++i) workers.emplace_back([this] { worker_loop(); });
    expirer = std::thread([this] { expiry_loop(); });
    listener = std::thread([this] { http->listen_after_bind(); });
    // httplib's stop() does nothing until the listen loop runs, so a stop right after start
    // would leave the listener running forever: return only once it runs.
    const auto ready_by = Clock::now() + std::chrono::seconds(10);
    while (!http->is_running()) {
      if (Clock::now() > ready_by) throw IoError("serve: the HTTP listener did not start");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return bound_port;
  }

  void stop() {
    {
      std::unique_lock lock(stop_mutex);
      if (stopped) {  // another thread is stopping or has stopped: wait until it is done
        stop_cv.wait(lock, [&] { return stop_done; });
        return;
      }
      stopped = true;
      stopping = true;
    }
    stop_cv.notify_all();
    if (http) http->stop();
    store.stop();
    if (listener.joinable()) listener.join();
    for (auto& w : workers)
      if (w.joinable()) w.join();
    if (expirer.joinable()) expirer.join();
    {
      std::lock_guard lock(stop_mutex);
      stop_done = true;
    }
    stop_cv.notify_all();
  }

  void wait() {
    std::unique_lock lock(stop_mutex);
    stop_cv.wait(lock, [&] { return stop_done; });
  }
};

InferenceServer::InferenceServer(ServerConfig config,
                                 std::vector<std::shared_ptr<const ModelService>> models)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(models))) {}

InferenceServer::~InferenceServer() { impl_->stop(); }

int InferenceServer::start() { return impl_->start(); }
void InferenceServer::stop() { impl_->stop(); }
void InferenceServer::wait() { impl_->wait(); }
int InferenceServer::port() const { return impl_->bound_port; }

}  // namespace cryptounet::server
