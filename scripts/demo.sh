#!/usr/bin/env bash
# The main job: encrypted segmentation of the bundled brain MRI slice (models/samples/) with the
# bundled brain64 U-Net at 128-bit CKKS parameters: plan, keys, encrypt, infer, decrypt in one
# `cryptounet segment`, which prints the time of each phase, the sizes, the per-layer breakdown
# and the agreement with the plaintext reference. Writes out/demo_mask.png, out/demo_overlay.png.
#   DEMO_FAST=1 make demo   the same chain at INSECURE test parameters (smaller ring): a quick look
#                           only, never for real data.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p out
args=()
if [ "${DEMO_FAST:-0}" = 1 ]; then
  echo "DEMO_FAST=1: INSECURE test parameters (N=2^${DEMO_LOGN:-13}), for a quick look only"
  args+=(--insecure-test-params "${DEMO_LOGN:-13}")
else
  echo "128-bit CKKS parameters (the planner picks N); DEMO_FAST=1 make demo for a quick insecure run"
fi
exec "$build/apps/cryptounet" segment --model models/brain64.onnx models/samples/brain64_test.png \
  -o out/demo_mask.png --overlay out/demo_overlay.png --report ${args[@]+"${args[@]}"}
