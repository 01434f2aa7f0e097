// `cryptounet serve`: the inference server (apps/server/inference_server.h) for one or more
// models. Stops cleanly on SIGINT/SIGTERM; after a crash, restart with the same --data-dir and
// unfinished jobs run again.
#include "cli/command.h"
#include "cli/options.h"

#include "client/security_policy.h"
#include "cryptounet/common/error.h"
#include "cryptounet/common/sha256.h"
#include "cryptounet/distributed/world.h"
#include "server/inference_server.h"
#include "server/model_loader.h"
#if CU_TEST_HOOKS
#include "support/fake_model_service.h"  // tests/support: --fake-service
#endif

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <pthread.h>
#include <string>
#include <vector>

namespace cryptounet::cli {
namespace {

struct ServeOptions {
  std::vector<std::string> models;
  server::ServerConfig config;
  int ttl_seconds = 24 * 3600;
  int read_timeout_seconds = 10;
  int upload_grace_seconds = 10;
  std::uint64_t key_quota_mib = 16384;
  bool fake = false;
#if CU_TEST_HOOKS
  server::FakeModelConfig fake_config;
  int fake_stage_ms = 50;
#endif
  server::ModelLoadOptions load;
  InsecureParams insecure;
  std::string mode = "latency";
  bool mpi = false;
};

/// serve --mpi: every rank must have planned the same models the same way (the same model files
/// and cards at the same paths on every host); else a clear error on every rank.
void check_same_plans(distributed::World& world,
                      const std::vector<std::shared_ptr<const server::ModelService>>& services) {
  std::string all;
  for (const auto& s : services) all += s->name() + "\n" + s->plan_json() + "\n";
  const std::string digest = sha256_hex(all);
  const auto digests = world.allgather(std::vector<std::uint8_t>(digest.begin(), digest.end()));
  for (int r = 1; r < world.size(); ++r)
    if (digests[static_cast<std::size_t>(r)] != digests[0])
      throw InvalidArgument("serve --mpi: rank " + std::to_string(r) + " (host " + world.host_of(r) +
                            ") planned the models differently from rank 0: every host needs the same model "
                            "files and cards at the same paths, and the same options");
}

/// The HTTP server until SIGINT/SIGTERM (blocked in `signals` by run_serve).
void run_server(const ServeOptions& o, std::vector<std::shared_ptr<const server::ModelService>> services,
                const sigset_t& signals) {
  server::ServerConfig config = o.config;
  // Insecure test parameters never reach the network: only this machine may connect.
  if (o.load.insecure_test_params && !client::is_loopback_host(config.bind_address))
    throw SecurityError("serve: --insecure-test-params serves breakable parameters; it binds to loopback only "
                        "(127.0.0.1 or ::1), not '" + config.bind_address + "'");
  config.ttl = std::chrono::seconds(o.ttl_seconds);
  config.read_timeout = std::chrono::seconds(o.read_timeout_seconds);
  config.upload_grace = std::chrono::seconds(o.upload_grace_seconds);
  config.key_quota_bytes = o.key_quota_mib << 20;

  server::InferenceServer srv(config, std::move(services));
  const int port = srv.start();
  const bool tls = !config.cert_file.empty();
  std::printf("cryptounet serve: listening on %s://%s:%d (%d worker(s), queue %zu, data %s)%s\n",
              tls ? "https" : "http", config.bind_address.c_str(), port, config.workers,
              config.queue_capacity, config.data_dir.c_str(),
              o.fake ? " [FAKE test service, no cryptography]" : "");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "cryptounet serve: signal %d, stopping\n", sig);
  srv.stop();
}

void run_serve(const ServeOptions& opts) {
  // Signals go to the main thread's sigwait only: block them before any thread exists (the MPI
  // progress thread, the contexts' thread pools, the server's threads).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ServeOptions o = opts;
  if (o.mode != "latency" && o.mode != "throughput")
    throw InvalidArgument("serve: --mode '" + o.mode + "': expected latency or throughput");
  o.load.throughput = o.mode == "throughput";
  o.load.insecure_test_params = o.insecure.given;
  o.load.insecure_test_log_n = o.insecure.log_n;
  distributed::World* world = nullptr;
  if (o.mpi) {
    if (o.fake) throw InvalidArgument("serve: --mpi runs the real CKKS service (not --fake-service)");
    if (o.mode != "latency")
      throw InvalidArgument("serve: --mpi splits each image's layers across the ranks: latency mode only "
                            "(not --mode " + o.mode + ")");
    world = &distributed::World::get();
    o.load.split_world = world;
    o.load.quiet = world->rank() != 0;
  } else if (distributed::launcher_world_size() > 1) {
    throw InvalidArgument("serve: started by an MPI launcher with " + std::to_string(distributed::launcher_world_size()) +
                          " ranks: pass --mpi to split each image across them (every rank would otherwise "
                          "start its own server)");
  }
  if (world != nullptr && world->distributed()) {
    distributed::run_or_fail(*world, [&] {
      const auto services = server::load_model_services(o.models, o.load);
      check_same_plans(*world, services);
      if (world->rank() != 0) {
        server::serve_split_jobs(services, *world);  // until rank 0 stops
        return;
      }
      run_server(o, services, signals);
      server::stop_split_jobs(*world);
    });
    return;
  }
  std::vector<std::shared_ptr<const server::ModelService>> services;
#if CU_TEST_HOOKS
  if (o.fake) {
    for (const auto& name : o.models) {
      server::FakeModelConfig fc = o.fake_config;
      fc.name = name;
      fc.stage_delay = std::chrono::milliseconds(o.fake_stage_ms);
      services.push_back(std::make_shared<server::FakeModelService>(fc));
    }
  }
#endif
  if (!o.fake) services = server::load_model_services(o.models, o.load);
  run_server(o, std::move(services), signals);
}

void setup_serve(CLI::App& root) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* cmd = root.add_subcommand(
      "serve", "Serve encrypted inference over HTTP(S): clients upload public evaluation keys and "
               "ciphertexts, never a secret key");
  cmd->add_option("--model", opts->models, "Model to serve (repeatable)")->required();
  cmd->add_option("--port", opts->config.port, "TCP port (0: any free port, printed)")
      ->default_val(8080);
  cmd->add_option("--bind", opts->config.bind_address, "Address to listen on")
      ->default_val("127.0.0.1");
  cmd->add_option("--data-dir", opts->config.data_dir,
                  "Directory for sessions, queued jobs and results (survives restarts)")
      ->required();
  cmd->add_option("--workers", opts->config.workers, "Jobs run at once")->default_val(1);
  cmd->add_option("--queue", opts->config.queue_capacity,
                  "Queued jobs beyond which submissions get 503 + Retry-After")
      ->default_val(16);
  cmd->add_option("--ttl", opts->ttl_seconds,
                  "Seconds after which idle sessions and finished results are deleted")
      ->default_val(24 * 3600);
  cmd->add_option("--cert", opts->config.cert_file, "TLS certificate (PEM); with --key: HTTPS");
  cmd->add_option("--key", opts->config.key_file, "TLS private key (PEM) of the server");
  cmd->add_option("--http-threads", opts->config.http_threads, "Connections served at once")
      ->default_val(8);
  cmd->add_option("--max-jobs-per-session", opts->config.max_jobs_per_session,
                  "Stored jobs per session before 429")
      ->default_val(1024);
  cmd->add_option("--max-job-items", opts->config.max_job_items,
                  "Ciphertexts one job may hold (a volume's slices sent as one job; streamed to disk, one "
                  "ciphertext in memory at a time)")
      ->default_val(512);
  cmd->add_option("--max-sessions", opts->config.max_sessions,
                  "Stored sessions (each keeps its evaluation keys on disk) before 503")
      ->default_val(256);
  cmd->add_option("--max-upload-bytes", opts->config.max_upload_bytes_in_flight,
                  "Request-body bytes held in memory at once (0: 4x the largest blob)")
      ->default_val(0);
  // Per client address (issue 9): limits that keep one address from holding the server. Clients
  // behind one NAT or proxy share an address: raise them there (0: no limit).
  cmd->add_option("--max-connections-per-address", opts->config.max_connections_per_address,
                  "Connections one client address may hold open at once; beyond: 503 and close (0: no limit)")
      ->default_val(4)
      ->check(kNonNegative);
  cmd->add_option("--max-uploads-per-address", opts->config.max_uploads_per_address,
                  "Uploads (keys, ciphertexts) one client address may send at once; beyond: 503 + Retry-After "
                  "(0: no limit)")
      ->default_val(2)
      ->check(kNonNegative);
  cmd->add_option("--max-sessions-per-minute", opts->config.max_sessions_per_address_per_minute,
                  "Sessions one client address may create per minute; beyond: 503 + Retry-After (0: no limit)")
      ->default_val(10)
      ->check(kNonNegative);
  cmd->add_option("--key-quota-mib", opts->key_quota_mib,
                  "MiB of evaluation keys all sessions together may store; beyond: 507 (0: no quota)")
      ->default_val(16384)
      ->check(kNonNegative);
  cmd->add_flag("--log", opts->config.log_requests, "Log one line per request to stderr");
  cmd->add_option("--mode", opts->mode,
                  "Packing: latency (one image per run) or throughput (as many images per ciphertext as the ring "
                  "has rows: volumes through `client --volume` run several slices per run)")
      ->check(CLI::IsMember({"latency", "throughput"}))
      ->default_val("latency");
  cmd->add_option("--threads", opts->load.threads,
                  "Threads per job's CKKS work (0 = all cores; under --mpi: per rank, the cores shared among "
                  "the ranks of a host)")
      ->check(kNonNegative);
  cmd->add_flag("--mpi", opts->mpi,
                "Under mpirun: split each image's layers across the ranks (latency mode, as `infer --mpi`); rank "
                "0 serves HTTP, the others compute with it, one image at a time. Every host needs the same model "
                "files and cards at the same paths");
  add_insecure_params_option(cmd, opts->insecure, InsecureUse::picks_ring)
      ->description("INSECURE, tests and quick demos only: plan every model without the 128-bit check "
                    "(loopback --bind only), at N=2^LOGN (10..16; no value: the smallest ring that holds "
                    "the model's input plane)");
#if CU_TEST_HOOKS
  // Test options, listed by --help in their own group: the fake service (no cryptography,
  // tests/support) that the server tests and scripts/load_test.py use. Only in builds with
  // CU_TEST_HOOKS=ON (the default).
  const std::string test_only = "Test only (fake service, no cryptography; CU_TEST_HOOKS build)";
  cmd->add_flag("--fake-service", opts->fake,
                "Serve each --model NAME with the fake service: no cryptography, for tests and "
                "load tests of the HTTP, queue and storage path (pairs with `client --fake-crypto`)")
      ->group(test_only);
  cmd->add_option("--fake-stage-ms", opts->fake_stage_ms, "Fake service: milliseconds per job stage")
      ->group(test_only);
  cmd->add_option("--fake-stages", opts->fake_config.stages, "Fake service: stages per job")->group(test_only);
  cmd->add_option("--fake-key-bytes", opts->fake_config.eval_keys_bytes,
                  "Fake service: size of the evaluation-key blob it accepts")
      ->group(test_only);
  cmd->add_option("--fake-ciphertext-bytes", opts->fake_config.ciphertext_bytes,
                  "Fake service: size of the ciphertext blob it accepts")
      ->group(test_only);
#endif
  cmd->add_option("--read-timeout", opts->read_timeout_seconds, "Seconds one socket read may wait")
      ->default_val(10);
  cmd->add_option("--upload-grace", opts->upload_grace_seconds,
                  "Seconds an upload may take beyond what its size needs at the minimum rate")
      ->default_val(10);
  cmd->callback([opts] { run_serve(*opts); });
}

Registrar reg("serve", &setup_serve);

}  // namespace
}  // namespace cryptounet::cli
