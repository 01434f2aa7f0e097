"""Prints a markdown table from model cards: /usr/bin/python3 train/cards_table.py models/*.card.json"""
import json
import sys


def main():
    print("| model | poolings | base ch. | params | depth | test Dice | test IoU | zoomed-out Dice | "
          "max abs activation | epochs | train time |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in sys.argv[1:]:
        c = json.load(open(path))
        a = c["architecture"]
        act = max(v for k, v in c["activation_max_abs"].items() if k != "input")
        print(f"| {c['name']} | {a['pools']} | {a['base']} | {c['parameter_count']} | "
              f"{c['multiplicative_depth']} | {c['test']['dice']:.4f} | {c['test']['iou']:.4f} | "
              f"{c['test_zoomed_out']['dice']:.4f} | {act:.3g} | {c['epochs']} | {c['training_time_s']:.0f} s |")


if __name__ == "__main__":
    main()
