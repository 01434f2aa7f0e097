#!/usr/bin/env bash
# Probe (not a test): what this machine charges for memory that is new to the process. A small C
# program maps MIB MiB (transparent huge pages, as cryptounet's heap) and writes one byte per 4 KiB
# page, with 1 and 2 threads, timed: right after the same memory was freed by the previous run
# (pages the kernel still holds), and after PAUSE seconds of sleep (on a VM with free page
# reporting, pages freed that long ago have gone back to the host, and touching them again is a
# fault the host serves). Prints one JSON object on stdout. The speed-ups of the MPI and two-thread
# benchmarks depend on this cost: run it next to them.
#   scripts/probe-fresh-memory.sh [MIB=1536] [PAUSE=6]
set -euo pipefail
mib=${1:-1536}
pause=${2:-6}
cc=$(command -v cc || command -v gcc) || { echo "probe-fresh-memory: no C compiler" >&2; exit 2; }
work=$(mktemp -d /tmp/cu-probe-mem.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/touch.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
static size_t size;
static char* mem;
static long threads;
static void* touch(void* arg) {
  const size_t part = size / threads, first = (size_t)(long)arg * part;
  for (size_t o = first; o < first + part; o += 4096) mem[o] = 1;
  return NULL;
}
int main(int argc, char** argv) {
  threads = atol(argv[1]);
  size = (size_t)atol(argv[2]) << 20;
  mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 1;
  madvise(mem, size, MADV_HUGEPAGE);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pthread_t t[2];
  for (long i = 0; i < threads; ++i) pthread_create(&t[i], NULL, touch, (void*)i);
  for (long i = 0; i < threads; ++i) pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.3f\n", (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec));
  return 0;
}
C
"$cc" -O2 -pthread "$work/touch.c" -o "$work/touch"
t=$work/touch
"$t" 1 "$mib" >/dev/null                    # warm-up: the memory is now the kernel's, recently freed
reused1=$("$t" 1 "$mib"); reused2=$("$t" 2 "$mib")
sleep "$pause"; after1=$("$t" 1 "$mib")
sleep "$pause"; after2=$("$t" 2 "$mib")
reporting=$(cat /sys/module/page_reporting/parameters/page_reporting_order 2>/dev/null || echo none)
ms_per_2mib() { awk -v s="$1" -v m="$mib" 'BEGIN {printf "%.2f", 1000 * s / (m / 2)}'; }
echo "probe-fresh-memory: $mib MiB: just freed 1 thread $reused1 s, 2 threads $reused2 s; after ${pause} s idle 1 thread $after1 s, 2 threads $after2 s" >&2
printf '{"probe":"fresh-memory","mib":%s,"pause_s":%s,"cpu":"%s","page_reporting_order":"%s","just_freed_1_thread_s":%s,"just_freed_2_threads_s":%s,"after_pause_1_thread_s":%s,"after_pause_2_threads_s":%s,"after_pause_ms_per_2mib_1_thread":%s}\n' \
  "$mib" "$pause" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$reporting" \
  "$reused1" "$reused2" "$after1" "$after2" "$(ms_per_2mib "$after1")"
