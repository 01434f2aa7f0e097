#include "cryptounet/distributed/world.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "mpi_lock.h"

#ifdef CU_HAVE_MPI
#include <mpi.h>
#endif

namespace cryptounet::distributed {

std::mutex& mpi_mutex() {
  static std::mutex m;
  return m;
}

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return (end != nullptr && *end == '\0' && n > 0 && n < INT_MAX) ? static_cast<int>(n) : 0;
}

#ifdef CU_HAVE_MPI
void pause_briefly() { std::this_thread::sleep_for(std::chrono::microseconds(500)); }

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw IoError(std::string("MPI ") + what + " failed: " + std::string(text, static_cast<std::size_t>(len)) +
                " (a rank died or the network failed)");
}

// Completes a non-blocking request by polling (a waiting rank must not spin a shared core).
void wait_quietly(MPI_Request* req, const char* what) {
  for (;;) {
    int done = 0;
    {
      std::lock_guard lock(mpi_mutex());
      check(MPI_Test(req, &done, MPI_STATUS_IGNORE), what);
    }
    if (done) return;
    pause_briefly();
  }
}

// Written from the SIGTERM handler: the MPI launcher sends SIGTERM to every rank when one rank
// dies or calls MPI_Abort; say so in one line instead of disappearing silently.
char g_term_message[256];
std::size_t g_term_len = 0;

extern "C" void on_sigterm(int) {
  if (g_term_len > 0) {
    ssize_t ignored = ::write(STDERR_FILENO, g_term_message, g_term_len);
    (void)ignored;
  }
  ::_exit(143);
}

// MPI_Alltoallv's int counts and displacements for these byte counts, and the byte totals.
struct ExchangeLayout {
  std::vector<int> scounts, sdispls, rcounts, rdispls;
  std::uint64_t stotal = 0, rtotal = 0;
};

ExchangeLayout exchange_layout(const std::vector<std::uint64_t>& send, const std::vector<std::uint64_t>& recv,
                               const char* what) {
  const std::size_t R = send.size();
  ExchangeLayout l{std::vector<int>(R), std::vector<int>(R), std::vector<int>(R), std::vector<int>(R)};
  for (std::size_t r = 0; r < R; ++r) {
    if (l.stotal + send[r] > static_cast<std::uint64_t>(INT_MAX) ||
        l.rtotal + recv[r] > static_cast<std::uint64_t>(INT_MAX))
      throw InvalidArgument(std::string(what) + ": more than 2 GiB in one exchange");
    l.scounts[r] = static_cast<int>(send[r]);
    l.sdispls[r] = static_cast<int>(l.stotal);
    l.stotal += send[r];
    l.rcounts[r] = static_cast<int>(recv[r]);
    l.rdispls[r] = static_cast<int>(l.rtotal);
    l.rtotal += recv[r];
  }
  return l;
}
#endif

constexpr std::size_t kChunk = std::size_t{1} << 30;  // MPI counts are ints: broadcast in 1 GiB pieces

}  // namespace

bool built_with_mpi() {
#ifdef CU_HAVE_MPI
  return true;
#else
  return false;
#endif
}

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    const int n = env_int(name);
    if (n > 0) return n;
  }
  return 1;
}

World& World::get() {
  static World world;
  return world;
}

World::World() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) std::strcpy(name, "?");
  host_ = name;
  hosts_ = {host_};
  const int announced = launcher_world_size();
  if (announced <= 1) return;
#ifndef CU_HAVE_MPI
  throw InvalidArgument("an MPI launcher started " + std::to_string(announced) +
                        " ranks, but this cryptounet was built without MPI (-DCU_MPI=OFF); each rank would do "
                        "the whole job: rebuild with libopenmpi-dev installed, or run one process");
#else
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "init");
  mpi_ = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_SERIALIZED)
    fail("this MPI library gives thread level " + std::to_string(provided) +
         "; CryptoUNet needs MPI_THREAD_SERIALIZED (heartbeats run on a second thread)");
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "comm_size");
  std::vector<char> all(static_cast<std::size_t>(size_) * 64, '\0');
  char mine[64] = {};
  std::snprintf(mine, sizeof mine, "%.63s", name);
  check(MPI_Allgather(mine, 64, MPI_CHAR, all.data(), 64, MPI_CHAR, MPI_COMM_WORLD), "allgather (host names)");
  MPI_Comm local;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local), "comm_split_type");
  check(MPI_Comm_size(local, &ranks_on_host_), "comm_size (host)");
  check(MPI_Allreduce(&rank_, &host_leader_, 1, MPI_INT, MPI_MIN, local), "allreduce (host leader)");
  MPI_Comm_free(&local);
  hosts_.clear();
  for (int r = 0; r < size_; ++r) hosts_.emplace_back(all.data() + static_cast<std::size_t>(r) * 64);
  g_term_len = static_cast<std::size_t>(
      std::snprintf(g_term_message, sizeof g_term_message,
                    "cryptounet (rank %d of %d on %s): stopped by the MPI launcher: another rank failed or the job "
                    "was cancelled (see the launcher's message)\n",
                    rank_, size_, host_.c_str()));
  if (g_term_len >= sizeof g_term_message) g_term_len = sizeof g_term_message - 1;
  struct sigaction sa {};
  sa.sa_handler = on_sigterm;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
#endif
}

World::~World() {
  for (const auto& [p, n] : host_maps_) ::munmap(p, n);
  for (const auto& f : temp_files_) std::remove(f.c_str());
#ifdef CU_HAVE_MPI
  if (mpi_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
#endif
}

int World::threads_per_rank(int requested) const {
  if (requested > 0) return requested;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / std::max(1, ranks_on_host_));
}

std::string World::where() const {
  return "rank " + std::to_string(rank_) + " of " + std::to_string(size_) + " on " + host_;
}

std::string World::host_of(int rank) const {
  return rank >= 0 && rank < static_cast<int>(hosts_.size()) ? hosts_[static_cast<std::size_t>(rank)] : "?";
}

void World::fail(const std::string& message, int code) {
  if (!mpi_) throw Error(message);
#ifdef CU_HAVE_MPI
  std::fprintf(stderr, "error (%s): %s\n", where().c_str(), message.c_str());
  std::fflush(stderr);
  for (const auto& f : temp_files_) std::remove(f.c_str());
  MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

std::span<std::uint8_t> World::host_shared_memory(std::size_t bytes) {
  if (bytes == 0) return {};
  // The first rank of each host creates a POSIX shared memory object under a name no other
  // process uses (O_EXCL), the names go round, every rank maps its host's, and once all have
  // mapped (or failed) the name is removed: the memory lives as long as a rank maps it.
  std::string name;
  int fd = -1;
  if (rank_ == host_leader_) {
    std::random_device rd;
    name = "/cryptounet-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + std::to_string(rd());
    // tmpfs gives pages as they are written: a /dev/shm smaller than `bytes` (a container's
    // 64 MiB, say) would kill the ranks with SIGBUS in the middle of a run, so refuse it here.
    struct statvfs fs {};
    const bool room = ::statvfs("/dev/shm", &fs) == 0 &&
                      static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize >= bytes + (std::size_t{64} << 20);
    fd = room ? ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600) : -1;
    if (fd >= 0 && ::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
      ::close(fd);
      ::shm_unlink(name.c_str());
      fd = -1;
    }
    if (fd < 0) name.clear();
  }
  if (mpi_) {
    const auto names = allgather(std::vector<std::uint8_t>(name.begin(), name.end()));
    const auto& mine = names.at(static_cast<std::size_t>(host_leader_));
    if (rank_ != host_leader_) {
      name.assign(mine.begin(), mine.end());
      fd = name.empty() ? -1 : ::shm_open(name.c_str(), O_RDWR, 0);
    }
  }
  void* p = fd < 0 ? MAP_FAILED : ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (fd >= 0) ::close(fd);
  const bool mapped_everywhere = all(p != MAP_FAILED);
  if (rank_ == host_leader_ && !name.empty()) ::shm_unlink(name.c_str());
  if (!mapped_everywhere) {
    if (p != MAP_FAILED) ::munmap(p, bytes);
    throw IoError("cannot share " + std::to_string(bytes >> 20) + " MiB of memory between the ranks of a host "
                  "(POSIX shared memory, /dev/shm: full or too small?)");
  }
  host_maps_.emplace_back(p, bytes);
  return {static_cast<std::uint8_t*>(p), bytes};
}

void World::barrier() {
  if (!mpi_) return;
#ifdef CU_HAVE_MPI
  MPI_Request req;
  {
    std::lock_guard lock(mpi_mutex());
    check(MPI_Ibarrier(MPI_COMM_WORLD, &req), "barrier");
  }
  wait_quietly(&req, "barrier");
#endif
}

std::vector<std::uint8_t> World::broadcast(std::vector<std::uint8_t> bytes, int root) {
  if (!mpi_) return bytes;
#ifdef CU_HAVE_MPI
  std::uint64_t n = bytes.size();
  std::lock_guard lock(mpi_mutex());
  check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "broadcast (size)");
  if (rank_ != root) bytes.resize(n);
  for (std::size_t off = 0; off < n; off += kChunk) {
    const int len = static_cast<int>(std::min<std::uint64_t>(kChunk, n - off));
    check(MPI_Bcast(bytes.data() + off, len, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
  }
  if (rank_ == root)
    bytes_sent_ += n * static_cast<std::uint64_t>(size_ - 1);
  else
    bytes_received_ += n;
#endif
  return bytes;
}


std::vector<std::vector<std::uint8_t>> World::allgather(const std::vector<std::uint8_t>& mine) {
  if (!mpi_) return {mine};
  std::vector<std::vector<std::uint8_t>> out(static_cast<std::size_t>(size_));
#ifdef CU_HAVE_MPI
  const std::uint64_t n = mine.size();
  std::vector<std::uint64_t> sizes(static_cast<std::size_t>(size_));
  MPI_Request req;
  {
    std::lock_guard lock(mpi_mutex());
    check(MPI_Iallgather(&n, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD, &req), "allgather");
  }
  wait_quietly(&req, "allgather");
  std::uint64_t total = 0;
  std::vector<int> counts(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    if (total + sizes[static_cast<std::size_t>(r)] > static_cast<std::uint64_t>(INT_MAX))
      throw InvalidArgument("allgather: more than 2 GiB in one exchange");
    counts[static_cast<std::size_t>(r)] = static_cast<int>(sizes[static_cast<std::size_t>(r)]);
    displs[static_cast<std::size_t>(r)] = static_cast<int>(total);
    total += sizes[static_cast<std::size_t>(r)];
  }
  std::vector<std::uint8_t> all(total);
  {
    std::lock_guard lock(mpi_mutex());
    check(MPI_Iallgatherv(mine.data(), static_cast<int>(n), MPI_BYTE, all.data(), counts.data(), displs.data(),
                          MPI_BYTE, MPI_COMM_WORLD, &req),
          "allgatherv");
  }
  wait_quietly(&req, "allgatherv");
  for (int r = 0; r < size_; ++r) {
    const auto b = all.begin() + displs[static_cast<std::size_t>(r)];
    out[static_cast<std::size_t>(r)].assign(b, b + counts[static_cast<std::size_t>(r)]);
  }
  bytes_sent_ += n * static_cast<std::uint64_t>(size_ - 1);
  bytes_received_ += total - n;
#endif
  return out;
}

std::vector<std::vector<std::uint8_t>> World::alltoall(const std::vector<std::vector<std::uint8_t>>& to) {
  if (static_cast<int>(to.size()) != size_)
    throw InvalidArgument("alltoall: " + std::to_string(to.size()) + " buffers for " + std::to_string(size_) +
                          " ranks");
  if (!mpi_) return to;
  std::vector<std::vector<std::uint8_t>> out(static_cast<std::size_t>(size_));
#ifdef CU_HAVE_MPI
  const auto R = static_cast<std::size_t>(size_);
  std::vector<std::uint64_t> send_sizes(R), recv_sizes(R);
  for (std::size_t r = 0; r < R; ++r) send_sizes[r] = r == static_cast<std::size_t>(rank_) ? 0 : to[r].size();
  MPI_Request req;
  {
    std::lock_guard lock(mpi_mutex());
    check(MPI_Ialltoall(send_sizes.data(), 1, MPI_UINT64_T, recv_sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD,
                        &req),
          "alltoall");
  }
  wait_quietly(&req, "alltoall");
  const auto [scounts, sdispls, rcounts, rdispls, stotal, rtotal] = exchange_layout(send_sizes, recv_sizes, "alltoall");
  std::vector<std::uint8_t> sbuf, rbuf(rtotal);
  sbuf.reserve(stotal);
  for (std::size_t r = 0; r < R; ++r)
    if (send_sizes[r]) sbuf.insert(sbuf.end(), to[r].begin(), to[r].end());
  {
    std::lock_guard lock(mpi_mutex());
    check(MPI_Ialltoallv(sbuf.data(), scounts.data(), sdispls.data(), MPI_BYTE, rbuf.data(), rcounts.data(),
                         rdispls.data(), MPI_BYTE, MPI_COMM_WORLD, &req),
          "alltoallv");
  }
  wait_quietly(&req, "alltoallv");
  for (std::size_t r = 0; r < R; ++r) {
    const auto b = rbuf.begin() + rdispls[r];
    out[r].assign(b, b + rcounts[r]);
  }
  out[static_cast<std::size_t>(rank_)] = to[static_cast<std::size_t>(rank_)];
  bytes_sent_ += stotal;
  bytes_received_ += rtotal;
#endif
  return out;
}

void World::share_regions(const std::vector<std::vector<std::span<std::uint8_t>>>& regions) {
  if (static_cast<int>(regions.size()) != size_)
    throw InvalidArgument("share_regions: regions of " + std::to_string(regions.size()) + " ranks for " +
                          std::to_string(size_) + " ranks");
  if (!mpi_) return;
#ifdef CU_HAVE_MPI
  // Every rank must address the same layout: compare a digest of the sizes with rank 0's.
  std::uint64_t digest = 1469598103934665603ull, total_in = 0, total_out = 0;
  for (std::size_t r = 0; r < regions.size(); ++r)
    for (const auto& reg : regions[r]) {
      for (std::uint64_t v : {static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(reg.size())}) {
        digest ^= v;
        digest *= 1099511628211ull;
      }
      if (reg.size() > static_cast<std::size_t>(INT_MAX))
        throw InvalidArgument("share_regions: a region of more than 2 GiB");
    }
  std::vector<std::uint8_t> mine(8);
  std::memcpy(mine.data(), &digest, 8);
  const std::vector<std::uint8_t> root = broadcast(mine, 0);
  if (!all(root == mine))
    throw InvalidArgument("share_regions: the ranks hold different memory layouts (different key files on "
                          "different hosts?)");
  constexpr int kTag = 7301;
  std::vector<MPI_Request> reqs;
  {
    std::lock_guard lock(mpi_mutex());
    for (int r = 0; r < size_; ++r)
      for (const auto& reg : regions[static_cast<std::size_t>(r)]) {
        if (reg.empty()) continue;
        const int n = static_cast<int>(reg.size());
        if (r == rank_) {
          for (int q = 0; q < size_; ++q) {
            if (q == rank_) continue;
            reqs.emplace_back();
            check(MPI_Isend(reg.data(), n, MPI_BYTE, q, kTag, MPI_COMM_WORLD, &reqs.back()), "share_regions send");
            total_out += reg.size();
          }
        } else {
          reqs.emplace_back();
          check(MPI_Irecv(reg.data(), n, MPI_BYTE, r, kTag, MPI_COMM_WORLD, &reqs.back()), "share_regions receive");
          total_in += reg.size();
        }
      }
  }
  for (;;) {
    int done = 0;
    {
      std::lock_guard lock(mpi_mutex());
      check(MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE), "share_regions");
    }
    if (done) break;
    pause_briefly();
  }
  bytes_sent_ += total_out;
  bytes_received_ += total_in;
#endif
}

void World::alltoallv(const std::uint8_t* send, const std::vector<std::uint64_t>& send_counts,
                      ExchangeBuffer& recv, std::vector<std::uint64_t>& recv_counts,
                      std::vector<std::uint64_t>& recv_offsets) {
  const auto R = static_cast<std::size_t>(size_);
  if (send_counts.size() != R)
    throw InvalidArgument("alltoallv: " + std::to_string(send_counts.size()) + " counts for " + std::to_string(size_) +
                          " ranks");
  if (send_counts[static_cast<std::size_t>(rank_)] != 0)
    throw InvalidArgument("alltoallv: bytes addressed to this rank itself");
  recv_counts.assign(R, 0);
  recv_offsets.assign(R, 0);
  if (!mpi_) return;
#ifdef CU_HAVE_MPI
  std::vector<std::uint64_t> sizes(send_counts);
  MPI_Request req;
  {
    std::lock_guard lock(mpi_mutex());
    check(MPI_Ialltoall(sizes.data(), 1, MPI_UINT64_T, recv_counts.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD, &req),
          "alltoallv");
  }
  wait_quietly(&req, "alltoallv");
  const auto [scounts, sdispls, rcounts, rdispls, stotal, rtotal] = exchange_layout(send_counts, recv_counts, "alltoallv");
  for (std::size_t r = 0; r < R; ++r) recv_offsets[r] = static_cast<std::uint64_t>(rdispls[r]);
  recv.reserve(rtotal);
  {
    std::lock_guard lock(mpi_mutex());
    check(MPI_Ialltoallv(send, scounts.data(), sdispls.data(), MPI_BYTE, recv.data(), rcounts.data(), rdispls.data(),
                         MPI_BYTE, MPI_COMM_WORLD, &req),
          "alltoallv");
  }
  wait_quietly(&req, "alltoallv");
  bytes_sent_ += stotal;
  bytes_received_ += rtotal;
#else
  (void)send;
  (void)recv;
#endif
}

bool World::all(bool value) {
  if (!mpi_) return value;
#ifdef CU_HAVE_MPI
  int in = value ? 1 : 0, out = 0;
  std::lock_guard lock(mpi_mutex());
  check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD), "allreduce");
  return out != 0;
#else
  return value;
#endif
}

std::string World::shared_file(const std::string& path, std::uint64_t max_bytes) {
  if (!mpi_) return path;
  struct stat st {};
  const bool readable = ::access(path.c_str(), R_OK) == 0 && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  const std::uint64_t mine = readable ? static_cast<std::uint64_t>(st.st_size) : 0;
  std::vector<std::uint8_t> root_info(9, 0);
  if (rank_ == 0) {
    root_info[0] = readable ? 1 : 0;
    for (int i = 0; i < 8; ++i) root_info[1 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(mine >> (8 * i));
  }
  root_info = broadcast(std::move(root_info));
  std::uint64_t root_size = 0;
  for (int i = 0; i < 8; ++i) root_size |= std::uint64_t{root_info[1 + static_cast<std::size_t>(i)]} << (8 * i);
  if (root_info[0] == 0) throw IoError("cannot read '" + path + "' on rank 0 (" + hosts_[0] + ")");
  if (root_size > max_bytes)
    throw FormatError("'" + path + "' has " + std::to_string(root_size) + " bytes, more than the " +
                      std::to_string(max_bytes) + " allowed");
  const bool same = !readable || mine == root_size;
  if (!all(same)) {
    if (!same)
      throw InvalidArgument("'" + path + "' on " + host_ + " has " + std::to_string(mine) + " bytes, rank 0's copy on " +
                            hosts_[0] + " has " + std::to_string(root_size) +
                            ": copy the same file to every host, or remove it there to have rank 0's copy sent");
    throw InvalidArgument("'" + path + "' differs between hosts");
  }
  if (all(readable)) return path;
  std::vector<std::uint8_t> bytes;
  if (rank_ == 0) bytes = read_file(path, max_bytes);
  bytes = broadcast(std::move(bytes));
  if (readable) return path;
  std::string tmpl = (std::filesystem::temp_directory_path() / "cryptounet-bcast-XXXXXX").string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw IoError("cannot create a temporary file for '" + path + "' on " + host_);
  temp_files_.push_back(tmpl);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w <= 0) {
      ::close(fd);
      throw IoError("cannot write the temporary copy of '" + path + "' to " + tmpl + " on " + host_);
    }
    off += static_cast<std::size_t>(w);
  }
  ::close(fd);
  return tmpl;
}

void World::send(int dest, int tag, const std::vector<std::uint8_t>& bytes) {
  if (!mpi_) throw InvalidArgument("send: one-rank world");
#ifdef CU_HAVE_MPI
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    throw InvalidArgument("send: a message of " + std::to_string(bytes.size()) + " bytes (more than 2 GiB)");
  std::lock_guard lock(mpi_mutex());
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD), "send");
  bytes_sent_ += bytes.size();
#endif
}

bool World::try_receive(int* source, int* tag, std::vector<std::uint8_t>* bytes) {
  if (!mpi_) return false;
#ifdef CU_HAVE_MPI
  std::lock_guard lock(mpi_mutex());
  int flag = 0;
  MPI_Status st;
  check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st), "probe");
  if (!flag) return false;
  int count = 0;
  check(MPI_Get_count(&st, MPI_BYTE, &count), "get_count");
  bytes->resize(static_cast<std::size_t>(count));
  check(MPI_Recv(bytes->data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
        "receive");
  *source = st.MPI_SOURCE;
  *tag = st.MPI_TAG;
  bytes_received_ += static_cast<std::uint64_t>(count);
  return true;
#else
  return false;
#endif
}

void World::receive(int source, int* tag, std::vector<std::uint8_t>* bytes) {
  if (!mpi_) throw InvalidArgument("receive: one-rank world");
#ifdef CU_HAVE_MPI
  for (;;) {
    {
      std::lock_guard lock(mpi_mutex());
      int flag = 0;
      MPI_Status st;
      check(MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st), "probe");
      if (flag) {
        int count = 0;
        check(MPI_Get_count(&st, MPI_BYTE, &count), "get_count");
        bytes->resize(static_cast<std::size_t>(count));
        check(MPI_Recv(bytes->data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
              "receive");
        *tag = st.MPI_TAG;
        bytes_received_ += static_cast<std::uint64_t>(count);
        return;
      }
    }
    pause_briefly();
  }
#endif
}

void run_or_fail(World& world, const std::function<void()>& body) {
  if (!world.distributed()) {
    body();
    return;
  }
  try {
    body();
  } catch (const std::exception& e) {
    world.fail(e.what());
  }
}

}  // namespace cryptounet::distributed
