#include "cli/huge_page_heap.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "cryptounet/math/first_touch.h"

namespace cryptounet::cli {
namespace {

constexpr const char* kTunable = "glibc.malloc.hugetlb";
constexpr const char* kTrim = "glibc.malloc.trim_threshold";
constexpr const char* kMmapThreshold = "glibc.malloc.mmap_threshold";
constexpr const char* kOurMmapThreshold = "glibc.malloc.mmap_threshold=33554432";

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

bool opted_out() {
  const char* v = std::getenv("CU_HUGE_PAGES");
  return v != nullptr && std::strcmp(v, "0") == 0;
}

bool tunable_set() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  return t != nullptr && std::strstr(t, kTunable) != nullptr;
}

// "[never]" in /sys/kernel/mm/transparent_hugepage/enabled, or no such file: nothing to gain.
bool kernel_thp_available() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(f, line)) return false;
  return line.find("[never]") == std::string::npos;
}

}  // namespace

void reexec_with_huge_page_heap(char** argv) {
  if (kSanitized || opted_out() || tunable_set() || !kernel_thp_available()) return;
  const char* old = std::getenv("GLIBC_TUNABLES");
  // A fixed mmap threshold of 32 MiB (glibc's largest) puts every polynomial buffer on the heap: with
  // the default, dynamic threshold, buffers that glibc maps on their own start on 2 MiB boundaries
  // once huge pages are on, so the same limb of every polynomial lands on the same cache sets.
  std::string value = std::string(kTunable) + "=1";
  if (old == nullptr || std::strstr(old, kMmapThreshold) == nullptr) value += std::string(":") + kOurMmapThreshold;
  // Freed heap stays with the process (glibc trims the heap's top back to the OS once it passes
  // 128 KiB by default): pages touched once are reused, and the parallel first touch
  // (math/first_touch.h) is not undone by the next free.
  if (old == nullptr || std::strstr(old, kTrim) == nullptr) value += std::string(":") + kTrim + "=68719476736";
  if (old != nullptr && *old != '\0') value = std::string(old) + ":" + value;
  if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): carry on as we are, without the tunable claiming to be on.
  if (old != nullptr) {
    ::setenv("GLIBC_TUNABLES", old, 1);
  } else {
    ::unsetenv("GLIBC_TUNABLES");
  }
}

bool heap_keeps_freed_memory() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  return t != nullptr && std::strstr(t, "glibc.malloc.hugetlb=1") != nullptr && std::strstr(t, kTrim) != nullptr &&
         std::strstr(t, kOurMmapThreshold) != nullptr;
}

void configure_first_touch() { math::set_parallel_first_touch(!kSanitized && heap_keeps_freed_memory()); }

const char* first_touch_state() {
  if (math::parallel_first_touch()) return "parallel (fresh heap is touched by every thread of the pool)";
  return "off (needs the huge-page heap's tunables)";
}

const char* huge_page_heap_state() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  if (t != nullptr && std::strstr(t, "glibc.malloc.hugetlb=1") != nullptr) return "on";
  if (kSanitized) return "off (sanitizer build)";
  if (opted_out()) return "off (CU_HUGE_PAGES=0)";
  if (tunable_set()) return "off (GLIBC_TUNABLES sets glibc.malloc.hugetlb otherwise)";
  if (!kernel_thp_available()) return "off (the kernel's transparent huge pages are off)";
  return "off";
}

}  // namespace cryptounet::cli
