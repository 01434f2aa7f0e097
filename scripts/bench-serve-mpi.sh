#!/usr/bin/env bash
# Server benchmark (not a test): a warm `cryptounet serve` on brain64 (128-bit, N=2^15), one process
# x 1 thread against `mpirun -np RANKS ... serve --mpi` x 1 thread (each image split across the
# ranks), in turn (A B A B ...). Each round starts the server, sends one image through `cryptounet
# client` (keys uploaded, first run: fresh memory, plaintexts encoded), then IMAGES more in one client
# run (the session's keys are reused), and reads the server's own run times from GET /v1/metrics:
# the first image's and the mean of the others (a warm server's per-image latency). Checks that
# both servers' masks are byte-identical and prints one JSON object on stdout (progress on stderr).
#   scripts/bench-serve-mpi.sh [BUILD=build] [IMAGES=4] [ROUNDS=2] [RANKS=2]
set -euo pipefail
build=${1:-build}
images=${2:-4}
rounds=${3:-2}
ranks=${4:-2}
me=bench-serve-mpi
# shellcheck source=bench-mpi-common.sh
source "$(dirname "$0")/bench-mpi-common.sh"

work=$(mktemp -d /tmp/cu-bench-serve.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
imgs=()
for i in $(seq 1 "$images"); do cp "$image" "$work/img$i.png"; imgs+=("$work/img$i.png"); done

# The server's completed runs and their total seconds, from its metrics.
metrics() {
  /usr/bin/python3 -c 'import json, sys, urllib.request
m = json.load(urllib.request.urlopen(sys.argv[1] + "/v1/metrics"))
print(m["runs_completed"], m["mean_run_seconds"] * m["runs_completed"])' "$1"
}

# round KIND: starts the server (KIND one or mpi), runs the client twice, prints "first_s warm_s".
round() {
  local kind=$1 dir=$work/$1
  rm -rf "$dir" && mkdir -p "$dir"
  local serve=("$cli" serve --model "$model" --threads 1 --port 0 --data-dir "$dir/data")
  if [ "$kind" = mpi ]; then serve=("$mpirun" --oversubscribe --bind-to none -np "$ranks" "${serve[@]}" --mpi); fi
  "${serve[@]}" >"$dir/serve.out" 2>"$dir/serve.err" &
  server_pid=$!
  local port=""
  for _ in $(seq 1 600); do
    port=$(grep -o '127.0.0.1:[0-9]*' "$dir/serve.out" 2>/dev/null | head -1 | cut -d: -f2) || true
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$dir/serve.err" >&2; exit 1; }
    sleep 0.2
  done
  [ -n "$port" ] || { echo "bench-serve-mpi: the $kind server did not start" >&2; exit 1; }
  local url=http://127.0.0.1:$port
  local client=("$cli" client --server "$url" --key-dir "$dir/keys" --cache-dir "$dir/cache" --threads 1)
  "${client[@]}" -o "$dir/out0" "$image" >/dev/null 2>"$dir/client0.err" || { cat "$dir/client0.err" >&2; exit 1; }
  read -r n1 t1 < <(metrics "$url")
  "${client[@]}" -o "$dir/out" "${imgs[@]}" >/dev/null 2>"$dir/client.err" || { cat "$dir/client.err" >&2; exit 1; }
  read -r n2 t2 < <(metrics "$url")
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  [ "$n1" = 1 ] && [ "$n2" = $((images + 1)) ] || { echo "bench-serve-mpi: $kind: runs $n1, $n2" >&2; exit 1; }
  awk -v t1="$t1" -v t2="$t2" -v n="$images" 'BEGIN {printf "%.3f %.3f\n", t1, (t2 - t1) / n}'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
first1=() firstR=() warm1=() warmR=() rows=""
for r in $(seq 1 "$rounds"); do
  read -r f1 k1 < <(round one)
  echo "bench-serve-mpi: round $r: 1 process: first image $f1 s, then $k1 s per image" >&2
  read -r fR kR < <(round mpi)
  echo "bench-serve-mpi: round $r: $ranks ranks: first image $fR s, then $kR s per image" >&2
  for f in "$work/one/out/"*.png; do
    cmp -s "$f" "$work/mpi/out/$(basename "$f")" || { echo "bench-serve-mpi: $(basename "$f") differs" >&2; exit 1; }
  done
  first1+=("$f1") firstR+=("$fR") warm1+=("$k1") warmR+=("$kR")
  rows+="${rows:+,}{\"round\":$r,\"one_first_s\":$f1,\"one_warm_s\":$k1,\"ranks_first_s\":$fR,\"ranks_warm_s\":$kR}"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
f1=$(median "${first1[@]}") fR=$(median "${firstR[@]}") k1=$(median "${warm1[@]}") kR=$(median "${warmR[@]}")
printf '{"bench":"serve-mpi","model":"brain64","params":"128-bit, N=2^15","images":%d,"ranks":%d,"threads_per_rank":1,' \
  "$images" "$ranks"
printf '"cpu":"%s","cores":%d,"loadavg_before":"%s","loadavg_after":"%s","masks_identical":true,"rounds":[%s],' \
  "$cpu" "$(nproc)" "$load_before" "$load_after" "$rows"
printf '"median_first_one_s":%.3f,"median_first_ranks_s":%.3f,"first_speedup":%.3f,' "$f1" "$fR" "$(echo "$f1 / $fR" | bc -l)"
printf '"median_warm_one_s":%.3f,"median_warm_ranks_s":%.3f,"warm_speedup":%.3f}\n' "$k1" "$kR" "$(echo "$k1 / $kR" | bc -l)"
