// The process's heap on transparent huge pages.
//
// On the VMs this project runs on, the encrypted U-Net is bound by address translation as much as by
// arithmetic: a polynomial limb is 256 KiB at N=2^15, an NTT or a key switch walks many of them, and every
// 4 KiB page it touches costs a TLB entry (and, under a hypervisor, a two-level page walk on a miss) and a
// page fault on first touch. glibc's malloc can place its heap and its large mappings on 2 MiB transparent
// huge pages (the `glibc.malloc.hugetlb=1` tunable, glibc >= 2.35), but tunables are read only when a
// program starts. So `main` re-executes itself once with the tunable added, before anything else runs.
#pragma once

namespace cryptounet::cli {

/// Re-executes this program (same arguments, same environment plus `glibc.malloc.hugetlb=1` and,
/// unless the user set them, `glibc.malloc.mmap_threshold=33554432` and a 64 GiB
/// `glibc.malloc.trim_threshold` in GLIBC_TUNABLES) when that helps, and returns otherwise: when the tunable is already there (a
/// user's own GLIBC_TUNABLES setting of it wins), when CU_HUGE_PAGES=0, when the kernel's transparent
/// huge pages are off, in sanitizer builds (their allocator is not glibc's), or when exec fails (the
/// program then just runs on 4 KiB pages).
void reexec_with_huge_page_heap(char** argv);

/// Turns on the parallel first touch of fresh heap (math/first_touch.h) when this process runs with
/// the tunables reexec_with_huge_page_heap adds (huge pages, the fixed mmap threshold, and a trim
/// threshold that keeps freed heap); `main` calls it once, after the re-exec.
void configure_first_touch();

/// For `cryptounet info`: "parallel (…)" or "off (why)".
const char* first_touch_state();

/// What the running process's heap uses, for `cryptounet info`: "on", or "off (why)".
const char* huge_page_heap_state();

}  // namespace cryptounet::cli
