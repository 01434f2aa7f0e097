"""Held-out checks for the brain models (issue 12): Dice of each model on copies of the head that do not
reuse the training data's geometry or contrast as-is. Built from the volumes (prepare_brain.build_slices),
resampled to each model's size, normalised as each model's card says (slice max for the pre-issue-12
models, the 99.5th percentile otherwise), evaluated in float (no 8-bit rounding):

  test           the test split (ch2), as in the card (positions held out, 8-bit rounding aside)
  ch2better      the test split's slices in the second contrast (ch2better: skull-stripped, other T1 contrast)
  rot90          the test split turned 90 degrees (front faces left instead of up)
  deformed       the test split, each slice once through a fixed (seeded) strong deformation: rotation at a
                 uniform angle in [0, 360), a flip half the time, scale 0.45-0.8, shift +-10 %, elastic
                 displacement (amplitude 5 % of the half-width on a 6x6 lattice), bias field (exp of
                 0.3 x a smooth N(0,1) field) -- then the model's normalisation
  axial, axial-ch2better, axial-deformed
                 every axial slice (all splits) -- held out only for models trained with
                 --holdout-orient axi; printed for every model, meaningful for those

  /usr/bin/python3 train/heldout.py --models out/before/brain64.onnx models/brain64.onnx [--json out/h.json]
"""
import argparse
import json
import math
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prepare_brain import PERCENTILE, area_resize, build_slices  # noqa: E402
from unet import HEUNet  # noqa: E402

CHECKS = ["test", "ch2better", "rot90", "deformed", "axial", "axial-ch2better", "axial-deformed"]


def load_onnx_as_torch(path):
    """The exported (BatchNorm-folded) HEUNet from its ONNX initialisers."""
    m = onnx.load(path)
    w = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    base = int(w["enc.0.body.0.weight"].shape[0])
    pools = len([k for k in w if k.startswith("up.") and k.endswith(".weight")])
    width = int(w["head.weight"].shape[1])
    net = HEUNet(in_ch=1, base=base, pools=pools, convs=1, batch_norm=False,
                 head_width=None if width == base else width)
    net.load_state_dict(w, strict=True)
    return net.eval()


def normaliser(card):
    text = card.get("normalisation", "")
    if "slice max" in text:
        return lambda a: a / a.max() if a.max() > 0 else a
    p = PERCENTILE

    def pct(a):
        q = float(np.percentile(a, p))
        q = q if q > 0 else float(a.max())
        return np.clip(a / q, 0, 1) if q > 0 else a
    return pct


def deform(img, msk, g):
    """img, msk: (S,S) float arrays -> the strongly deformed pair (see the module doc)."""
    s = img.shape[0]
    x = torch.from_numpy(np.stack([img, msk]))[:, None].float()
    r = torch.rand(6, generator=g).tolist()
    ang = 2 * math.pi * r[0]
    sc = 0.45 + 0.35 * r[1]
    fx = -1.0 if r[2] < 0.5 else 1.0
    c, sn = math.cos(ang), math.sin(ang)
    th = torch.tensor([[c * fx / sc, -sn / sc, (r[3] - 0.5) * 0.4],
                       [sn * fx / sc, c / sc, (r[4] - 0.5) * 0.4]], dtype=torch.float32)
    grid = F.affine_grid(th[None], (1, 1, 2 * s, 2 * s), align_corners=False)
    disp = F.interpolate(torch.randn(1, 2, 6, 6, generator=g), size=(2 * s, 2 * s), mode="bicubic",
                         align_corners=True)
    grid = grid + 0.05 * disp.permute(0, 2, 3, 1)
    out = F.avg_pool2d(F.grid_sample(x, grid.expand(2, -1, -1, -1), mode="bilinear", padding_mode="zeros",
                                     align_corners=False), 2)
    field = F.interpolate(torch.randn(1, 1, 4, 4, generator=g), size=(s, s), mode="bicubic",
                          align_corners=True)[0, 0]
    im = (out[0, 0] * torch.exp(0.3 * field)).clamp(min=0).double().numpy()
    return im, (out[1, 0] >= 0.5).double().numpy()


def check_sets(size, slices):
    """check name -> (list of raw (S,S) images in [0,1] by volume max, list of masks)."""
    g = torch.Generator().manual_seed(2026)
    sets = {k: ([], []) for k in CHECKS}
    for orient, _, split, t1, t2, msk in slices:
        a1, a2 = area_resize(t1, size) / 255.0, area_resize(t2, size) / 255.0
        m = (area_resize(msk, size) >= 0.5).astype(np.float64)
        if split == "test":
            sets["test"][0].append(a1)
            sets["test"][1].append(m)
            sets["ch2better"][0].append(a2)
            sets["ch2better"][1].append(m)
            sets["rot90"][0].append(np.rot90(a1).copy())
            sets["rot90"][1].append(np.rot90(m).copy())
            d, dm = deform(a1, m, g)
            sets["deformed"][0].append(d)
            sets["deformed"][1].append(dm)
        if orient == "axi":
            sets["axial"][0].append(a1)
            sets["axial"][1].append(m)
            sets["axial-ch2better"][0].append(a2)
            sets["axial-ch2better"][1].append(m)
            d, dm = deform(a1, m, g)
            sets["axial-deformed"][0].append(d)
            sets["axial-deformed"][1].append(dm)
    return sets


def dice(logits, y):
    p = (logits > 0).float().flatten(1)
    t = y.flatten(1)
    inter = (p * t).sum(1)
    tot = p.sum(1) + t.sum(1)
    return torch.where(tot > 0, 2 * inter / tot.clamp(min=1e-9), torch.ones_like(inter))


def evaluate(path, sets):
    card_path = path[:-5] + ".card.json"
    card = json.load(open(card_path)) if os.path.exists(card_path) else {}
    norm = normaliser(card)
    net = load_onnx_as_torch(path)
    res = {}
    for k, (xs, ys) in sets.items():
        if not xs:
            continue
        x = torch.tensor(np.stack([norm(a) for a in xs])[:, None], dtype=torch.float32)
        y = torch.tensor(np.stack(ys)[:, None], dtype=torch.float32)
        with torch.no_grad():
            lg = torch.cat([net(x[i:i + 32]) for i in range(0, x.shape[0], 32)])
        d = dice(lg, y)
        res[k] = {"dice": round(float(d.mean()), 4), "dice_min": round(float(d.min()), 4),
                  "images": int(x.shape[0]), "max_abs_logit": round(float(lg.abs().max()), 2)}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--json", default=None)
    ap.add_argument("--cache", default=None, help="pickle of the prepared slices (made if missing)")
    ap.add_argument("--from-data", default=None,
                    help="prepared dataset folder (e.g. data/brain-64; its -ch2better twin beside it): the test, "
                         "ch2better, rot90 and deformed checks from its PNGs instead of the volumes (fast)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.from_data:
        sets = sets_from_data(args.from_data)
        out = {p: evaluate(p, sets) for p in args.models}
        for p, r in out.items():
            print(p, json.dumps(r), flush=True)
        if args.json:
            old = json.load(open(args.json)) if os.path.exists(args.json) else {}
            old.update({p + " (from " + args.from_data + ")": r for p, r in out.items()})
            with open(args.json, "w") as f:
                json.dump(old, f, indent=1)
        return
    if args.cache and os.path.exists(args.cache):
        import pickle
        slices = pickle.load(open(args.cache, "rb"))
    else:
        slices = build_slices()
        if args.cache:
            import pickle
            pickle.dump(slices, open(args.cache, "wb"))
    cache = {}
    out = {}
    for path in args.models:
        size = int(onnx.load(path).graph.input[0].type.tensor_type.shape.dim[-1].dim_value)
        if size not in cache:
            cache[size] = check_sets(size, slices)
        out[path] = evaluate(path, cache[size])
        print(path, json.dumps(out[path]), flush=True)
    print("| model | " + " | ".join(CHECKS) + " |")
    print("|---|" + "---:|" * len(CHECKS))
    for path, r in out.items():
        print(f"| {path} | " + " | ".join(f"{r[k]['dice']:.3f}" if k in r else "-" for k in CHECKS) + " |")
    if args.json:
        old = json.load(open(args.json)) if os.path.exists(args.json) else {}
        old.update(out)
        with open(args.json, "w") as f:
            json.dump(old, f, indent=1)



def sets_from_data(root):
    """The test / ch2better / rot90 / deformed checks from prepared PNG datasets (root and root-ch2better):
    the same slices as check_sets, 8-bit and already percentile-normalised (for the issue-12 models;
    deformed copies are re-normalised after the deformation)."""
    from png import read_gray
    man = json.load(open(os.path.join(root, "manifest.json")))
    g = torch.Generator().manual_seed(2026)
    sets = {k: ([], []) for k in ("test", "ch2better", "rot90", "deformed")}
    for it in man["items"]:
        if it["split"] != "test":
            continue
        a1 = read_gray(os.path.join(root, "images", it["file"])).astype(np.float64)
        a2 = read_gray(os.path.join(root + "-ch2better", "images", it["file"])).astype(np.float64)
        m = (read_gray(os.path.join(root, "masks", it["file"])) >= 0.5).astype(np.float64)
        for k, a, mm in (("test", a1, m), ("ch2better", a2, m), ("rot90", np.rot90(a1).copy(), np.rot90(m).copy())):
            sets[k][0].append(a)
            sets[k][1].append(mm)
        d, dm = deform(a1, m, g)
        sets["deformed"][0].append(d)
        sets["deformed"][1].append(dm)
    return sets


if __name__ == "__main__":
    main()
