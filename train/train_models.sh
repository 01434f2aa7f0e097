#!/usr/bin/env bash
# Retrains the bundled models and refreshes their fixtures. Usage: train/train_models.sh brain|nuclei
# (run from the repository root after `make data`; `make train-brain` / `make train-nuclei` call it).
# Single-threaded on purpose: on a busy 2-core machine one torch thread trains faster than two.
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
run() { echo "+ $*"; nice -n 10 "$@"; }
case "${1:-}" in
  brain)
    run $py train/train.py --data data/brain-64 --name brain64 --epochs 150 --threads 1 \
      --sample-out models/samples/brain64_test
    run $py train/train.py --data data/brain-128 --name brain128 --epochs 80 --threads 1 --logit-cap 20 \
      --sample-out models/samples/brain128_test
    run $py train/make_fixtures.py --models brain64 brain128
    ;;
  nuclei)
    run $py train/train.py --data data/nuclei-64 --name nuclei64 --epochs 60 --threads 1 \
      --vflip --rot90 --zoom-out-prob 0 --zoom-in-max 1.25 --select plain --no-renorm --logit-cap 20 \
      --normalisation "8-bit PNG value / 255 (no per-image rescaling)" \
      --sample-out models/samples/nuclei64_test
    run $py train/make_fixtures.py --models nuclei64
    ;;
  *) echo "usage: $0 brain|nuclei" >&2; exit 2 ;;
esac
