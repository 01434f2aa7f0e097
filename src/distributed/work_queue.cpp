#include "cryptounet/distributed/work_queue.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "cryptounet/common/error.h"

namespace cryptounet::distributed {

namespace {

using Clock = std::chrono::steady_clock;

// Message tags between rank 0 (the coordinator) and the other ranks.
enum Tag : int {
  kRequest = 101,    // rank -> 0: give me an item (empty)
  kResult = 102,     // rank -> 0: u64 item, f64 seconds, result bytes (and give me the next item)
  kHeartbeat = 103,  // rank -> 0: still computing (empty)
  kItem = 104,       // 0 -> rank: u64 item, input bytes
  kStop = 105,       // 0 -> rank: no more items (empty)
};

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get_u64(const Bytes& in, std::size_t at) {
  if (in.size() < at + 8) throw FormatError("work queue: a message of " + std::to_string(in.size()) + " bytes is too short");
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{in[at + static_cast<std::size_t>(i)]} << (8 * i);
  return v;
}
void put_f64(Bytes& out, double d) {
  std::uint64_t v;
  std::memcpy(&v, &d, 8);
  put_u64(out, v);
}
double get_f64(const Bytes& in, std::size_t at) {
  const std::uint64_t v = get_u64(in, at);
  double d;
  std::memcpy(&d, &v, 8);
  return d;
}

Bytes with_header(std::initializer_list<std::uint64_t> words, const Bytes& body) {
  Bytes out;
  out.reserve(8 * words.size() + body.size());
  for (std::uint64_t w : words) put_u64(out, w);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// Sends a heartbeat to rank 0 every `period` seconds until destroyed.
class Heartbeat {
 public:
  Heartbeat(World& world, double period) : world_(world), period_(period) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Heartbeat() {
    {
      std::lock_guard lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(m_);
    while (!cv_.wait_for(lock, std::chrono::duration<double>(period_), [this] { return stop_; })) {
      lock.unlock();
      try {
        world_.send(0, kHeartbeat, {});
      } catch (const std::exception&) {
        // The coordinator is gone; the main thread finds out at its next message.
      }
      lock.lock();
    }
  }
  World& world_;
  double period_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Rank 0's own computing, on a second thread, while the main thread serves the other ranks.
struct LocalJob {
  std::size_t item = 0;
  std::atomic<bool> done{false};
  Bytes result;
  std::exception_ptr error;
  double busy_s = 0;
  std::thread thread;
};

std::string item_error(std::size_t item, const std::string& what) {
  return "item " + std::to_string(item) + ": " + what;
}

double item_timeout_seconds(const QueueOptions& options) {
  if (options.item_timeout_s > 0) return options.item_timeout_s;
  const char* env = std::getenv("CU_MPI_ITEM_TIMEOUT_S");
  if (!env || !*env) return 0.0;
  char* end = nullptr;
  const double v = std::strtod(env, &end);
  if (end == env || *end != '\0' || !(v > 0) || v > 1e9)
    throw InvalidArgument(std::string("CU_MPI_ITEM_TIMEOUT_S: not a positive number of seconds: '") + env + "'");
  return v;
}

}  // namespace

QueueStats run_work_queue(World& world, std::size_t count, const std::function<Bytes(std::size_t)>& load,
                          const std::function<Bytes(std::size_t, Bytes)>& compute,
                          const std::function<void(std::size_t, Bytes)>& store, const QueueOptions& options) {
  const auto start = Clock::now();
  const std::uint64_t sent0 = world.bytes_sent(), received0 = world.bytes_received();
  QueueStats stats;
  const int ranks = world.size();
  if (world.rank() == 0) {
    stats.items_per_rank.assign(static_cast<std::size_t>(ranks), 0);
    stats.busy_s_per_rank.assign(static_cast<std::size_t>(ranks), 0.0);
  }

  if (!world.distributed()) {
    for (std::size_t i = 0; i < count; ++i) {
      const auto t0 = Clock::now();
      Bytes result = compute(i, load(i));
      stats.busy_s_per_rank[0] += seconds(t0, Clock::now());
      stats.items_per_rank[0] += 1;
      store(i, std::move(result));
      if (options.progress) options.progress(i + 1, count);
    }
    stats.wall_s = seconds(start, Clock::now());
    return stats;
  }

  if (world.rank() != 0) {
    // Workers: ask, compute, send the result back (which also asks for the next item).
    world.send(0, kRequest, {});
    for (;;) {
      int tag = 0;
      Bytes msg;
      world.receive(0, &tag, &msg);
      if (tag == kStop) break;
      if (tag != kItem) world.fail("work queue: unexpected message tag " + std::to_string(tag) + " from rank 0");
      const std::size_t item = static_cast<std::size_t>(get_u64(msg, 0));
      Bytes input(msg.begin() + 8, msg.end());
      msg = Bytes{};
      const auto t0 = Clock::now();
      Bytes result;
      try {
        Heartbeat hb(world, options.heartbeat_s);
        result = compute(item, std::move(input));
      } catch (const std::exception& e) {
        world.fail(item_error(item, e.what()));
      }
      Bytes reply;
      reply.reserve(16 + result.size());
      put_u64(reply, item);
      put_f64(reply, seconds(t0, Clock::now()));
      reply.insert(reply.end(), result.begin(), result.end());
      result = Bytes{};
      world.send(0, kResult, reply);
    }
    world.barrier();
    stats.wall_s = seconds(start, Clock::now());
    stats.bytes_sent = world.bytes_sent() - sent0;
    stats.bytes_received = world.bytes_received() - received0;
    return stats;
  }

  // Rank 0: the coordinator (this thread: messages, load, store) and one local job at a time.
  std::size_t next = 0, stored = 0;
  int remote_active = ranks - 1;
  std::vector<long long> holding(static_cast<std::size_t>(ranks), -1);
  std::vector<Clock::time_point> last_heard(static_cast<std::size_t>(ranks), Clock::now());
  std::vector<Clock::time_point> given_at(static_cast<std::size_t>(ranks), Clock::now());
  const double item_timeout = item_timeout_seconds(options);
  Clock::time_point local_since = Clock::now();
  std::unique_ptr<LocalJob> local;

  auto finish = [&](std::size_t item, int rank, double busy, Bytes result) {
    stats.items_per_rank[static_cast<std::size_t>(rank)] += 1;
    stats.busy_s_per_rank[static_cast<std::size_t>(rank)] += busy;
    try {
      store(item, std::move(result));
    } catch (const std::exception& e) {
      world.fail(item_error(item, e.what()));
    }
    ++stored;
    if (options.progress) options.progress(stored, count);
  };
  auto give = [&](int rank) {
    if (next < count) {
      Bytes input;
      try {
        input = load(next);
      } catch (const std::exception& e) {
        world.fail(item_error(next, e.what()));
      }
      world.send(rank, kItem, with_header({next}, input));
      holding[static_cast<std::size_t>(rank)] = static_cast<long long>(next);
      last_heard[static_cast<std::size_t>(rank)] = Clock::now();
      given_at[static_cast<std::size_t>(rank)] = Clock::now();
      ++next;
    } else {
      world.send(rank, kStop, {});
      holding[static_cast<std::size_t>(rank)] = -1;
      --remote_active;
    }
  };

  while (stored < count || remote_active > 0) {
    bool busy = false;
    int source = 0, tag = 0;
    Bytes msg;
    while (world.try_receive(&source, &tag, &msg)) {
      busy = true;
      last_heard[static_cast<std::size_t>(source)] = Clock::now();
      if (tag == kHeartbeat) continue;
      if (tag == kResult) {
        const std::size_t item = static_cast<std::size_t>(get_u64(msg, 0));
        if (holding[static_cast<std::size_t>(source)] != static_cast<long long>(item))
          world.fail("work queue: rank " + std::to_string(source) + " returned item " + std::to_string(item) +
                     " it was not given");
        const double secs = get_f64(msg, 8);
        finish(item, source, secs, Bytes(msg.begin() + 16, msg.end()));
        holding[static_cast<std::size_t>(source)] = -1;
        give(source);
      } else if (tag == kRequest) {
        give(source);
      } else {
        world.fail("work queue: unexpected message tag " + std::to_string(tag) + " from rank " +
                   std::to_string(source));
      }
    }
    if (local && local->done.load(std::memory_order_acquire)) {
      local->thread.join();
      if (local->error) {
        try {
          std::rethrow_exception(local->error);
        } catch (const std::exception& e) {
          world.fail(item_error(local->item, e.what()));
        }
      }
      finish(local->item, 0, local->busy_s, std::move(local->result));
      local.reset();
      busy = true;
    }
    if (!local && next < count) {
      auto job = std::make_unique<LocalJob>();
      job->item = next;
      Bytes input;
      try {
        input = load(next);
      } catch (const std::exception& e) {
        world.fail(item_error(next, e.what()));
      }
      ++next;
      LocalJob* j = job.get();
      j->thread = std::thread([j, &compute, in = std::move(input)]() mutable {
        const auto t0 = Clock::now();
        try {
          j->result = compute(j->item, std::move(in));
        } catch (...) {
          j->error = std::current_exception();
        }
        j->busy_s = seconds(t0, Clock::now());
        j->done.store(true, std::memory_order_release);
      });
      local = std::move(job);
      local_since = Clock::now();
      busy = true;
    }
    const auto now = Clock::now();
    auto too_long = [&](int r, long long item, double secs) {
      world.fail("rank " + std::to_string(r) + " on " + world.host_of(r) + " has been computing item " +
                 std::to_string(item) + " for " + std::to_string(static_cast<int>(secs)) +
                 " s, longer than the per-item limit of " + std::to_string(item_timeout) +
                 " s (its heartbeat is alive: the computation hangs); stopping the run (" + std::to_string(stored) +
                 " of " + std::to_string(count) + " items were finished and stored)");
    };
    if (item_timeout > 0) {
      if (local && !local->done.load(std::memory_order_acquire) && seconds(local_since, now) > item_timeout)
        too_long(0, static_cast<long long>(local->item), seconds(local_since, now));
      for (int r = 1; r < ranks; ++r) {
        const long long item = holding[static_cast<std::size_t>(r)];
        const double secs = seconds(given_at[static_cast<std::size_t>(r)], now);
        if (item >= 0 && secs > item_timeout) too_long(r, item, secs);
      }
    }
    for (int r = 1; r < ranks; ++r) {
      const long long item = holding[static_cast<std::size_t>(r)];
      const double silent = seconds(last_heard[static_cast<std::size_t>(r)], now);
      if (item >= 0 && silent > options.silence_timeout_s)
        world.fail("rank " + std::to_string(r) + " on " + world.host_of(r) + " has been silent for " +
                   std::to_string(static_cast<int>(silent)) + " s while computing item " + std::to_string(item) +
                   " (no heartbeat): it hangs or its host is unreachable; stopping the run (" +
                   std::to_string(stored) + " of " + std::to_string(count) + " items were finished and stored)");
    }
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  world.barrier();
  stats.wall_s = seconds(start, Clock::now());
  stats.bytes_sent = world.bytes_sent() - sent0;
  stats.bytes_received = world.bytes_received() - received0;
  return stats;
}

}  // namespace cryptounet::distributed
