"""Prepares the brain MRI segmentation datasets from Debian's mricron-data.

Source: /usr/share/mricron/templates/ch2.nii.gz (T1 MRI, 181x217x181, 1 mm) and ch2bet.nii.gz (its
brain-extracted twin); brain mask = ch2bet > 0. A second contrast of the same head, ch2better.nii.gz
(0.5 mm, skull-stripped, another T1 contrast), is box-filtered onto ch2's 1 mm grid (its voxel centres
coincide with every second ch2better voxel; weights 1/4, 1/2, 1/4 per axis) and written as a twin dataset.

For each orientation (sagittal, coronal, axial) and each slice index:
  - keep the slice if the brain covers at least --min-fraction of the square-padded slice;
  - rotate so the head is upright, pad to a square with zeros (no stretching);
  - resample to SxS: images by area averaging, masks by majority (area average >= 0.5); a size at least
    the padded side (256: full resolution) is zero-padded to SxS instead (1 mm pixels, no resampling);
  - percentile normalisation (PERCENTILE_NORM below): divide by the slice's 99.5th percentile over all
    its pixels (after resampling), clip to [0, 1]; one bright voxel no longer sets the scale;
    write 8-bit PNGs: images/<orient>_<idx>.png and masks/<orient>_<idx>.png (0/255).
Split by slice position, per orientation: the kept slice range is cut into contiguous blocks of
--block slices; block k is test if k % 7 == 3, val if k % 7 == 6, train otherwise. Where a block's split
differs from the previous block's, its first --gap slices are dropped, so no val/test slice is within
--gap slices of a training slice of the same orientation. (All slices come from one head, so slices of
different orientations intersect: the test split measures generalisation across slice positions and
orientations, not across subjects.)

Writes <out>/brain-<S>/ (ch2) and <out>/brain-<S>-ch2better/ (same slices, splits and masks, ch2better
images) for each --sizes S, each with manifest.json:
  {"name", "size", "channels": 1, "source", "normalisation", "items": [{"file", "split", "source"}]}

Usage: /usr/bin/python3 train/prepare_brain.py [--out data] [--sizes 64 128 256]
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


PERCENTILE = 99.5
NORMALISATION = (f"[0,1]: slice / its {PERCENTILE}th percentile over all pixels (numpy 'linear'), clipped to "
                 "[0,1], after resampling to the model size")


def percentile_norm(a, q=PERCENTILE):
    """a / (q-th percentile of all of a's values), clipped to [0, 1]; an all-zero slice stays 0."""
    p = float(np.percentile(a, q))
    if p <= 0:
        p = float(a.max())
    return np.clip(a / p, 0.0, 1.0) if p > 0 else a


def load_volumes():
    """(ch2, ch2better on ch2's grid, mask) as float64, float64, bool arrays in RAS order."""
    t1 = nib.as_closest_canonical(nib.load(os.path.join(TEMPLATES, "ch2.nii.gz")))
    bet = nib.as_closest_canonical(nib.load(os.path.join(TEMPLATES, "ch2bet.nii.gz")))
    better = nib.as_closest_canonical(nib.load(os.path.join(TEMPLATES, "ch2better.nii.gz")))
    a = np.asanyarray(t1.dataobj).astype(np.float64)
    return a, onto_grid(better, t1.affine, a.shape), np.asanyarray(bet.dataobj) > 0


def onto_grid(img, affine, shape):
    """Resamples a volume with half the voxel size onto the grid (affine, shape) whose voxel centres
    coincide with every second one of its voxels: 1/4-1/2-1/4 box filter per axis, then every second
    voxel; outside its field of view = 0."""
    ratio = np.diag(img.affine)[:3] / np.diag(affine)[:3]
    off = (affine[:3, 3] - img.affine[:3, 3]) / np.diag(img.affine)[:3]
    if not np.allclose(ratio, 0.5) or not np.allclose(off, np.round(off)):
        raise ValueError("onto_grid: expected a 2x finer, voxel-aligned volume")
    v = torch.from_numpy(np.asanyarray(img.dataobj).astype(np.float64))[None, None]
    k = torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64)
    w = (k[:, None, None] * k[None, :, None] * k[None, None, :])[None, None]
    v = F.conv3d(v, w, padding=1)[0, 0].numpy()
    out = np.zeros(shape)
    idx = [np.arange(n) * 2 + int(round(o)) for n, o in zip(shape, off)]
    ok = [(i >= 0) & (i < v.shape[d]) for d, i in enumerate(idx)]
    out[np.ix_(*ok)] = v[np.ix_(*[i[m] for i, m in zip(idx, ok)])]
    return out


def get_slice(vol, axis, i):
    s = np.take(vol, i, axis=axis)      # RAS volume: remaining axes in (x|y, y|z) order
    return np.rot90(s)                  # superior / anterior up


def pad_square(a, n=0):
    h, w = a.shape
    n = max(h, w, n)
    out = np.zeros((n, n), dtype=a.dtype)
    y0, x0 = (n - h) // 2, (n - w) // 2
    out[y0:y0 + h, x0:x0 + w] = a
    return out


def area_resize(a, size):
    if a.shape[0] == a.shape[1] and size >= a.shape[0]:
        return pad_square(a, size)       # full resolution: zero-pad, no resampling
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


def build_slices(min_fraction=0.02, block=12, gap=3):
    """[(orient, idx, split, padded ch2 slice, padded ch2better slice, padded mask as float)]"""
    t1, t2, mask = load_volumes()
    slices = []
    for axis, orient in enumerate(ORIENTS):
        kept = []
        for i in range(t1.shape[axis]):
            m = pad_square(get_slice(mask, axis, i))
            if m.mean() >= min_fraction:
                kept.append(i)
        splits = assign_splits(kept, block, gap)
        for i in kept:
            if i in splits:
                slices.append((orient, i, splits[i], pad_square(get_slice(t1, axis, i)),
                               pad_square(get_slice(t2, axis, i)),
                               pad_square(get_slice(mask, axis, i)).astype(np.float64)))
    return slices


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--min-fraction", type=float, default=0.02)
    ap.add_argument("--block", type=int, default=12)
    ap.add_argument("--gap", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)

    slices = build_slices(args.min_fraction, args.block, args.gap)
    for s in args.sizes:
        for contrast, k, suffix, src in (("ch2", 3, "", "ch2.nii.gz (T1)"),
                                         ("ch2better", 4, "-ch2better",
                                          "ch2better.nii.gz (skull-stripped T1, 0.5 mm, box-filtered to 1 mm)")):
            root = os.path.join(args.out, f"brain-{s}{suffix}")
            os.makedirs(os.path.join(root, "images"), exist_ok=True)
            os.makedirs(os.path.join(root, "masks"), exist_ok=True)
            items = []
            for sl in slices:
                orient, i, split, msk = sl[0], sl[1], sl[2], sl[5]
                im = percentile_norm(area_resize(sl[k], s))
                if im.max() <= 0:
                    continue
                im8 = np.clip(np.rint(im * 255.0), 0, 255).astype(np.uint8)
                mk8 = np.where(area_resize(msk, s) >= 0.5, 255, 0).astype(np.uint8)
                name = f"{orient}_{i:03d}.png"
                write_gray8(os.path.join(root, "images", name), im8)
                write_gray8(os.path.join(root, "masks", name), mk8)
                items.append({"file": name, "split": split,
                              "source": f"mricron-data {contrast}.nii.gz / ch2bet.nii.gz, {ORIENT_NAMES[orient]}={i}"})
            manifest = {"name": f"brain-{s}{suffix}", "size": s, "channels": 1,
                        "source": f"Debian mricron-data: {src}, mask = ch2bet.nii.gz > 0",
                        "normalisation": NORMALISATION,
                        "items": items}
            with open(os.path.join(root, "manifest.json"), "w") as f:
                json.dump(manifest, f, indent=1)
            counts = {sp: sum(1 for it in items if it["split"] == sp) for sp in ("train", "val", "test")}
            print(f"{root}: {len(items)} slices {counts}")


if __name__ == "__main__":
    main()
