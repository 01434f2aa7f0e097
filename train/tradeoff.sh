#!/usr/bin/env bash
# Size-vs-Dice trade-off on brain-64: trains a few U-Net sizes for the same number of epochs and
# prints a table from their cards (written to out/tradeoff/, not committed).
# Usage: train/tradeoff.sh [EPOCHS]   (after `make data`)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-60}
dir=out/tradeoff
mkdir -p "$dir"
for cfg in "1 4" "1 8" "2 4" "2 8" "2 16"; do
  set -- $cfg
  name="brain64_p$1_b$2"
  echo "+ $name"
  nice -n 10 /usr/bin/python3 train/train.py --data data/brain-64 --name "$name" --pools "$1" --base "$2" \
    --epochs "$epochs" --threads 1 --log-every 1000 --models-dir "$dir" --ckpt-dir "$dir" 2>/dev/null | tail -n 2
done
# the activation-size penalty (default 1e-3) at the default size
for pen in 0 1e-2; do
  name="brain64_p2_b8_pen$pen"
  echo "+ $name"
  nice -n 10 /usr/bin/python3 train/train.py --data data/brain-64 --name "$name" --act-penalty "$pen" \
    --epochs "$epochs" --threads 1 --log-every 1000 --models-dir "$dir" --ckpt-dir "$dir" 2>/dev/null | tail -n 2
done
/usr/bin/python3 train/cards_table.py "$dir"/brain64_p*.card.json
