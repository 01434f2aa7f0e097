// TEST ONLY, never linked into anything: an LD_PRELOAD replacement for OpenSSL's RAND_bytes that
// returns a fixed stream (splitmix64 from a constant), so that two runs of `cryptounet
// segment-volume` make the same keys and the same ciphertexts and their outputs can be compared
// bit for bit (a one-process run against an MPI run, whose rank 0 draws in the same order).
// It makes every "secret" public: tests/apps/test_cli_mpi_volume.cpp preloads it into test runs
// at INSECURE parameters and nowhere else.
#include <cstdint>
#include <mutex>

namespace {
std::mutex m;
std::uint64_t state = 0x243f6a8885a308d3ULL;
std::uint64_t next() {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

extern "C" int RAND_bytes(unsigned char* buf, int num) {
  std::lock_guard lock(m);
  for (int i = 0; i < num; i += 8) {
    const std::uint64_t v = next();
    for (int k = 0; k < 8 && i + k < num; ++k) buf[i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  return 1;
}

extern "C" int RAND_priv_bytes(unsigned char* buf, int num) { return RAND_bytes(buf, num); }
