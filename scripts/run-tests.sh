#!/usr/bin/env bash
# Runs every test: the C++ suites through CTest (which includes the Python smoke tests it
# registers) and prints CTest's closing summary. Usage: scripts/run-tests.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 900
