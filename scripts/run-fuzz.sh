#!/usr/bin/env bash
# Runs every libFuzzer target of a CU_FUZZ build for a bounded time from a fresh seed corpus
# (with fuzz/<target>.dict as its dictionary where one exists).
# Usage: scripts/run-fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]. Findings (crash-*, leak-*, timeout-*)
# land in BUILD_DIR/fuzz-artifacts/; the script exits non-zero if any target found something.
set -uo pipefail
build=${1:?usage: run-fuzz.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$artifacts"
"$build/fuzz/fuzz_make_corpus" "$corpus" >/dev/null || { echo "fuzz: corpus generation failed"; exit 1; }
"$build/fuzz/fuzz_make_nn_corpus" "$corpus" >/dev/null || { echo "fuzz: nn corpus generation failed"; exit 1; }
"$build/fuzz/fuzz_make_data_corpus" "$corpus" >/dev/null || { echo "fuzz: image/volume corpus generation failed"; exit 1; }
failed=()
for bin in "$build"/fuzz/fuzz_*; do
  name=$(basename "$bin")
  case "$name" in fuzz_make_*) continue ;; esac
  obj=${name#fuzz_}
  mkdir -p "$corpus/$obj"
  log="$artifacts/$name.log"
  dict=()
  [ -f "$src/fuzz/$obj.dict" ] && dict=(-dict="$src/fuzz/$obj.dict")
  if "$bin" "$corpus/$obj" "${dict[@]}" -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 -timeout=20 \
       -print_final_stats=1 -artifact_prefix="$artifacts/$name-" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    echo "fuzz: $name ok (${runs:-?} runs in ${seconds}s)"
  else
    echo "fuzz: $name FAILED, see $log"
    tail -n 30 "$log"
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}"
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without findings"
