"""Prepares the brain MRI segmentation datasets from Debian's mricron-data.

Source: /usr/share/mricron/templates/ch2.nii.gz (T1 MRI, 181x217x181, 1 mm) and ch2bet.nii.gz (its
brain-extracted twin); brain mask = ch2bet > 0.

For each orientation (sagittal, coronal, axial) and each slice index:
  - keep the slice if the brain covers at least --min-fraction of the square-padded slice;
  - rotate so the head is upright, pad to a square with zeros (no stretching);
  - resample to SxS: images by area averaging, masks by majority (area average >= 0.5);
  - scale the image to [0, 1] by its maximum (after resampling, so the saved image has max 1),
    write 8-bit PNGs: images/<orient>_<idx>.png and masks/<orient>_<idx>.png (0/255).
Split by slice position, per orientation: the kept slice range is cut into contiguous blocks of
--block slices; block k is test if k % 7 == 3, val if k % 7 == 6, train otherwise. Where a block's split
differs from the previous block's, its first --gap slices are dropped, so no val/test slice is within
--gap slices of a training slice of the same orientation. (All slices come from one head, so slices of
different orientations intersect: the test split measures generalisation across slice positions and
orientations, not across subjects.)

Writes <out>/brain-<S>/ for each --sizes S with manifest.json:
  {"name", "size", "channels": 1, "source", "items": [{"file", "split", "source"}]}

Usage: /usr/bin/python3 train/prepare_brain.py [--out data] [--sizes 64 128]
"""
import argparse
import json
import os
import sys

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png import write_gray8  # noqa: E402

TEMPLATES = "/usr/share/mricron/templates"
ORIENTS = ["sag", "cor", "axi"]
ORIENT_NAMES = {"sag": "sagittal x", "cor": "coronal y", "axi": "axial z"}


def load_volumes():
    t1 = nib.as_closest_canonical(nib.load(os.path.join(TEMPLATES, "ch2.nii.gz")))
    bet = nib.as_closest_canonical(nib.load(os.path.join(TEMPLATES, "ch2bet.nii.gz")))
    return np.asanyarray(t1.dataobj).astype(np.float64), np.asanyarray(bet.dataobj) > 0


def get_slice(vol, axis, i):
    s = np.take(vol, i, axis=axis)      # RAS volume: remaining axes in (x|y, y|z) order
    return np.rot90(s)                  # superior / anterior up


def pad_square(a):
    h, w = a.shape
    n = max(h, w)
    out = np.zeros((n, n), dtype=a.dtype)
    y0, x0 = (n - h) // 2, (n - w) // 2
    out[y0:y0 + h, x0:x0 + w] = a
    return out


def area_resize(a, size):
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))[None, None]
    return F.interpolate(t, size=(size, size), mode="area")[0, 0].numpy()


def assign_splits(indices, block, gap):
    """indices: sorted kept slice indices of one orientation -> dict index -> split (gap slices absent)."""
    out = {}
    lo = indices[0]
    prev = None
    for i in indices:
        k = (i - lo) // block
        split = "test" if k % 7 == 3 else ("val" if k % 7 == 6 else "train")
        pos = (i - lo) % block
        if prev is not None and split != prev and pos < gap:
            continue
        out[i] = split
        if pos == block - 1:
            prev = split
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--min-fraction", type=float, default=0.02)
    ap.add_argument("--block", type=int, default=12)
    ap.add_argument("--gap", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)

    t1, mask = load_volumes()
    slices = []   # (orient, idx, split, padded image, padded mask)
    for axis, orient in enumerate(ORIENTS):
        kept = []
        for i in range(t1.shape[axis]):
            m = pad_square(get_slice(mask, axis, i))
            if m.mean() >= args.min_fraction:
                kept.append(i)
        splits = assign_splits(kept, args.block, args.gap)
        for i in kept:
            if i in splits:
                slices.append((orient, i, splits[i], pad_square(get_slice(t1, axis, i)),
                               pad_square(get_slice(mask, axis, i)).astype(np.float64)))

    counts = {}
    for s in args.sizes:
        root = os.path.join(args.out, f"brain-{s}")
        os.makedirs(os.path.join(root, "images"), exist_ok=True)
        os.makedirs(os.path.join(root, "masks"), exist_ok=True)
        items = []
        for orient, i, split, img, msk in slices:
            im = area_resize(img, s)
            mx = im.max()
            if mx <= 0:
                continue
            im8 = np.clip(np.rint(im / mx * 255.0), 0, 255).astype(np.uint8)
            mk8 = np.where(area_resize(msk, s) >= 0.5, 255, 0).astype(np.uint8)
            name = f"{orient}_{i:03d}.png"
            write_gray8(os.path.join(root, "images", name), im8)
            write_gray8(os.path.join(root, "masks", name), mk8)
            items.append({"file": name, "split": split,
                          "source": f"mricron-data ch2.nii.gz / ch2bet.nii.gz, {ORIENT_NAMES[orient]}={i}"})
        manifest = {"name": f"brain-{s}", "size": s, "channels": 1,
                    "source": "Debian mricron-data: ch2.nii.gz (T1), mask = ch2bet.nii.gz > 0",
                    "normalisation": "[0,1] by slice max",
                    "items": items}
        with open(os.path.join(root, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        counts = {sp: sum(1 for it in items if it["split"] == sp) for sp in ("train", "val", "test")}
        print(f"{root}: {len(items)} slices {counts}")


if __name__ == "__main__":
    main()
