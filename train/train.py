"""Trains an HE-friendly U-Net (train/unet.py) on a prepared dataset, exports ONNX + model card.

  /usr/bin/python3 train/train.py --data data/brain-64 --name brain64 --epochs 120
  /usr/bin/python3 train/train.py --smoke        # CI: a few steps of a tiny model on generated data,
                                                 # export, onnx.checker, ONNX-vs-torch check (< 60 s)

Dataset format: DIR/manifest.json {"name","size","items":[{"file","split","source"}]}, DIR/images/<file>,
DIR/masks/<file> (0/255). Loss BCE + soft Dice, Adam + cosine schedule, fixed seeds, model selection by
validation Dice (mean of plain and zoomed-out validation Dice unless --select plain). Augmentation:
flips, gamma and intensity scaling, random zoom (incl. zoom-out) and shift. Optional penalty on the mean
square-activation size (--act-penalty) keeps the polynomial's intermediate values small.
Writes <out-models>/<name>.onnx, <name>.card.json and a checkpoint out/<name>.pt.

Export only (no training; the card's `command` is the training command, without these options): the training
command plus --from-checkpoint CK (a --save-best checkpoint) or --from-onnx M (the ONNX that command wrote; its
re-export must equal M byte for byte), with --logged-train-time S --logged-best-epoch E as that run logged them,
and with --from-onnx and --calibrate-bias also --logged-bias-shift B (already in M's head bias, not applied
again). E.g. models/brain256 from train/init/brain256-v3.onnx: train/train_models.sh brain256-card.
"""
import argparse
import copy
import json
import math
import os

# Bit-reproducible runs: OpenBLAS/OpenMP thread counts change summation order (and so the trained weights);
# pin them before numpy/torch load unless the caller set them.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import shlex
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from export import activation_ranges_torch, check_export, export_onnx, onnx_depth, write_card  # noqa: E402
from png import read_gray, write_gray8  # noqa: E402
from unet import HEUNet, Square, fold_batchnorm, param_count, widen_head  # noqa: E402

ZOOM_TEST_SCALES = (0.5, 0.6, 0.7)


# ---------------------------------------------------------------- data
def load_dataset(root, exclude_prefix=None):
    """exclude_prefix: leave out items whose file name starts with it (e.g. "axi_": hold out an orientation)."""
    man = json.load(open(os.path.join(root, "manifest.json")))
    out = {}
    for split in ("train", "val", "test"):
        items = [it for it in man["items"] if it.get("split") == split
                 and not (exclude_prefix and it["file"].startswith(exclude_prefix))]
        xs, ys, names = [], [], []
        for it in items:
            img_rel = it.get("image", os.path.join("images", it["file"]))
            msk_rel = it.get("mask", os.path.join("masks", it["file"]))
            xs.append(read_gray(os.path.join(root, img_rel)))
            ys.append(read_gray(os.path.join(root, msk_rel)) >= 0.5)
            names.append(img_rel)
        if xs:
            out[split] = (torch.tensor(np.stack(xs)[:, None], dtype=torch.float32),
                          torch.tensor(np.stack(ys)[:, None], dtype=torch.float32), names)
    return man, out


def place(img, msk, scale, dy, dx, fill):
    """Resizes (1,H,W) img/msk by `scale` (area averaging when shrinking, bilinear when enlarging),
    then puts the result at the centre of an HxW canvas shifted by (dy, dx) pixels (cropped if larger).
    Masks are re-binarised (>= 0.5). Returns (img, msk) of shape (1,H,W)."""
    _, h, w = img.shape
    n = max(2, int(round(h * scale)))
    mode = "area" if n < h else "bilinear"
    kw = {} if mode == "area" else {"align_corners": False}
    ri = F.interpolate(img[None], size=(n, n), mode=mode, **kw)[0]
    rm = (F.interpolate(msk[None], size=(n, n), mode=mode, **kw)[0] >= 0.5).float()
    ci = torch.full_like(img, fill)
    cm = torch.zeros_like(msk)
    y0 = (h - n) // 2 + dy
    x0 = (w - n) // 2 + dx
    sy0, sx0 = max(0, -y0), max(0, -x0)
    ty0, tx0 = max(0, y0), max(0, x0)
    hh = min(n - sy0, h - ty0)
    ww = min(n - sx0, w - tx0)
    if hh > 0 and ww > 0:
        ci[:, ty0:ty0 + hh, tx0:tx0 + ww] = ri[:, sy0:sy0 + hh, sx0:sx0 + ww]
        cm[:, ty0:ty0 + hh, tx0:tx0 + ww] = rm[:, sy0:sy0 + hh, sx0:sx0 + ww]
    return ci, cm


def renorm(img):
    m = float(img.max())
    return img / m if m > 0 else img


def augment(x, y, args, gen):
    xs, ys = [], []
    s = x.shape[-1]
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        r = torch.rand(8, generator=gen).tolist()
        if r[0] < 0.5:
            xi, yi = xi.flip(-1), yi.flip(-1)
        if args.vflip and r[1] < 0.5:
            xi, yi = xi.flip(-2), yi.flip(-2)
        if args.rot90 and r[2] < 0.5:
            xi, yi = xi.transpose(-1, -2), yi.transpose(-1, -2)
        if r[3] < args.zoom_prob:
            if r[4] < args.zoom_out_prob:
                scale = args.zoom_out_min + (1.0 - args.zoom_out_min) * r[5]
            else:
                scale = 1.0 + (args.zoom_in_max - 1.0) * r[5]
            maxshift = int(round(args.shift * s))
            sh = torch.randint(-maxshift, maxshift + 1, (2,), generator=gen).tolist() if maxshift else [0, 0]
            xi, yi = place(xi, yi, scale, sh[0], sh[1], args.fill)
            if args.renorm:
                xi = renorm(xi)
        gamma = math.exp((r[6] - 0.5) * 2 * math.log(args.gamma))
        xi = xi.clamp(min=0) ** gamma
        xi = xi * (1.0 - args.intensity * r[7])
        xs.append(xi)
        ys.append(yi)
    return torch.stack(xs), torch.stack(ys)


# ---------------------------------------------------------------- recipe "heavy" (issue 12)
def _smooth_field(b, grid, size, gen):
    """(b,1,size,size) smooth random field: N(0,1) on a grid x grid lattice, bicubic upsampled."""
    c = torch.randn(b, 1, grid, grid, generator=gen)
    return F.interpolate(c, size=(size, size), mode="bicubic", align_corners=True)


def _gauss_blur(x, sigma):
    """Per-image Gaussian blur; sigma: (B,) in pixels (0 = none)."""
    r = 3
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    out = x.clone()
    for i in range(x.shape[0]):
        s = float(sigma[i])
        if s <= 0:
            continue
        k = torch.exp(-0.5 * (t / s) ** 2)
        k = k / k.sum()
        xi = F.pad(x[i:i + 1], (r, r, r, r), mode="replicate")
        xi = F.conv2d(xi, k.view(1, 1, 1, -1))
        out[i:i + 1] = F.conv2d(xi, k.view(1, 1, -1, 1))
    return out


def percentile_renorm(x, q):
    """Per image: x / (its q[i]-th percentile over all pixels), clipped to [0, 1]."""
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        p = float(torch.quantile(x[i].flatten(), float(q[i]) / 100.0))
        if p <= 0:
            p = float(x[i].max())
        out[i] = (x[i] / p).clamp(0, 1) if p > 0 else x[i]
    return out


def geom_heavy(x, y, gen, rot=True, flip=True, scale=(0.4, 1.2), shift=0.12, elastic=0.035,
               p_geom=0.85):
    """Random rotation (any angle; a third of them on 90-degree steps +-8), h/v flips, scale, shift and
    elastic deformation, as one resampling: the image is sampled bilinearly on a 2x finer grid and
    area-averaged back (anti-aliased shrinking; at S >= 200 on the 1x grid, 4x cheaper), zero outside;
    the mask likewise, then >= 0.5.
    x, y: (B,1,S,S). A fraction 1 - p_geom of the batch stays untouched."""
    b, _, s, _ = x.shape
    r = torch.rand(b, 8, generator=gen)
    theta = torch.zeros(b, 2, 3)
    for i in range(b):
        if not rot:
            ang = 0.0
        elif r[i, 0] < 0.35:
            ang = (r[i, 1] - 0.5) * 2 * math.radians(12)
        elif r[i, 0] < 0.65:
            ang = math.pi / 2 * math.floor(r[i, 1] * 4) + (r[i, 2] - 0.5) * 2 * math.radians(8)
        else:
            ang = 2 * math.pi * r[i, 1]
        if r[i, 3] < 0.3:
            sc = 0.9 + 0.2 * float(r[i, 4])
        else:
            sc = scale[0] + (scale[1] - scale[0]) * float(r[i, 4])
        fx = -1.0 if flip and r[i, 5] < 0.5 else 1.0
        c, sn = math.cos(ang), math.sin(ang)
        # output -> input coordinates: inverse of (scale, rotate, flip)
        theta[i, 0, 0], theta[i, 0, 1] = c * fx / sc, -sn / sc
        theta[i, 1, 0], theta[i, 1, 1] = sn * fx / sc, c / sc
        theta[i, :, 2] = (torch.rand(2, generator=gen) - 0.5) * 4 * shift
    ss = 2 if s < 200 else 1
    grid = F.affine_grid(theta, (b, 1, ss * s, ss * s), align_corners=False)
    amp = elastic * torch.rand(b, generator=gen) * (torch.rand(b, generator=gen) < 0.6).float()
    disp = torch.cat([_smooth_field(b, 6, ss * s, gen), _smooth_field(b, 6, ss * s, gen)], 1)
    grid = grid + (amp.view(b, 1, 1, 1) * disp).permute(0, 2, 3, 1)
    xi = F.avg_pool2d(F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False), ss)
    yi = (F.avg_pool2d(F.grid_sample(y, grid, mode="bilinear", padding_mode="zeros", align_corners=False), ss)
          >= 0.5).float()
    keep = (torch.rand(b, generator=gen) >= p_geom).view(b, 1, 1, 1)
    return torch.where(keep, x, xi), torch.where(keep, y, yi)


def intensity_heavy(x, gen, p_clean=0.15):
    """Scanner-like intensity changes on [0,1] images (B,1,S,S): smooth multiplicative bias field,
    gamma, blur, Rician noise, then percentile renormalisation at a random percentile in [99, 100]
    (100 = slice max) and a random overall scale in [0.6, 1.1] (clipped at 1). A fraction p_clean
    of the batch is left as it is."""
    b, _, s, _ = x.shape
    r = torch.rand(b, 10, generator=gen)
    out = x.clone()
    field = _smooth_field(b, 4, s, gen)
    bias_amp = 0.35 * r[:, 0] * (r[:, 1] < 0.7).float()
    out = out * torch.exp(bias_amp.view(b, 1, 1, 1) * field)
    gamma = torch.exp((r[:, 2] - 0.5) * 2 * math.log(1.6))
    out = out.clamp(min=0) ** gamma.view(b, 1, 1, 1)
    sigma = torch.where(r[:, 3] < 0.3, 0.3 + 0.9 * r[:, 4], torch.zeros(b))
    out = _gauss_blur(out, sigma)
    ns = torch.where(r[:, 5] < 0.5, 0.06 * r[:, 6], torch.zeros(b)).view(b, 1, 1, 1)
    n1 = torch.randn(out.shape, generator=gen)
    n2 = torch.randn(out.shape, generator=gen)
    out = torch.sqrt((out + ns * n1) ** 2 + (ns * n2) ** 2)
    out = percentile_renorm(out, 99.0 + r[:, 7])
    out = (out * (0.6 + 0.5 * r[:, 8]).view(b, 1, 1, 1)).clamp(0, 1)
    clean = (r[:, 9] < p_clean).view(b, 1, 1, 1)
    return torch.where(clean, x, out)


def augment_heavy(x, y, x2, args, gen):
    """x: ch2 batch, x2: the same slices in the second contrast (or None), y: masks."""
    b = x.shape[0]
    if x2 is not None:
        pick = (torch.rand(b, generator=gen) < args.other_contrast).view(b, 1, 1, 1)
        x = torch.where(pick, x2, x)
    p = getattr(args, "aug_prob", 0.85)
    x, y = geom_heavy(x, y, gen, scale=(args.scale_min, args.scale_max), shift=args.shift,
                      elastic=args.elastic, p_geom=p)
    x = intensity_heavy(x, gen, p_clean=1.0 - p)
    if args.crop and args.crop < x.shape[-1]:
        c, s = args.crop, x.shape[-1]
        xs, ys = [], []
        for i in range(b):
            oy, ox = torch.randint(0, s - c + 1, (2,), generator=gen).tolist()
            xs.append(x[i, :, oy:oy + c, ox:ox + c])
            ys.append(y[i, :, oy:oy + c, ox:ox + c])
        x, y = torch.stack(xs), torch.stack(ys)
    return x, y


def heavy_set(x, y, x2, seed, other=0.3):
    """A fixed, strongly augmented copy of (x, y) (same generator seed -> same copy): for selection
    and for activation ranges."""
    g = torch.Generator().manual_seed(seed)
    a = argparse.Namespace(other_contrast=other, scale_min=0.4, scale_max=1.2, shift=0.12, elastic=0.035,
                           crop=0)
    xs, ys = [], []
    for i in range(0, x.shape[0], 32):
        xa, ya = augment_heavy(x[i:i + 32], y[i:i + 32], None if x2 is None else x2[i:i + 32], a, g)
        xs.append(xa)
        ys.append(ya)
    return torch.cat(xs), torch.cat(ys)


def zoom_out_set(x, y, scales=ZOOM_TEST_SCALES, fill=0.0):
    """Every image shrunk (centred) to each scale, renormalised to max 1."""
    xs, ys = [], []
    for sc in scales:
        for i in range(x.shape[0]):
            xi, yi = place(x[i], y[i], sc, 0, 0, fill)
            xs.append(renorm(xi))
            ys.append(yi)
    return torch.stack(xs), torch.stack(ys)


def zoom_shift_set(x, y, seed, fill=0.0, lo=0.5, hi=1.2, shift=0.15):
    """Each image once at a random scale in [lo, hi] and a random shift (for activation ranges)."""
    g = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    s = x.shape[-1]
    for i in range(x.shape[0]):
        sc = lo + (hi - lo) * float(torch.rand(1, generator=g))
        m = int(round(shift * s))
        dy, dx = torch.randint(-m, m + 1, (2,), generator=g).tolist()
        xi, yi = place(x[i], y[i], sc, dy, dx, fill)
        xs.append(renorm(xi))
        ys.append(yi)
    return torch.stack(xs), torch.stack(ys)


# ---------------------------------------------------------------- metrics / loss
RANGE_SUBSET_NOTE = ("; each set limited to a fixed random subset of {n} images (--range-images {n}: the "
                     "training subset is drawn first, then zoomed/shifted and heavy-augmented; the test set "
                     "plain + zoomed out is subsampled to {n} likewise)")


def range_subset(n_total, limit, seed):
    """Sorted indices of a fixed (seeded) random subset of at most `limit` of n_total items; all if limit <= 0."""
    if limit <= 0 or limit >= n_total:
        return torch.arange(n_total)
    return torch.randperm(n_total, generator=torch.Generator().manual_seed(seed))[:limit].sort().values


def card_activation_ranges(folded, onnx_path, data, x_test, limit=0, fill=0.0):
    """The card's activation ranges (float64 PyTorch hooks, one forward pass per batch of 32) over: the
    training set, the training set zoomed/shifted, the test images x_test (plain + zoomed out), the training
    set once through the heavy augmentation. limit > 0: each set is a fixed random subset of at most `limit`
    images (drawn before augmenting). Returns (train, zoom, test, augmented, images forwarded)."""
    xtr, ytr = data["train"][0], data["train"][1]
    x2 = data["train2"][0] if "train2" in data else None
    if limit > 0:
        it = range_subset(xtr.shape[0], limit, seed=11)
        xtr, ytr, x2 = xtr[it], ytr[it], (None if x2 is None else x2[it])
        x_test = x_test[range_subset(x_test.shape[0], limit, seed=12)]
    count = [0]

    def ranges(x):
        count[0] += int(x.shape[0])
        return activation_ranges_torch(folded, onnx_path, [x[i:i + 32].numpy() for i in range(0, x.shape[0], 32)])
    act_train = ranges(xtr)
    xzs, _ = zoom_shift_set(xtr, ytr, seed=1, fill=fill)
    act_zoom = ranges(xzs)
    act_test = ranges(x_test)
    xh, _ = heavy_set(xtr, ytr, x2, seed=7)
    act_aug = ranges(xh)
    return act_train, act_zoom, act_test, act_aug, count[0]


def dice_iou(logits, y):
    """Per-image Dice and IoU of (logits > 0) vs y; an empty mask predicted empty scores 1."""
    p = (logits > 0).float().flatten(1)
    t = y.flatten(1)
    inter = (p * t).sum(1)
    ps, ts = p.sum(1), t.sum(1)
    union = ps + ts - inter
    dice = torch.where(ps + ts > 0, 2 * inter / (ps + ts).clamp(min=1e-9), torch.ones_like(inter))
    iou = torch.where(union > 0, inter / union.clamp(min=1e-9), torch.ones_like(inter))
    return dice, iou


def predict(model, x, bs=64):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], bs):
            outs.append(model(x[i:i + bs]))
    return torch.cat(outs)


def evaluate(model, x, y):
    d, j = dice_iou(predict(model, x), y)
    return float(d.mean()), float(j.mean())


def calibrate_head_bias(model, x, y, lo=-1.5, hi=1.0, step=0.1):
    """Adds to the head's bias the offset in [lo, hi] (steps of `step`) with the best mean Dice on (x, y)
    (the validation split): the threshold logit > 0 moved by one constant, no other change. Ties go to the
    offset closest to 0. Returns (offset, Dice before, Dice after)."""
    lg = predict(model, x)
    n = int(round((hi - lo) / step))
    offsets = sorted((round(lo + k * step, 6) for k in range(n + 1)), key=abs)
    scores = {b: float(dice_iou(lg + b, y)[0].mean()) for b in offsets}
    best = max(offsets, key=lambda b: scores[b])   # max keeps the first of equal scores: smallest |b|
    with torch.no_grad():
        model.head.bias.add_(best)
    return best, float(dice_iou(lg, y)[0].mean()), scores[best]


def loss_fn(logits, y):
    bce = F.binary_cross_entropy_with_logits(logits, y)
    p = torch.sigmoid(logits).flatten(1)
    t = y.flatten(1)
    dice = (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
    return bce + (1 - dice).mean()


# ---------------------------------------------------------------- training
def set_seeds(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)


def train_model(args, data, log=print):
    set_seeds(args.seed)
    xtr, ytr, _ = data["train"]
    xva, yva, _ = data["val"]
    x2tr = data["train2"][0] if "train2" in data else None
    if args.init_onnx:
        from heldout import load_onnx_as_torch
        model = load_onnx_as_torch(args.init_onnx).train()   # BatchNorm already folded: none to train
        log(f"warm start from {args.init_onnx} (no BatchNorm)")
        hw = getattr(args, "head_width", None)
        if hw is not None and hw != model.head.weight.shape[1]:
            model = widen_head(model, hw, torch.Generator().manual_seed(args.seed + 7)).train()
            log(f"last decoder block widened to {hw} channels (same function at the start)")
    else:
        model = HEUNet(in_ch=1, base=args.base, pools=args.pools, convs=args.convs,
                       head_width=getattr(args, "head_width", None))
    params = list(model.parameters())
    if getattr(args, "train_only", None):
        # the other layers are fixed: no gradient is computed for them (their outputs need none), so a step
        # costs about the forward pass plus the trained layers' backward pass
        prefixes = tuple(p.strip() for p in args.train_only.split(",") if p.strip())
        named = list(model.named_parameters())
        for name, p in named:
            p.requires_grad_(name.startswith(prefixes))
        params = [p for _, p in named if p.requires_grad]
        if not params:
            raise ValueError(f"--train-only {args.train_only}: no parameter name starts with it")
        log(f"training only {sorted(n for n, p in named if p.requires_grad)}")
    opt = torch.optim.Adam(params, lr=args.lr)
    n = xtr.shape[0]
    steps_per_epoch = max(1, math.ceil(n / args.batch))
    total = args.epochs * steps_per_epoch if args.steps is None else args.steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.1)
    squares = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: squares.append(out))
             for m in model.modules() if isinstance(m, Square)]
    gen = torch.Generator().manual_seed(args.seed)
    if args.recipe == "heavy":
        xva_z, yva_z = heavy_set(xva, yva, data["val2"][0] if "val2" in data else None, seed=12345)
    else:
        xva_z, yva_z = zoom_out_set(xva, yva, fill=args.fill)
    best = (-1.0, None, -1)
    step = 0
    losses = []
    t0 = time.time()
    use_tqdm = not args.smoke
    if use_tqdm:
        from tqdm import tqdm
    epoch = 0
    while step < total and (args.stop_after is None or epoch < args.stop_after):
        model.train()
        perm = torch.randperm(n, generator=gen)
        batches = [perm[i:i + args.batch] for i in range(0, n, args.batch)]
        it = tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False, ncols=100) if use_tqdm else batches
        ep_loss = 0.0
        for idx in it:
            if step >= total:
                break
            if args.recipe == "heavy":
                xb, yb = augment_heavy(xtr[idx], ytr[idx], None if x2tr is None else x2tr[idx], args, gen)
            else:
                xb, yb = augment(xtr[idx], ytr[idx], args, gen)
            squares.clear()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            pen = sum(s.mean() for s in squares) / max(1, len(squares))
            total_loss = loss + args.act_penalty * pen
            if args.logit_cap > 0:
                total_loss = total_loss + args.logit_cap_weight * \
                    (F.relu(logits.abs() - args.logit_cap) ** 2).mean()
            opt.zero_grad()
            total_loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            losses.append(float(loss))
            ep_loss += float(loss)
            if use_tqdm:
                it.set_postfix(loss=f"{float(loss):.4f}")
        epoch += 1
        if args.smoke:
            continue
        vd, _ = evaluate(model, xva, yva)
        vz, _ = evaluate(model, xva_z, yva_z)
        score = vd if args.select == "plain" else 0.5 * (vd + vz)
        if score > best[0]:
            best = (score, {k: v.clone() for k, v in model.state_dict().items()}, epoch)
            if getattr(args, "save_best", None):
                # for a run that may be stopped: export it later with --from-checkpoint (same card)
                torch.save({"config": model.config, "size": int(xtr.shape[-1]), "state_dict": best[1],
                            "epoch": epoch, "seconds": time.time() - t0}, args.save_best)
        if epoch % args.log_every == 0 or epoch == args.epochs:
            log(f"epoch {epoch:4d}  loss {ep_loss / len(batches):.4f}  val Dice {vd:.4f}  "
                f"val {'augmented' if args.recipe == 'heavy' else 'zoomed-out'} Dice {vz:.4f}  "
                f"({time.time() - t0:.0f} s)", flush=True)
    for h in hooks:
        h.remove()
    train_time = time.time() - t0
    if best[1] is not None:
        model.load_state_dict(best[1])
    model.eval()
    return model, train_time, best, losses


# ---------------------------------------------------------------- smoke test
def synth_blobs(count, size, seed):
    """Generated segmentation data: bright ellipses on a noisy dark background, in [0, 1]."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    xs, ys = [], []
    for _ in range(count):
        m = np.zeros((size, size), bool)
        for _ in range(g.integers(1, 3)):
            cy, cx = g.uniform(3, size - 3, 2)
            ry, rx = g.uniform(2, size / 4, 2)
            m |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        img = np.clip(0.15 + 0.6 * m + g.normal(0, 0.08, m.shape), 0, 1)
        xs.append(img / img.max())
        ys.append(m)
    return xs, ys


def smoke(args):
    t0 = time.time()
    torch.set_num_threads(1)
    set_seeds(0)
    tmp = tempfile.mkdtemp(prefix="cu_train_smoke_")
    try:
        size = 16
        xs, ys = synth_blobs(40, size, 0)
        os.makedirs(os.path.join(tmp, "data", "images"))
        os.makedirs(os.path.join(tmp, "data", "masks"))
        items = []
        for i, (a, b) in enumerate(zip(xs, ys)):
            name = f"s{i:03d}.png"
            write_gray8(os.path.join(tmp, "data", "images", name), np.rint(a * 255).astype(np.uint8))
            write_gray8(os.path.join(tmp, "data", "masks", name), (b * 255).astype(np.uint8))
            items.append({"file": name, "split": "train" if i < 32 else ("val" if i < 36 else "test"),
                          "source": "smoke"})
        json.dump({"name": "smoke", "size": size, "items": items},
                  open(os.path.join(tmp, "data", "manifest.json"), "w"))
        _, data = load_dataset(os.path.join(tmp, "data"))
        xtr = data["train"][0]
        back = np.rint(xtr[0, 0].numpy() * 255)
        assert np.array_equal(back, np.rint(xs[0] * 255)), "PNG round trip changed pixel values"
        args.base, args.pools, args.convs, args.batch, args.lr = 4, 1, 1, 8, 1e-2
        args.steps, args.epochs = 40, 10
        model, _, _, losses = train_model(args, data)
        first, last = float(np.mean(losses[:5])), float(np.mean(losses[-5:]))
        assert last < first, f"smoke: loss did not decrease ({first:.4f} -> {last:.4f})"
        path = os.path.join(tmp, "smoke.onnx")
        folded = export_onnx(model, path, 1, size)
        x = data["test"][0][:1]
        with torch.no_grad():
            diff_fold = float((model.eval()(x) - folded(x)).abs().max())
        assert diff_fold < 1e-4, f"smoke: BatchNorm folding changed the output by {diff_fold}"
        diff = check_export(folded, path, x, tol=1e-6)
        # --head-width on a warm start: the widened model computes the same function; --calibrate-bias only
        # moves the head's bias, by an offset that does not lower the validation Dice
        wide = widen_head(folded, 6, torch.Generator().manual_seed(7)).eval()
        with torch.no_grad():
            diff_wide = float((wide(x) - folded(x)).abs().max())
        assert wide.head.weight.shape[1] == 6 and wide.config["head_width"] == 6 and diff_wide < 1e-6, \
            f"smoke: widened head changed the output by {diff_wide}"
        head_before = wide.head.bias.clone()
        shift, dv0, dv1 = calibrate_head_bias(wide, *data["val"][:2])
        assert -1.5 <= shift <= 1.0 and dv1 >= dv0 and \
            abs(float(wide.head.bias - head_before) - shift) < 1e-6, f"smoke: calibrate {shift} {dv0} -> {dv1}"
        depth = onnx_depth(path)
        expect = HEUNet(base=4, pools=1, convs=1).depth()
        assert depth == expect == 8, f"smoke: depth {depth}, expected {expect} (= 8)"
        # bounded activation ranges: a 5-image subset forwards 5 per set (not all 32 training / 4 test
        # images), is fixed by its seed, and its plain-training ranges never exceed the full set's
        xt = data["test"][0]
        full = card_activation_ranges(folded, path, data, xt)
        sub = card_activation_ranges(folded, path, data, xt, limit=5)
        assert full[4] == 3 * 32 + 4 and sub[4] == 3 * 5 + 4, f"smoke: ranges forwarded {full[4]} / {sub[4]} images"
        assert sub[:4] == card_activation_ranges(folded, path, data, xt, limit=5)[:4], "smoke: range subset not fixed"
        assert all(sub[0][k] <= full[0][k] * (1 + 1e-9) for k in full[0]), "smoke: subset ranges above the full set's"
        print(f"train smoke OK: loss {first:.4f} -> {last:.4f}, BN-fold diff {diff_fold:.2g}, "
              f"ONNX-vs-torch {diff:.2g}, depth {depth}, {time.time() - t0:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    check_splits()
    check_heavy_recipe()
    check_bundled()


def check_heavy_recipe():
    """The heavy augmentation: shapes kept, images in [0,1], masks binary, same seed -> same batch, a 90-degree
    turn of a mask is a turn of the image (both go through one resampling), and the percentile
    normalisation ignores one bright voxel."""
    from prepare_brain import percentile_norm
    xs, ys = synth_blobs(8, 16, 3)
    x = torch.tensor(np.stack(xs)[:, None], dtype=torch.float32)
    y = torch.tensor(np.stack(ys)[:, None], dtype=torch.float32)
    a = argparse.Namespace(other_contrast=0.5, scale_min=0.4, scale_max=1.2, shift=0.12, elastic=0.035, crop=12)
    outs = [augment_heavy(x, y, 1 - x, a, torch.Generator().manual_seed(5)) for _ in range(2)]
    (xa, ya), (xb, yb) = outs
    assert xa.shape == ya.shape == (8, 1, 12, 12), f"heavy: shape {tuple(xa.shape)}"
    assert torch.equal(xa, xb) and torch.equal(ya, yb), "heavy: same seed gave different batches"
    assert float(xa.min()) >= 0 and float(xa.max()) <= 1, "heavy: image left [0, 1]"
    assert set(torch.unique(ya).tolist()) <= {0.0, 1.0}, "heavy: mask not binary"
    # geometry alone, no rotation/scale/shift/elastic but a flip: the mask must follow the image exactly
    g = torch.Generator().manual_seed(1)
    xg, yg = geom_heavy(y, y, g, rot=False, scale=(1.0, 1.0), shift=0.0, elastic=0.0, p_geom=1.0)
    assert torch.equal((xg >= 0.5).float(), yg), "heavy: image and mask geometry differ"
    img = np.full((20, 20), 0.5)
    img[3, 3] = 100.0
    assert abs(float(percentile_norm(img).max()) - 1.0) < 1e-12 and abs(float(np.median(percentile_norm(img))) - 1.0) < 1e-12, \
        "percentile_norm: one bright voxel set the scale"
    print("heavy recipe OK")


def check_splits():
    """prepare_brain's block split: no val/test slice within `gap` slices of a train slice."""
    from prepare_brain import assign_splits
    for block, gap in ((12, 3), (5, 2)):
        idx = list(range(7, 7 + 150))
        sp = assign_splits(idx, block, gap)
        assert set(sp.values()) == {"train", "val", "test"}, f"splits missing: {set(sp.values())}"
        train = [i for i, s in sp.items() if s == "train"]
        for i, s in sp.items():
            if s != "train":
                near = min(abs(i - t) for t in train)
                assert near > gap, f"{s} slice {i} is {near} slices from a train slice (gap {gap})"
    print("split gaps OK")


def check_bundled():
    """Bundled models: ONNX valid, only supported ops, depth as in the card (<= 14 at 64x64), the card's
    activation keys are the graph's node names, and each fixture's output is reproduced."""
    import onnx
    from onnx_ref import OnnxRef
    models_dir = os.path.join(ROOT, "models")
    names = sorted(f[:-5] for f in os.listdir(models_dir) if f.endswith(".onnx")) \
        if os.path.isdir(models_dir) else []
    for name in names:
        path = os.path.join(models_dir, name + ".onnx")
        m = onnx.load(path)
        onnx.checker.check_model(m)
        card = json.load(open(os.path.join(models_dir, name + ".card.json")))
        ref = OnnxRef(m)
        depth = ref.depth()
        assert depth == card["multiplicative_depth"], f"{name}: depth {depth} != card"
        if card["input_size"][-1] <= 64:
            assert depth <= 14, f"{name}: depth {depth} > 14"
        nodes = {n.name for n in m.graph.node}
        keys = set(card["activation_max_abs"]) - {"input"}
        assert keys == nodes, f"{name}: card activation keys differ from node names: {keys ^ nodes}"
        fx = os.path.join(ROOT, "tests", "fixtures", name + ".io.json")
        msg = ""
        if os.path.exists(fx):
            with open(path, "rb") as a, open(fx.replace(".io.json", ".onnx"), "rb") as b:
                assert a.read() == b.read(), f"{name}: tests/fixtures/{name}.onnx differs from models/ " \
                                             f"(run train/make_fixtures.py --models {name})"
            io = json.load(open(fx))
            x = np.array(io["input"]).reshape([1] + io["input_shape"])
            y = ref.run(x)
            d = float(np.max(np.abs(y.reshape(-1) - np.array(io["output"]))))
            assert d <= 1e-6, f"{name}: fixture output not reproduced (max diff {d})"
            msg = f", fixture max diff {d:.2g}"
        print(f"bundled {name}: OK (depth {depth}, {len(nodes)} nodes{msg})")


# ---------------------------------------------------------------- main
def pick_sample(data, split="test"):
    """The test image with the median brain/foreground area (a typical, not extreme, slice)."""
    x, y, names = data[split]
    areas = y.flatten(1).sum(1)
    order = torch.argsort(areas)
    i = int(order[len(order) // 2])
    return i, names[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--data")
    ap.add_argument("--name")
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "models"))
    ap.add_argument("--ckpt-dir", default=os.path.join(ROOT, "out"))
    ap.add_argument("--pools", type=int, default=2)
    ap.add_argument("--base", type=int, default=8)
    ap.add_argument("--convs", type=int, default=1)
    ap.add_argument("--head-width", type=int, default=None,
                    help="output channels of the last (full-resolution) decoder block, default --base; with "
                         "--init-onnx the warm start is widened to it without changing its function")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--stop-after", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--act-penalty", type=float, default=1e-3)
    ap.add_argument("--logit-cap", type=float, default=0.0,
                    help="penalise |logit| above this value (0 = off); bounds the last square's outliers")
    ap.add_argument("--logit-cap-weight", type=float, default=1e-2)
    ap.add_argument("--mask-cleanup", choices=["none", "fill_holes"], default="none",
                    help="the client-side mask step the card names (C++ reads it as the default of --clean-mask): "
                         "fill_holes also measures the test Dice with each mask's holes filled")
    ap.add_argument("--select", choices=["plain", "plain+zoom"], default="plain+zoom",
                    help="plain+zoom: mean of plain and zoomed-out (heavy recipe: fixed augmented copy) val Dice")
    ap.add_argument("--zoom-prob", type=float, default=0.7)
    ap.add_argument("--zoom-out-prob", type=float, default=0.6)
    ap.add_argument("--zoom-out-min", type=float, default=0.45)
    ap.add_argument("--zoom-in-max", type=float, default=1.15)
    ap.add_argument("--shift", type=float, default=0.12)
    ap.add_argument("--fill", type=float, default=0.0)
    ap.add_argument("--gamma", type=float, default=1.4)
    ap.add_argument("--intensity", type=float, default=0.2)
    ap.add_argument("--no-renorm", dest="renorm", action="store_false",
                    help="do not rescale zoomed training images to max 1 (for data not normalised by max)")
    ap.add_argument("--normalisation", default=None,
                    help="text for the model card: how the client must scale an image (default: the dataset "
                         "manifest's \"normalisation\", else \"[0,1] by slice max\")")
    ap.add_argument("--recipe", choices=["light", "heavy"], default="light",
                    help="augmentation: light = flips/gamma/zoom (the nuclei and pre-issue-12 recipe); heavy = any-angle "
                         "rotation, flips, scale, shift, elastic, bias field, gamma, blur, noise, percentile "
                         "renormalisation, second contrast (--data2)")
    ap.add_argument("--data2", default=None,
                    help="twin dataset (same files and splits, another contrast) mixed in by --other-contrast; "
                         "default with --recipe heavy: <data>-ch2better if it exists")
    ap.add_argument("--other-contrast", type=float, default=0.3)
    ap.add_argument("--scale-min", type=float, default=0.4)
    ap.add_argument("--scale-max", type=float, default=1.2)
    ap.add_argument("--elastic", type=float, default=0.035)
    ap.add_argument("--aug-prob", type=float, default=0.85,
                    help="heavy recipe: fraction of each batch deformed (and, independently, intensity-augmented)")
    ap.add_argument("--crop", type=int, default=0, help="train on random CROPxCROP crops of the augmented images")
    ap.add_argument("--holdout-orient", choices=["sag", "cor", "axi"], default=None,
                    help="leave every slice of this orientation out of train/val/test (held-out check)")
    ap.add_argument("--range-images", type=int, default=0,
                    help="card activation ranges over at most this many images per set (a fixed random subset "
                         "of the training slices, and of the test split plain + zoomed out); 0 = all (brain256 "
                         "uses 48: all 299 slices at 256x256 took over an hour under load)")
    ap.add_argument("--init-onnx", default=None,
                    help="warm start from an exported model of this family (its folded weights, trained "
                         "without BatchNorm); the architecture options are then taken from it")
    ap.add_argument("--from-checkpoint", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--from-onnx", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--logged-bias-shift", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--save-best", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--train-only", default=None,
                    help="comma-separated parameter-name prefixes (e.g. dec.1,head): train only those, keep the rest")
    ap.add_argument("--calibrate-bias", action="store_true",
                    help="after training, shift the head's bias by the constant in [-1.5, 1] (0.1 steps) with the "
                         "best validation Dice (moves the threshold logit > 0)")
    ap.add_argument("--logged-train-time", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--logged-best-epoch", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--vflip", action="store_true")
    ap.add_argument("--rot90", action="store_true")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--sample-out", default=None, help="copy the fixture sample image+mask here (prefix)")
    ap.add_argument("--no-export", action="store_true", help="train and evaluate only (trade-off runs)")
    args = ap.parse_args()
    if args.smoke:
        smoke(args)
        return
    if not args.data or not args.name:
        ap.error("--data and --name are required (or --smoke)")
    torch.set_num_threads(args.threads)
    excl = args.holdout_orient + "_" if args.holdout_orient else None
    man, data = load_dataset(args.data, excl)
    if args.recipe == "heavy":
        d2 = args.data2 or args.data.rstrip("/") + "-ch2better"
        if os.path.exists(os.path.join(d2, "manifest.json")) and args.other_contrast > 0:
            _, data2 = load_dataset(d2, excl)
            for sp in ("train", "val"):
                assert [os.path.basename(n) for n in data2[sp][2]] == [os.path.basename(n) for n in data[sp][2]], \
                    f"{d2}: {sp} split differs from {args.data}"
                data[sp + "2"] = data2[sp]
            print(f"second contrast: {d2} (probability {args.other_contrast})")
    size = int(data["train"][0].shape[-1])
    splits = {k: int(v[0].shape[0]) for k, v in data.items() if not k.endswith("2")}
    print(f"{args.data}: {splits}, {size}x{size}")
    if args.from_checkpoint:
        # export only (the training run was stopped after it saved its checkpoint): same card, with the
        # training time and best epoch as logged by that run
        ck = torch.load(args.from_checkpoint, map_location="cpu")
        model = HEUNet(**ck["config"])
        model.load_state_dict(ck["state_dict"])
        model.eval()
        train_time, best = args.logged_train_time, (None, None, args.logged_best_epoch)
    elif args.from_onnx:
        # export only, from the ONNX a finished run of this command wrote (its checkpoint is gone; e.g.
        # train/init/brain256-v3.onnx): the same weights, so the same export and card. --calibrate-bias is
        # already in its head bias and is not applied again: the card records --logged-bias-shift instead.
        from heldout import load_onnx_as_torch
        model = load_onnx_as_torch(args.from_onnx).eval()
        train_time, best = args.logged_train_time, (None, None, args.logged_best_epoch)
        if args.calibrate_bias and args.logged_bias_shift is None:
            ap.error("--from-onnx with --calibrate-bias needs --logged-bias-shift (the offset that run added)")
    else:
        model, train_time, best, _ = train_model(args, data)
    bias_shift = None
    if args.calibrate_bias and args.from_onnx:
        bias_shift = args.logged_bias_shift
        again, before, _ = calibrate_head_bias(copy.deepcopy(model), *data["val"][:2])
        print(f"head bias {bias_shift:+.1f} already applied (logged); calibrating again would add {again:+.1f} "
              f"(validation Dice {before:.4f})")
    elif args.calibrate_bias:
        bias_shift, before, after = calibrate_head_bias(model, *data["val"][:2])
        print(f"head bias {bias_shift:+.1f} (threshold calibrated on the validation split: Dice {before:.4f} -> "
              f"{after:.4f})")
    xte, yte, names = data["test"]
    td, ti = evaluate(model, xte, yte)
    xz, yz = zoom_out_set(xte, yte, fill=args.fill)
    zd, zi = evaluate(model, xz, yz)
    per_scale = {}
    for k, sc in enumerate(ZOOM_TEST_SCALES):
        sl = slice(k * xte.shape[0], (k + 1) * xte.shape[0])
        per_scale[str(sc)] = round(evaluate(model, xz[sl], yz[sl])[0], 4)
    vd, _ = evaluate(model, *data["val"][:2])
    td_clean = None
    if args.mask_cleanup == "fill_holes":
        from mask_cleanup_eval import dice as mask_dice, fill_holes  # noqa: E402 (numpy/scipy only when asked)
        pred = (predict(model, xte) > 0).numpy()[:, 0]
        truth = yte.numpy()[:, 0] > 0.5
        td_clean = float(np.mean([mask_dice(fill_holes(p), t) for p, t in zip(pred, truth)]))
        print(f"{args.name}: test Dice with holes filled {td_clean:.4f}")
    print(f"{args.name}: best epoch {best[2]}, val Dice {vd:.4f}; test Dice {td:.4f} IoU {ti:.4f}; "
          f"test zoomed-out Dice {zd:.4f} {per_scale}; {param_count(model)} params; depth {model.depth()}; "
          f"training {train_time:.0f} s")
    if args.no_export:
        return
    os.makedirs(args.ckpt_dir, exist_ok=True)
    torch.save({"config": model.config, "size": size, "state_dict": model.state_dict()},
               os.path.join(args.ckpt_dir, f"{args.name}.pt"))
    onnx_path = os.path.join(args.models_dir, f"{args.name}.onnx")
    folded = export_onnx(model, onnx_path, 1, size)
    if args.from_onnx:
        with open(args.from_onnx, "rb") as a, open(onnx_path, "rb") as b:
            if a.read() != b.read():
                raise RuntimeError(f"--from-onnx: the re-export {onnx_path} differs from {args.from_onnx}")
    diff = check_export(folded, onnx_path, xte[:4])
    depth = onnx_depth(onnx_path)
    activation_ranges_torch(folded, onnx_path, [], check=xte[:2].numpy())   # torch == numpy interpreter
    act_train, act_zoom, act_test, act_aug, _ = card_activation_ranges(
        folded, onnx_path, data, torch.cat([xte, xz]), args.range_images, args.fill)
    act_all = {k: max(act_train[k], act_zoom[k], act_test[k], act_aug[k]) for k in act_train}
    si, sname = pick_sample(data)
    sample_rel = None
    if args.sample_out:
        os.makedirs(os.path.dirname(os.path.join(ROOT, args.sample_out)), exist_ok=True)
        shutil.copyfile(os.path.join(args.data, sname), os.path.join(ROOT, args.sample_out + ".png"))
        mask_rel = sname.replace("images", "masks", 1)
        shutil.copyfile(os.path.join(args.data, mask_rel), os.path.join(ROOT, args.sample_out + "_mask.png"))
        sample_rel = args.sample_out + ".png"
    argv, skip = [], False
    for a in sys.argv[1:]:       # the training command, without the export-only options (and where it writes)
        if skip:
            skip = False
            continue
        if a in ("--from-checkpoint", "--from-onnx", "--logged-train-time", "--logged-best-epoch",
                 "--logged-bias-shift", "--models-dir", "--save-best"):
            skip = True
            continue
        argv.append(a)
    cmd = shlex.join(["/usr/bin/python3", "train/train.py"] + argv)
    card = {
        "name": args.name,
        "dataset": man.get("name", os.path.basename(args.data.rstrip("/"))),
        "dataset_source": man.get("source", ""),
        "split_sizes": splits,
        "input_size": [1, size, size],
        "input_name": "input",
        "output_name": "logits",
        "output": "1 logit channel; mask = logits > 0 (sigmoid > 0.5), applied by the client in plaintext",
        "normalisation": args.normalisation or man.get("normalisation", "[0,1] by slice max"),
        "architecture": {**model.config, "description": model.describe(),
                         "activation": "square (x*x, ONNX Mul(x,x))", "pool": "AveragePool 2x2",
                         "up": "ConvTranspose k2 s2", "skip": "concat",
                         "batchnorm": "folded into conv" if model.config.get("batch_norm", True) else
                         "none (warm start from an exported model, BatchNorm already folded)"},
        "parameter_count": param_count(folded),
        "multiplicative_depth": depth,
        "test": {"dice": round(td, 4), "iou": round(ti, 4), "images": splits["test"]},
        "test_zoomed_out": {"dice": round(zd, 4), "iou": round(zi, 4), "scales": list(ZOOM_TEST_SCALES),
                            "dice_per_scale": per_scale,
                            "how": "each test image shrunk (area averaging) to 50/60/70 % of the field of "
                                   "view, centred, zero-padded, renormalised to max 1"},
        "test_metrics": {"dice": round(td, 4), "iou": round(ti, 4),
                         "dice_zoomed_out": round(zd, 4), "iou_zoomed_out": round(zi, 4),
                         **({"dice_holes_filled": round(td_clean, 4)} if td_clean is not None else {})},
        **({"mask_cleanup": args.mask_cleanup,
            "mask_cleanup_note": "the client fills the holes of each thresholded 2D mask (background not connected "
                                 "to the border becomes foreground) after decryption; cryptounet does it by default "
                                 "for this model (--no-clean-mask: off); test_metrics.dice_holes_filled is the test "
                                 "Dice with it"} if args.mask_cleanup != "none" else {}),
        "val_dice": round(vd, 4),
        "best_epoch": best[2],
        "activation_max_abs": {k: round(v, 6) for k, v in act_all.items()},
        "activation_max_abs_train": {k: round(v, 6) for k, v in act_train.items()},
        "activation_max_abs_zoom_shift": {k: round(v, 6) for k, v in act_zoom.items()},
        "activation_max_abs_augmented": {k: round(v, 6) for k, v in act_aug.items()},
        "activation_note": "max |output| per ONNX node name (and 'input'): activation_max_abs = max over the "
                           "training set, the training set at random zoom 0.5-1.2 + shift +-15 %, the training "
                           "set once through the heavy augmentation (rotation, scale 0.4-1.2, elastic, bias "
                           "field, noise, both contrasts) and the test split plain and zoomed out"
                           + (RANGE_SUBSET_NOTE.format(n=args.range_images) if args.range_images > 0 else ""),
        "onnx_vs_torch_max_abs_diff": diff,
        "training_time_s": round(train_time, 1),
        "training_machine": f"2-core shared CPU, torch {torch.__version__}, {args.threads} threads, nice 10",
        "epochs": args.epochs,
        **({"head_bias_shift": bias_shift, "head_bias_note": "added to the head's bias after training: the "
            "offset in [-1.5, 1] (0.1 steps) with the best validation Dice (--calibrate-bias)"}
           if bias_shift is not None else {}),
        "recipe": args.recipe,
        "seed": args.seed,
        "fixture_sample": sample_rel,
        "command": cmd,
    }
    if args.range_images > 0:
        card["activation_images_per_set"] = args.range_images
    write_card(card, os.path.join(args.models_dir, f"{args.name}.card.json"))
    print(f"wrote {onnx_path} (depth {depth}, ONNX-vs-torch {diff:.2g}) and its card; sample {sname}")


if __name__ == "__main__":
    main()
