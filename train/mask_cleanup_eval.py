"""Does a client-side clean-up of the predicted mask (after decryption; the server never sees it) raise
the Dice? Per 2D slice, on the thresholded mask (logit > threshold):

  none      the mask as it is
  fill      fill holes: background components that do not touch the image border become foreground
  largest   keep only the largest connected foreground component (ties: the first in raster order)
  both      largest, then fill

Connectivity: foreground 8-connected, background 4-connected (the usual consistent pair; --conn 4
swaps them). Labelling: scipy.ndimage.label when scipy is installed, else a plain BFS (numpy + deque);
--check-scipy checks the BFS, the hole filling and the largest component against scipy.

Modes:
  split Dice   --model M --data data/brain-256 --splits val test [--logits-dir D]
               logits from PyTorch (float32, the ONNX initialisers in train/unet.py's HEUNet) or, with
               --logits-dir, from D/<split>/<file>.npy written by `cryptounet predict --logits` (the C++
               reference executor, float64). Prints the mean Dice per variant and every image whose Dice
               changes by more than 1e-4.
  threshold    --sweep: the logit threshold in [-2, 2] (step 0.1) with the best mean validation Dice
               (chosen on val only), then its test Dice.
  held-out     --heldout: train/heldout.py's test / ch2better / rot90 / deformed checks from the prepared
               PNGs (--data, its -ch2better twin beside it), each variant; --heldout-volume: from the
               volumes instead (heldout.py's default), with its three axial columns.

  OMP_NUM_THREADS=1 nice -n 19 /usr/bin/python3 train/mask_cleanup_eval.py --model models/brain64.onnx \
      --data data/brain-64 --splits val test --heldout --json out/cleanup/brain64.json
"""
import argparse
import json
import os
import sys
from collections import deque

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from heldout import load_onnx_as_torch, sets_from_data  # noqa: E402
from png import read_gray  # noqa: E402

VARIANTS = ["none", "fill", "largest", "both"]
N4 = [(-1, 0), (1, 0), (0, -1), (0, 1)]
N8 = N4 + [(-1, -1), (-1, 1), (1, -1), (1, 1)]


def label(mask, conn):
    """mask: (H,W) bool -> (labels int32 with 0 = not in mask, 1.. in raster order of first pixel, count).
    scipy.ndimage.label when scipy is installed (same numbering), else label_bfs."""
    try:
        from scipy import ndimage
    except ImportError:
        return label_bfs(mask, conn)
    st = np.ones((3, 3), dtype=bool) if conn == 8 else ndimage.generate_binary_structure(2, 1)
    lab, n = ndimage.label(mask, structure=st)
    return lab.astype(np.int32), int(n)


def label_bfs(mask, conn):
    """label() by a plain BFS (numpy + deque)."""
    h, w = mask.shape
    lab = np.zeros((h, w), dtype=np.int32)
    nbrs = N8 if conn == 8 else N4
    m = mask.tolist()
    lb = lab.tolist()
    n = 0
    for y0 in range(h):
        row = m[y0]
        for x0 in range(w):
            if not row[x0] or lb[y0][x0]:
                continue
            n += 1
            lb[y0][x0] = n
            q = deque([(y0, x0)])
            while q:
                y, x = q.popleft()
                for dy, dx in nbrs:
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < h and 0 <= xx < w and m[yy][xx] and not lb[yy][xx]:
                        lb[yy][xx] = n
                        q.append((yy, xx))
    return np.array(lb, dtype=np.int32), n


def fill_holes(mask, fg_conn=8):
    """Background components (connectivity 12 - fg_conn) that do not touch the border -> foreground."""
    lab, n = label(~mask, 4 if fg_conn == 8 else 8)
    if n == 0:
        return mask.copy()
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    keep_bg = np.zeros(n + 1, dtype=bool)
    keep_bg[border] = True
    keep_bg[0] = False
    holes = (lab > 0) & ~keep_bg[lab]
    return mask | holes


def largest_component(mask, fg_conn=8):
    lab, n = label(mask, fg_conn)
    if n <= 1:
        return mask.copy()
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    sizes[0] = -1
    return lab == int(np.argmax(sizes))   # argmax: the first (lowest label) of equal sizes


def apply_variant(mask, variant, fg_conn=8):
    if variant == "none":
        return mask
    if variant == "fill":
        return fill_holes(mask, fg_conn)
    if variant == "largest":
        return largest_component(mask, fg_conn)
    if variant == "both":
        return fill_holes(largest_component(mask, fg_conn), fg_conn)
    raise ValueError(variant)


def dice(p, t):
    tp = float(np.sum(p & t))
    den = float(np.sum(p)) + float(np.sum(t))
    return 1.0 if den == 0 else 2 * tp / den


def load_split(root, split):
    man = json.load(open(os.path.join(root, "manifest.json")))
    files, xs, ys = [], [], []
    for it in man["items"]:
        if it["split"] != split:
            continue
        files.append(it["file"])
        xs.append(read_gray(os.path.join(root, "images", it["file"])))
        ys.append(read_gray(os.path.join(root, "masks", it["file"])) >= 0.5)
    return files, xs, ys


def torch_logits(net, xs):
    x = torch.tensor(np.stack(xs)[:, None], dtype=torch.float32)
    with torch.no_grad():
        lg = torch.cat([net(x[i:i + 16]) for i in range(0, x.shape[0], 16)])
    return [a[0].double().numpy() for a in lg]


def variant_scores(logits, ys, threshold, fg_conn):
    """variant -> per-image Dice list."""
    out = {v: [] for v in VARIANTS}
    for lg, y in zip(logits, ys):
        m = lg > threshold
        for v in VARIANTS:
            out[v].append(dice(apply_variant(m, v, fg_conn), y))
    return out


def check_scipy(masks, fg_conn):
    """label_bfs against scipy.ndimage.label, fill_holes against binary_fill_holes, largest_component
    against a scipy labelling."""
    from scipy import ndimage
    s8 = np.ones((3, 3), dtype=bool)
    s4 = ndimage.generate_binary_structure(2, 1)
    fs, bs = (s8, s4) if fg_conn == 8 else (s4, s8)
    for m in masks:
        for mm, c in ((m, fg_conn), (~m, 12 - fg_conn)):
            lab, n = label_bfs(mm, c)
            ref, rn = ndimage.label(mm, structure=s8 if c == 8 else s4)
            assert n == rn and np.array_equal(lab, ref), "label_bfs differs from scipy"
        ref_fill = ndimage.binary_fill_holes(m, structure=bs)
        assert np.array_equal(fill_holes(m, fg_conn), ref_fill), "fill_holes differs from scipy"
        lab, n = ndimage.label(m, structure=fs)
        if n > 1:
            sizes = np.bincount(lab.ravel())
            sizes[0] = -1
            ref = lab == int(np.argmax(sizes))
        else:
            ref = m
        assert np.array_equal(largest_component(m, fg_conn), ref), "largest_component differs from scipy"
    print(f"scipy cross-check: {len(masks)} masks, fill and largest equal", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--splits", nargs="*", default=["val", "test"])
    ap.add_argument("--logits-dir", default=None)
    ap.add_argument("--threshold", type=float, default=0.0)
    ap.add_argument("--conn", type=int, choices=[4, 8], default=8, help="foreground connectivity")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--heldout", action="store_true")
    ap.add_argument("--heldout-volume", action="store_true",
                    help="the held-out checks from the volumes (heldout.py without --from-data), with the "
                         "axial, axial-ch2better and axial-deformed columns (all 121 axial slices)")
    ap.add_argument("--check-scipy", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    net = load_onnx_as_torch(args.model)
    report = {"model": args.model, "data": args.data, "conn": args.conn, "threshold": args.threshold,
              "logits": "C++ " + args.logits_dir if args.logits_dir else "torch float32"}
    cache = {}
    for split in args.splits:
        files, xs, ys = load_split(args.data, split)
        if args.logits_dir:
            lgs = [np.load(os.path.join(args.logits_dir, split, f[:-4] + ".npy"))[0] for f in files]
        else:
            lgs = torch_logits(net, xs)
        cache[split] = (files, lgs, ys)
        if args.check_scipy:
            check_scipy([lg > args.threshold for lg in lgs], args.conn)
        sc = variant_scores(lgs, ys, args.threshold, args.conn)
        r = {v: round(float(np.mean(d)), 5) for v, d in sc.items()}
        changed = {}
        for v in VARIANTS[1:]:
            ch = [(f, round(sc["none"][i], 4), round(sc[v][i], 4)) for i, f in enumerate(files)
                  if abs(sc[v][i] - sc["none"][i]) > 1e-4]
            changed[v] = ch
        report[split] = {"mean": r, "images": len(files), "changed": changed,
                         "per_image": {f: {v: sc[v][i] for v in VARIANTS} for i, f in enumerate(files)}}
        print(f"{args.model} {split} ({len(files)} images): " +
              ", ".join(f"{v} {r[v]:.5f}" for v in VARIANTS), flush=True)
        for v in VARIANTS[1:]:
            print(f"  {v}: {len(changed[v])} images change: " +
                  "; ".join(f"{f} {a:.4f}->{b:.4f}" for f, a, b in changed[v]), flush=True)
    if args.sweep and "val" in cache:
        ths = [round(-2 + 0.1 * k, 1) for k in range(41)]
        _, lv, yv = cache["val"]
        best = {}
        for v in VARIANTS:
            vals = []
            for th in ths:
                vals.append(float(np.mean([dice(apply_variant(lg > th, v, args.conn), y) for lg, y in zip(lv, yv)])))
            k = int(np.argmax(vals))
            best[v] = {"threshold": ths[k], "val": round(vals[k], 5)}
            if "test" in cache:
                _, lt, yt = cache["test"]
                best[v]["test"] = round(float(np.mean([dice(apply_variant(lg > ths[k], v, args.conn), y)
                                                        for lg, y in zip(lt, yt)])), 5)
            print(f"  sweep {v}: best val threshold {ths[k]:+.1f} val {vals[k]:.5f} test {best[v].get('test')}",
                  flush=True)
        report["sweep"] = best
    if args.heldout or args.heldout_volume:
        if args.heldout_volume:
            from heldout import build_slices, check_sets
            sets = check_sets(int(load_split(args.data, "test")[1][0].shape[0]), build_slices())
        else:
            sets = sets_from_data(args.data)
        from heldout import normaliser
        card_path = args.model[:-5] + ".card.json"
        card = json.load(open(card_path)) if os.path.exists(card_path) else {}
        norm = normaliser(card)
        hr = {}
        for k, (xs, ys) in sets.items():
            lgs = torch_logits(net, [norm(a) for a in xs])
            sc = variant_scores(lgs, [y >= 0.5 for y in ys], args.threshold, args.conn)
            hr[k] = {v: round(float(np.mean(d)), 5) for v, d in sc.items()}
            hr[k]["min"] = {v: round(float(np.min(d)), 4) for v, d in sc.items()}
            print(f"  heldout {k} ({len(xs)}): " + ", ".join(f"{v} {hr[k][v]:.5f}" for v in VARIANTS), flush=True)
        report["heldout"] = hr
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
