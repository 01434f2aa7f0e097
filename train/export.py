"""ONNX export (opset 13, eval mode, BatchNorm folded), export checks, fixtures and model cards.

CLI: re-export a checkpoint written by train.py:
    /usr/bin/python3 train/export.py --checkpoint out/brain64.pt --out models/brain64.onnx
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_ref import OnnxRef  # noqa: E402
from unet import HEUNet, fold_batchnorm  # noqa: E402

OPSET = 13


def export_onnx(model, path, in_ch, size):
    """Folds BatchNorm, exports batch-1 ONNX with input "input" and output "logits", checks it.
    Returns the folded eval-mode torch model (float32)."""
    folded = fold_batchnorm(model).float().eval()
    dummy = torch.zeros(1, in_ch, size, size)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(folded, dummy, path, opset_version=OPSET, input_names=["input"],
                          output_names=["logits"], do_constant_folding=True,
                          training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    bad = [o for o in ops if o not in ("Conv", "ConvTranspose", "AveragePool", "Mul", "Add", "Concat")]
    if bad:
        raise RuntimeError(f"export_onnx: {path} contains unsupported ops {bad}")
    return folded


def torch_reference(folded, x):
    """Float64 evaluation of the exported (float32) weights: the value the float64 C++ executor must
    reproduce. x: float32 tensor (N, C, H, W)."""
    m64 = _double_copy(folded)
    with torch.no_grad():
        return m64(x.double()).numpy()


def _double_copy(folded):
    import copy
    return copy.deepcopy(folded).double().eval()


def check_export(folded, path, x, tol=1e-6):
    """Compares the numpy ONNX interpreter with PyTorch (float64 over the same float32 weights).
    Returns max |difference|; raises if it exceeds tol (relative to max(1, max|output|))."""
    ref = OnnxRef(path)
    y_onnx = ref.run(x.numpy().astype(np.float64))
    y_torch = torch_reference(folded, x)
    diff = float(np.max(np.abs(y_onnx - y_torch)))
    scale = max(1.0, float(np.max(np.abs(y_torch))))
    if diff > tol * scale:
        raise RuntimeError(f"check_export: {path}: ONNX vs torch max |diff| {diff:.3g} > {tol * scale:.3g}")
    return diff


def write_io_fixture(folded, json_path, x, max_f32_values=8192):
    """x: float32 tensor (1, C, H, W). Writes input and outputs (float64 reference over the exported
    float32 weights; plus the plain float32 PyTorch output for information)."""
    with torch.no_grad():
        y32 = folded(x).numpy()
    y64 = torch_reference(folded, x)
    doc = {
        "input_shape": list(x.shape[1:]),
        "input": [float(v) for v in x.numpy().reshape(-1)],
        "output_shape": list(y64.shape[1:]),
        "output": [float(v) for v in y64.reshape(-1)],
        "note": "output = PyTorch eval in float64 over the exported float32 weights (what a float64 "
                "executor must match); output_float32 (small fixtures only) = the same model in float32",
    }
    if y32.size <= max_f32_values:
        doc["output_float32"] = [float(v) for v in y32.reshape(-1)]
    doc["max_abs_float32_vs_float64"] = float(np.max(np.abs(y32 - y64)))
    with open(json_path, "w") as f:
        json.dump(doc, f)
    return y64


def activation_ranges(path, batches):
    """max |output| per ONNX node name (plus the input) over an iterable of (N, C, H, W) arrays."""
    ref = OnnxRef(path)
    rec = {}
    inp = 0.0
    for xb in batches:
        inp = max(inp, float(np.max(np.abs(xb))))
        ref.run(xb, record=rec)
    out = {"input": inp}
    out.update(rec)
    return out


def activation_ranges_torch(folded, path, batches, check=None):
    """activation_ranges computed with PyTorch in float64 over the exported weights (hooks), which is
    ~10-50x faster than the numpy interpreter at 256x256. The k-th ONNX node of each op type (graph
    order) gets the k-th recorded module call of that type; `check`: a small (N,C,H,W) array on which
    the result must equal the numpy interpreter's (relative 1e-9), else RuntimeError."""
    import torch.nn as nn
    from unet import ConvBlock, Square
    m64 = _double_copy(folded)
    rec = []

    def hook(kind):
        return lambda mod, inp, out: rec.append((kind, float(out.detach().abs().max())))
    hooks = []
    for mod in m64.modules():
        if isinstance(mod, nn.ConvTranspose2d):
            hooks.append(mod.register_forward_hook(hook("ConvTranspose")))
        elif isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(hook("Conv")))
        elif isinstance(mod, Square):
            hooks.append(mod.register_forward_hook(hook("Mul")))
        elif isinstance(mod, nn.AvgPool2d):
            hooks.append(mod.register_forward_hook(hook("AveragePool")))
    for blk in getattr(m64, "dec", []):
        assert isinstance(blk, ConvBlock)
        hooks.append(blk.register_forward_pre_hook(
            lambda mod, inp: rec.append(("Concat", float(inp[0].detach().abs().max())))))
    nodes = [(n.name, n.op_type) for n in onnx.load(path).graph.node]
    out = {"input": 0.0}
    with torch.no_grad():
        for xb in batches:
            x = torch.as_tensor(np.asarray(xb), dtype=torch.float64)
            out["input"] = max(out["input"], float(x.abs().max()))
            rec.clear()
            m64(x)
            seen = {}
            vals = {}
            for kind, v in rec:
                vals.setdefault(kind, []).append(v)
            for name, op in nodes:
                k = seen.get(op, 0)
                seen[op] = k + 1
                out[name] = max(out.get(name, 0.0), vals[op][k])
    for h in hooks:
        h.remove()
    if check is not None:
        ref = activation_ranges(path, [check])
        mine = activation_ranges_torch(folded, path, [check])
        for k, v in ref.items():
            if abs(mine[k] - v) > 1e-9 * max(1.0, abs(v)):
                raise RuntimeError(f"activation_ranges_torch: {k}: {mine[k]} vs numpy {v}")
    return out


def onnx_depth(path):
    return OnnxRef(path).depth()


def onnx_node_names(path):
    return [n.name for n in onnx.load(path).graph.node]


def write_card(card, path):
    with open(path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location="cpu")
    model = HEUNet(**ck["config"])
    model.load_state_dict(ck["state_dict"])
    folded = export_onnx(model, args.out, ck["config"]["in_ch"], ck["size"])
    x = torch.rand(1, ck["config"]["in_ch"], ck["size"], ck["size"], generator=torch.Generator().manual_seed(0))
    print(f"exported {args.out}; depth {onnx_depth(args.out)}; max |onnx - torch| {check_export(folded, args.out, x):.3g}")


if __name__ == "__main__":
    main()
