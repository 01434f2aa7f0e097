#include "client/inference_client.h"
#include "client/security_policy.h"

#include "cryptounet/common/file_io.h"
#include "cryptounet/common/private_directory.h"
#include "cryptounet/common/secure_random.h"
#include "cryptounet/common/sha256.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>
#include <thread>

namespace cryptounet::client {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
constexpr std::uint64_t kMaxCacheFileBytes = 1 << 20;  // a session cache file (a few hundred bytes)

std::unique_ptr<httplib::Client> make_http(const ClientOptions& o) {
  auto cli = std::make_unique<httplib::Client>(o.server_url);
  cli->set_connection_timeout(o.connect_timeout.count(), 0);
  cli->set_read_timeout(o.io_timeout.count(), 0);
  cli->set_write_timeout(o.io_timeout.count(), 0);
  cli->set_keep_alive(false);
  if (o.server_url.rfind("https://", 0) == 0) {
    cli->enable_server_certificate_verification(true);
    if (!o.ca_cert_file.empty()) cli->set_ca_cert_path(o.ca_cert_file);
  }
  return cli;
}

/// One request whose answer is read under `cap` bytes (a hostile server cannot make the client
/// buffer more): an announced or actual body above the cap ends the exchange with FormatError,
/// which is not retried. A body is sent from `body` in 1 MiB pieces (no copy), calling
/// `progress` (if set) after each.
httplib::Result capped(httplib::Client& c, const char* method, const std::string& path, httplib::Headers headers,
                       std::string_view body, std::uint64_t cap, const std::string& what,
                       const std::function<void(std::uint64_t, std::uint64_t)>& progress = {}) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = std::move(headers);
  if (!body.empty() || req.method == "POST") req.headers.emplace("Content-Type", "application/octet-stream");
  if (!body.empty()) {
    req.content_length_ = body.size();
    req.content_provider_ = [body, &progress](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
      const std::size_t n = std::min<std::size_t>({length, body.size() - offset, std::size_t{1} << 20});
      if (!sink.write(body.data() + offset, n)) return false;
      if (progress) progress(offset + n, body.size());
      return true;
    };
  }
  std::string got;
  bool too_big = false;
  req.response_handler = [&](const httplib::Response& res) {
    const std::string cl = res.get_header_value("Content-Length");
    if (!cl.empty() && (cl.size() > 19 || !std::all_of(cl.begin(), cl.end(), ::isdigit) || std::stoull(cl) > cap)) {
      too_big = true;
      return false;
    }
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (got.size() + n > cap) {
      too_big = true;
      return false;
    }
    got.append(data, n);
    return true;
  };
  httplib::Result r = c.send(req);
  if (too_big)
    throw FormatError(what + ": the server's answer is larger than the client's limit of " + std::to_string(cap) +
                      " bytes; refused");
  if (r) r->body = std::move(got);
  return r;
}

httplib::Headers auth(const Session& s) {
  return {{"Authorization", "Bearer " + s.token}};
}

/// The server's error message from a JSON body, or the raw body.
std::string message_of(const httplib::Response& res) {
  json body = json::parse(res.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string())
    return body["error"].get<std::string>();
  return res.body.substr(0, 200);
}

int retry_after_seconds(const httplib::Response& res, int cap) {
  const std::string v = res.get_header_value("Retry-After");
  int secs = 1;
  if (!v.empty() && v.size() < 6 && std::all_of(v.begin(), v.end(), ::isdigit)) secs = std::stoi(v);
  return std::clamp(secs, 0, cap);
}

/// Runs `call` with a fresh connection until it gets an answer other than 503, retrying
/// connection failures with exponential backoff (if `retry_connection`) and 503 after
/// Retry-After seconds.
template <class Call>
httplib::Result with_retries(const ClientOptions& o, const std::string& what, Call&& call,
                             bool retry_connection = true) {
  int connection_failures = 0, busy = 0;
  auto backoff = o.initial_backoff;
  for (;;) {
    auto cli = make_http(o);
    httplib::Result r = call(*cli);
    if (!r) {
      if (!retry_connection || ++connection_failures > o.max_connection_retries)
        throw IoError(what + ": no answer from " + o.server_url + " (" +
                      httplib::to_string(r.error()) + ")");
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, o.max_backoff);
      continue;
    }
    connection_failures = 0;
    backoff = o.initial_backoff;
    if (r->status == 503 && ++busy <= o.max_busy_retries) {
      std::this_thread::sleep_for(std::chrono::seconds(retry_after_seconds(*r, o.max_retry_after_seconds)));
      continue;
    }
    return r;
  }
}

void expect(const httplib::Result& r, std::initializer_list<int> ok, const std::string& what) {
  for (int s : ok)
    if (r->status == s) return;
  throw ServerError(r->status, what + ": " + message_of(*r));
}

json parse_json(const httplib::Result& r, const std::string& what) {
  json body = json::parse(r->body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    throw FormatError(what + ": the server's answer is not a JSON object");
  return body;
}

BlobRule rule_of(const json& j) {
  return BlobRule{j.at("max_bytes").get<std::uint64_t>(), j.at("exact").get<bool>()};
}

ModelInfo model_of(const json& m) {
  ModelInfo info{m.at("name").get<std::string>(), m.at("plan").dump(), rule_of(m.at("eval_keys")),
                 rule_of(m.at("ciphertext")), 1, ""};
  info.max_job_items = m.value("max_job_items", 1);  // older servers: one ciphertext per job
  if (m.contains("normalisation") && m["normalisation"].is_string())
    info.normalisation = m["normalisation"].get<std::string>();
  return info;
}

JobStatus status_of(const json& j) {
  JobStatus s;
  s.id = j.at("job_id").get<std::string>();
  s.state = j.at("state").get<std::string>();
  s.progress = j.value("progress", 0.0);
  s.stage = j.value("stage", "");
  s.error = j.value("error", "");
  s.items = j.value("items", 0);
  s.items_done = j.value("items_done", 0);
  if (s.items < 0 || s.items_done < 0 || s.items_done > s.items)
    throw FormatError("job status: the server's item counts are inconsistent");
  return s;
}

bool safe_id(const std::string& id) { return is_hex_id(id, 32); }

}  // namespace

InferenceClient::InferenceClient(ClientOptions options) : options_(std::move(options)) {
  static const std::regex url(R"(^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?/?$)");
  if (!std::regex_match(options_.server_url, url))
    throw InvalidArgument("client: server URL '" + options_.server_url +
                          "' is not http(s)://host[:port]");
  if (options_.server_url.back() == '/') options_.server_url.pop_back();
  check_transport(options_.server_url, options_.allow_http);
}

std::vector<ModelInfo> InferenceClient::list_models() {
  auto r = with_retries(options_, "list models", [this](httplib::Client& c) {
    return capped(c, "GET", "/v1/models", {}, {}, options_.max_json_bytes, "list models");
  });
  expect(r, {200}, "list models");
  std::vector<ModelInfo> out;
  try {
    const json body = parse_json(r, "list models");
    for (const auto& m : body.at("models")) out.push_back(model_of(m));
  } catch (const json::exception& e) {
    throw FormatError(std::string("list models: unexpected answer: ") + e.what());
  }
  return out;
}

ModelInfo InferenceClient::model(const std::string& name) {
  for (auto& m : list_models())
    if (m.name == name) return m;
  throw InvalidArgument("client: the server has no model '" + name + "'");
}

Session InferenceClient::create_session(const std::string& model, std::string_view eval_keys) {
  const std::string path = "/v1/models/" + model + "/sessions";
  auto r = with_retries(
      options_, "create session",
      [&](httplib::Client& c) {
        return capped(c, "POST", path, {}, eval_keys, options_.max_json_bytes, "create session",
                      options_.upload_progress);
      });
  expect(r, {201}, "create session for model '" + model + "'");
  json body = parse_json(r, "create session");
  Session s;
  try {
    s = Session{body.value("session_id", ""), body.value("token", ""), model};
  } catch (const json::exception&) {
    throw FormatError("create session: the server's answer has no valid session id and token");
  }
  if (!safe_id(s.id) || s.token.empty() || s.token.size() > 256)
    throw FormatError("create session: the server's answer has no valid session id and token");
  return s;
}

namespace {
fs::path cache_file(const ClientOptions& o, const std::string& model) {
  return o.cache_dir / ("session-" + sha256_hex(o.server_url + "\n" + model).substr(0, 32) + ".json");
}
}  // namespace

Session InferenceClient::open_session(const std::string& model, std::string_view eval_keys) {
  const std::string keys_digest = sha256_hex(eval_keys);
  if (!options_.cache_dir.empty()) {
    const fs::path file = cache_file(options_, model);
    if (fs::exists(file)) {
      try {
        json c = json::parse(read_file_string(file, kMaxCacheFileBytes));
        if (c.at("server") == options_.server_url && c.at("model") == model &&
            c.at("keys_sha256") == keys_digest) {
          Session s{c.at("session_id").get<std::string>(), c.at("token").get<std::string>(), model};
          auto r = with_retries(options_, "check session", [&](httplib::Client& cl) {
            return capped(cl, "GET", "/v1/sessions/" + s.id, auth(s), {}, options_.max_json_bytes, "check session");
          });
          if (safe_id(s.id) && r->status == 200) return s;
        }
      } catch (const json::exception&) {
        // unreadable cache entry: make a new session
      }
    }
  }
  Session s = create_session(model, eval_keys);
  if (!options_.cache_dir.empty()) {
    make_private_directory(options_.cache_dir);
    write_file_atomic(cache_file(options_, model),
                              json{{"server", options_.server_url},
                                   {"model", model},
                                   {"keys_sha256", keys_digest},
                                   {"session_id", s.id},
                                   {"token", s.token}}
                                  .dump());
  }
  return s;
}

void InferenceClient::forget_cached_session(const std::string& model) {
  if (options_.cache_dir.empty()) return;
  std::error_code ec;
  fs::remove(cache_file(options_, model), ec);
}

namespace {

// The job id of a submit reply (202 or 200), checked as a safe id.
std::string submitted_job_id(const httplib::Result& r) {
  expect(r, {202, 200}, "submit");
  std::string id;
  try {
    id = parse_json(r, "submit").value("job_id", "");
  } catch (const json::exception&) {
    throw FormatError("submit: the server's answer has no valid job id");
  }
  if (!safe_id(id)) throw FormatError("submit: the server's answer has no valid job id");
  return id;
}

}  // namespace

std::string InferenceClient::submit(const Session& session, std::string_view ciphertext,
                                    std::string idempotency_key) {
  if (idempotency_key.empty()) idempotency_key = sha256_hex(ciphertext).substr(0, 32);
  httplib::Headers headers = auth(session);
  headers.emplace("Idempotency-Key", idempotency_key);
  const std::string path = "/v1/sessions/" + session.id + "/jobs";
  auto r = with_retries(options_, "submit", [&](httplib::Client& c) {
    return capped(c, "POST", path, headers, ciphertext, options_.max_json_bytes, "submit");
  });
  return submitted_job_id(r);
}

std::string InferenceClient::submit_items(const Session& session, std::string_view body, int items,
                                          std::string idempotency_key,
                                          const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  if (items < 1) throw InvalidArgument("submit_items: a job needs at least one ciphertext");
  if (idempotency_key.empty()) idempotency_key = sha256_hex(body).substr(0, 32);
  httplib::Headers headers = auth(session);
  headers.emplace("Idempotency-Key", idempotency_key);
  const std::string path = "/v1/sessions/" + session.id + "/jobs?items=" + std::to_string(items);
  auto r = with_retries(options_, "submit", [&](httplib::Client& c) {
    return capped(c, "POST", path, headers, body, options_.max_json_bytes, "submit", progress);
  });
  return submitted_job_id(r);
}

JobStatus InferenceClient::status(const Session& session, const std::string& job_id) {
  auto r = with_retries(options_, "job status", [&](httplib::Client& c) {
    return capped(c, "GET", "/v1/jobs/" + job_id, auth(session), {}, options_.max_json_bytes, "job status");
  });
  expect(r, {200}, "job status");
  try {
    return status_of(parse_json(r, "job status"));
  } catch (const json::exception& e) {
    throw FormatError(std::string("job status: unexpected answer: ") + e.what());
  }
}

JobStatus InferenceClient::wait(const Session& session, const std::string& job_id,
                                const std::function<void(const JobStatus&)>& on_progress,
                                std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    JobStatus s = status(session, job_id);
    if (on_progress) on_progress(s);
    if (s.finished()) return s;
    if (std::chrono::steady_clock::now() > deadline)
      throw IoError("wait: job " + job_id + " not finished after " +
                    std::to_string(timeout.count()) + " s");
    std::this_thread::sleep_for(options_.poll_interval);
  }
}

std::string InferenceClient::result(const Session& session, const std::string& job_id) {
  auto r = with_retries(options_, "download result", [&](httplib::Client& c) {
    return capped(c, "GET", "/v1/jobs/" + job_id + "/result", auth(session), {}, options_.max_result_bytes,
                  "download result");
  });
  expect(r, {200}, "download result");
  return r->body;
}

std::string InferenceClient::item_result(const Session& session, const std::string& job_id, int item) {
  auto r = with_retries(options_, "download result", [&](httplib::Client& c) {
    return capped(c, "GET", "/v1/jobs/" + job_id + "/result?item=" + std::to_string(item), auth(session), {},
                  options_.max_result_bytes, "download result");
  });
  expect(r, {200}, "download result of item " + std::to_string(item));
  return r->body;
}

void InferenceClient::delete_session(const Session& session) {
  auto r = with_retries(options_, "delete session", [&](httplib::Client& c) {
    return capped(c, "DELETE", "/v1/sessions/" + session.id, auth(session), {}, options_.max_json_bytes,
                  "delete session");
  });
  expect(r, {200}, "delete session");
}

std::vector<std::string> InferenceClient::run_batch(const Session& session,
                                                    const std::vector<std::string>& ciphertexts,
                                                    const JobProgress& on_progress) {
  std::vector<std::string> jobs;
  jobs.reserve(ciphertexts.size());
  for (const auto& ct : ciphertexts) jobs.push_back(submit(session, ct));
  std::vector<std::string> results;
  results.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    JobStatus s = wait(session, jobs[i], [&](const JobStatus& st) {
      if (on_progress) on_progress(i, st);
    });
    if (s.state != "done")
      throw ServerError(422, "image " + std::to_string(i) + " (job " + jobs[i] + ") failed: " + s.error);
    results.push_back(result(session, jobs[i]));
  }
  return results;
}

}  // namespace cryptounet::client
