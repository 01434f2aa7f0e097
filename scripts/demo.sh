#!/usr/bin/env bash
# The main job: an encrypted segmentation of a bundled sample with a bundled model.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
exec "$build/apps/cryptounet" info
