#!/usr/bin/env bash
# MPI benchmark (not a test): the same encrypted brain64 slices through `cryptounet infer`, 1 process
# x 1 thread against `mpirun -np RANKS` x 1 thread, in turn (A B A B ...), 128-bit parameters. Checks
# that both runs write byte-identical outputs, and prints one JSON object on stdout (progress on
# stderr): each run's wall and CPU seconds, medians, the speed-up, the load average and the CPU.
#   scripts/bench-mpi.sh [BUILD=build] [SLICES=4] [RUNS=2] [RANKS=2] [MODE=batch]
# MODE batch: the slices are shared out whole (the work queue); the speed-up is of whole-process wall
# time. MODE latency: `infer --mpi`, the slices one after the other, each split across the ranks; it
# also reports each run's per-slice inference seconds (from --json): the first slice (fresh memory,
# plaintexts encoded) and the median of the others (a warm server's latency), and their speed-ups.
set -euo pipefail
build=${1:-build}
slices=${2:-4}
runs=${3:-2}
ranks=${4:-2}
mode=${5:-batch}
case "$mode" in batch) mpi_flag=() ;; latency) mpi_flag=(--mpi --json) ;; *) echo "bench-mpi: MODE is batch or latency" >&2; exit 2 ;; esac
[ "$mode" = batch ] || [ "$slices" -ge 2 ] || { echo "bench-mpi: latency mode needs SLICES >= 2 (the first is not warm)" >&2; exit 2; }
me=bench-mpi
# shellcheck source=bench-mpi-common.sh
source "$(dirname "$0")/bench-mpi-common.sh"

work=$(mktemp -d /tmp/cu-bench-mpi.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "bench-mpi: plan, keys and $slices encrypted slices in $work" >&2
"$cli" plan --model "$model" -o p.cup >/dev/null
"$cli" keygen --plan p.cup --out keys --threads 2 >/dev/null
inputs=()
for i in $(seq 1 "$slices"); do
  "$cli" encrypt --plan p.cup --keys keys "$image" -o "in$i.ct" >/dev/null
  inputs+=("in$i.ct")
done
infer=(infer --model "$model" --plan p.cup --eval-keys keys/eval.keys "${inputs[@]}" --threads 1 "${mpi_flag[@]}")

# Runs "$@", prints "wall_s cpu_s first_s warm_s" (CPU: user + sys of the command and its children;
# first_s and warm_s: latency mode's per-slice inference seconds from --json, else 0).
timed() {
  /usr/bin/time -f '%e %U %S' -o "$work/time.txt" "$@" >"$work/last.out" 2>"$work/last.err" ||
    { cat "$work/last.out" "$work/last.err" >&2; exit 1; }
  local lat="0 0"
  if [ "$mode" = latency ]; then
    lat=$(/usr/bin/python3 -c 'import json, statistics, sys
s = [o["seconds"] for o in json.load(open(sys.argv[1]))["outputs"]]
print("%.3f %.3f" % (s[0], statistics.median(s[1:])))' "$work/last.out")
  fi
  awk -v lat="$lat" '{printf "%s %.2f %s\n", $1, $2 + $3, lat}' "$work/time.txt"
}

# What the scheduler gives this session: the CPU seconds of one busy process in 3 s, and of two at
# once. On a machine shared with other sessions (Linux autogroup scheduling) two processes of one
# session share that session's slice, and no rank count can be faster than the slice allows.
spin() { /usr/bin/time -f '%U' -o "$1" timeout 3 sh -c 'while :; do :; done' || true; }
spin "$work/s1"
spin "$work/s2a" & spin "$work/s2b"; wait
share_one=$(tail -1 "$work/s1" | awk '{printf "%.2f", $1 / 3}')
share_two=$(cat "$work/s2a" "$work/s2b" | grep -v status | awk '{s += $1} END {printf "%.2f", s / 3}')
echo "bench-mpi: this session gets $share_one core(s) with one busy process, $share_two with two" >&2

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
one=() many=() first1=() firstR=() warm1=() warmR=() rows=""
for r in $(seq 1 "$runs"); do
  rm -rf out1 outR
  read -r w1 c1 f1 k1 < <(timed "$cli" "${infer[@]}" -o out1)
  lat1=""; [ "$mode" = latency ] && lat1="; per slice: first $f1 s, then $k1 s (median)"
  echo "bench-mpi: run $r: 1 rank:  $w1 s wall, $c1 s CPU$lat1" >&2
  read -r wR cR fR kR < <(timed "$mpirun" --oversubscribe --bind-to none -np "$ranks" "$cli" "${infer[@]}" -o outR)
  latR=""; [ "$mode" = latency ] && latR="; per slice: first $fR s, then $kR s (median)"
  echo "bench-mpi: run $r: $ranks ranks: $wR s wall, $cR s CPU$latR" >&2
  if [ -f out1 ]; then  # one slice: -o names the output file
    cmp -s out1 outR || { echo "bench-mpi: the output differs between the runs" >&2; exit 1; }
  else
    for f in out1/*; do cmp -s "$f" "outR/$(basename "$f")" || { echo "bench-mpi: $f differs between the runs" >&2; exit 1; }; done
  fi
  one+=("$w1") many+=("$wR") first1+=("$f1") firstR+=("$fR") warm1+=("$k1") warmR+=("$kR")
  rows+="${rows:+,}{\"run\":$r,\"one_rank_wall_s\":$w1,\"one_rank_cpu_s\":$c1,\"ranks_wall_s\":$wR,\"ranks_cpu_s\":$cR"
  [ "$mode" = latency ] && rows+=",\"one_rank_first_slice_s\":$f1,\"one_rank_warm_slice_s\":$k1,\"ranks_first_slice_s\":$fR,\"ranks_warm_slice_s\":$kR"
  rows+="}"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
m1=$(median "${one[@]}")
mR=$(median "${many[@]}")
printf '{"bench":"mpi-%s","model":"brain64","params":"128-bit, N=2^15","slices":%d,"ranks":%d,"threads_per_rank":1,' \
  "$mode" "$slices" "$ranks"
printf '"cpu":"%s","cores":%d,"loadavg_before":"%s","loadavg_after":"%s","outputs_identical":true,"cores_for_one_process":%s,"cores_for_two_processes":%s,"runs":[%s],' \
  "$cpu" "$(nproc)" "$load_before" "$load_after" "$share_one" "$share_two" "$rows"
printf '"median_one_rank_s":%.3f,"median_ranks_s":%.3f,"speedup":%.3f' "$m1" "$mR" "$(echo "$m1 / $mR" | bc -l)"
if [ "$mode" = latency ]; then
  f1=$(median "${first1[@]}") fR=$(median "${firstR[@]}") k1=$(median "${warm1[@]}") kR=$(median "${warmR[@]}")
  printf ',"median_first_slice_one_rank_s":%.3f,"median_first_slice_ranks_s":%.3f,"first_slice_speedup":%.3f' \
    "$f1" "$fR" "$(echo "$f1 / $fR" | bc -l)"
  printf ',"median_warm_slice_one_rank_s":%.3f,"median_warm_slice_ranks_s":%.3f,"warm_slice_speedup":%.3f' \
    "$k1" "$kR" "$(echo "$k1 / $kR" | bc -l)"
fi
printf '}\n'
