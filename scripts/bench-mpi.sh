#!/usr/bin/env bash
# Batch-mode MPI benchmark (not a test): the same batch of encrypted brain64 slices through
# `cryptounet infer`, 1 process x 1 thread against `mpirun -np RANKS` x 1 thread, in turn (A B A B ...),
# 128-bit parameters. Checks that both runs write byte-identical outputs, and prints one JSON object
# on stdout (progress on stderr): each run's wall and CPU seconds, medians, the speed-up, the load
# average and the CPU.
#   scripts/bench-mpi.sh [BUILD=build] [SLICES=4] [RUNS=2] [RANKS=2]
set -euo pipefail
build=${1:-build}
slices=${2:-4}
runs=${3:-2}
ranks=${4:-2}
cli=$(realpath "$build/apps/cryptounet")
root=$(cd "$(dirname "$0")/.." && pwd)
model=$root/models/brain64.onnx
image=$root/models/samples/brain64_test.png
mpirun=$(command -v mpirun) || { echo "bench-mpi: mpirun not found (apt-get install openmpi-bin)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

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
infer=(infer --model "$model" --plan p.cup --eval-keys keys/eval.keys "${inputs[@]}" --threads 1)

# Runs "$@", prints "wall_s cpu_s" (CPU: user + sys of the command and its children).
timed() {
  /usr/bin/time -f '%e %U %S' -o "$work/time.txt" "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$work/time.txt"
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
one=() many=() rows=""
for r in $(seq 1 "$runs"); do
  rm -rf out1 outR
  read -r w1 c1 < <(timed "$cli" "${infer[@]}" -o out1)
  echo "bench-mpi: run $r: 1 rank:  $w1 s wall, $c1 s CPU" >&2
  read -r wR cR < <(timed "$mpirun" --oversubscribe --bind-to none -np "$ranks" "$cli" "${infer[@]}" -o outR)
  echo "bench-mpi: run $r: $ranks ranks: $wR s wall, $cR s CPU" >&2
  for f in out1/*; do cmp -s "$f" "outR/$(basename "$f")" || { echo "bench-mpi: $f differs between the runs" >&2; exit 1; }; done
  one+=("$w1") many+=("$wR")
  rows+="${rows:+,}{\"run\":$r,\"one_rank_wall_s\":$w1,\"one_rank_cpu_s\":$c1,\"ranks_wall_s\":$wR,\"ranks_cpu_s\":$cR}"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m1=$(median "${one[@]}")
mR=$(median "${many[@]}")
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
printf '{"bench":"mpi-batch","model":"brain64","params":"128-bit, N=2^15","slices":%d,"ranks":%d,"threads_per_rank":1,' \
  "$slices" "$ranks"
printf '"cpu":"%s","cores":%d,"loadavg_before":"%s","loadavg_after":"%s","outputs_identical":true,"cores_for_one_process":%s,"cores_for_two_processes":%s,"runs":[%s],' \
  "$cpu" "$(nproc)" "$load_before" "$load_after" "$share_one" "$share_two" "$rows"
printf '"median_one_rank_s":%.3f,"median_ranks_s":%.3f,"speedup":%.3f}\n' "$m1" "$mR" "$(echo "$m1 / $mR" | bc -l)"
