"""Writes the fixtures the C++ reference executor is tested against (tests/fixtures/):

  random_ops.onnx + random_ops.io.json  a seeded random 16x16 model using every supported op:
                                        Conv 3x3 and 1x1 with bias, ConvTranspose(k2,s2), AveragePool,
                                        Square (Mul(x,x)), Concat, Add
  random_bn.onnx + random_bn.io.json    conv3x3 -> BatchNormalization node (unfolded) -> square -> conv1x1
  <model>.onnx + <model>.io.json        each bundled model in models/ on one test-split sample

io.json = {"input_shape": [C,H,W], "input": [...], "output_shape": [C,H,W], "output": [...],
           "output_float32": [...]}  (row-major). "output" is PyTorch in float64 over the exported
float32 weights, so a float64 executor should agree to ~1e-9; "output_float32" is plain float32 PyTorch.

Usage: /usr/bin/python3 train/make_fixtures.py [--random-only] [--models brain64 brain128 nuclei64]
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from export import check_export, export_onnx, write_io_fixture, onnx_depth  # noqa: E402
from png import read_gray  # noqa: E402
from unet import Square, fold_batchnorm  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "fixtures")


class AllOps(nn.Module):
    """input (1,16,16) -> conv3x3(1->4)+b, square = a
       a -> avgpool -> conv3x3(4->6)+b -> square -> convT(6->4, k2 s2)+b = u
       concat(a, u) -> conv3x3(8->4)+b = c;  c + a (Add) -> square -> conv1x1(4->2)+b -> logits (2,16,16)"""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.sq1 = Square()
        self.pool = nn.AvgPool2d(2, count_include_pad=False)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.sq2 = Square()
        self.up = nn.ConvTranspose2d(6, 4, 2, stride=2)
        self.conv3 = nn.Conv2d(8, 4, 3, padding=1)
        self.sq3 = Square()
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        a = self.sq1(self.conv1(x))
        u = self.up(self.sq2(self.conv2(self.pool(a))))
        c = self.conv3(torch.cat([a, u], dim=1))
        return self.head(self.sq3(c + a))


def random_ops_model():
    """The random_ops model (seeded), eval mode, batch norms not folded yet. Also used by
    tests/apps/fixtures/make_float64_fixture.py, so that both fixtures are of one model."""
    torch.manual_seed(1234)
    model = AllOps().eval()
    # biases made clearly non-zero so a missing bias is caught
    # and weights scaled up so that the output is of order 1 (a tolerance of 1e-5 then means something)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.mul_(1.8)
                m.bias.uniform_(-0.5, 0.5)
    return model


def random_ops_fixture():
    model = random_ops_model()
    os.makedirs(FIXTURES, exist_ok=True)
    onnx_path = os.path.join(FIXTURES, "random_ops.onnx")
    folded = export_onnx(model, onnx_path, 1, 16)
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(99))
    diff = check_export(folded, onnx_path, x)
    y = write_io_fixture(folded, os.path.join(FIXTURES, "random_ops.io.json"), x)
    print(f"random_ops: depth {onnx_depth(onnx_path)}, output range [{y.min():.4g}, {y.max():.4g}], "
          f"numpy-ONNX vs torch max diff {diff:.3g}")


def random_bn_fixture():
    """conv3x3(1->3)+b -> BatchNormalization (kept as a node, for the importer's folding) -> square
    -> conv1x1(3->1)+b, 8x8. The graph is written with onnx.helper because torch's exporter folds BN."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    torch.manual_seed(4321)
    conv = nn.Conv2d(1, 3, 3, padding=1)
    bn = nn.BatchNorm2d(3, eps=1e-5)
    head = nn.Conv2d(3, 1, 1)
    with torch.no_grad():
        conv.weight.mul_(2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 2.0)
    model = nn.Sequential(conv, bn, Square(), head).eval()

    def t(name, v):
        return numpy_helper.from_array(v.detach().numpy().astype(np.float32), name)

    inits = [t("conv.weight", conv.weight), t("conv.bias", conv.bias), t("bn.scale", bn.weight),
             t("bn.bias", bn.bias), t("bn.mean", bn.running_mean), t("bn.var", bn.running_var),
             t("head.weight", head.weight), t("head.bias", head.bias)]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b"],
                         name="/bn/BatchNormalization", epsilon=1e-5),
        helper.make_node("Mul", ["b", "b"], ["s"], name="/sq/Mul"),
        helper.make_node("Conv", ["s", "head.weight", "head.bias"], ["logits"], name="/head/Conv",
                         kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1], dilations=[1, 1], group=1),
    ]
    graph = helper.make_graph(nodes, "random_bn",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, 8, 8])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="cryptounet-train")
    onnx.checker.check_model(m)
    path = os.path.join(FIXTURES, "random_bn.onnx")
    onnx.save(m, path)
    # torch modules hold float32 parameters equal to the stored initialisers
    x = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(7))
    diff = check_export(model, path, x)
    y = write_io_fixture(model, os.path.join(FIXTURES, "random_bn.io.json"), x)
    print(f"random_bn: output range [{y.min():.4g}, {y.max():.4g}], numpy-ONNX vs torch max diff {diff:.3g}")


def model_fixture(name):
    """Copies models/<name>.onnx to the fixtures and runs it on its card's sample image."""
    card = json.load(open(os.path.join(ROOT, "models", f"{name}.card.json")))
    ck = torch.load(os.path.join(ROOT, "out", f"{name}.pt"), map_location="cpu")
    from unet import HEUNet
    model = HEUNet(**ck["config"])
    model.load_state_dict(ck["state_dict"])
    folded = fold_batchnorm(model).float().eval()
    src = os.path.join(ROOT, "models", f"{name}.onnx")
    dst = os.path.join(FIXTURES, f"{name}.onnx")
    shutil.copyfile(src, dst)
    sample = card["fixture_sample"]
    img = read_gray(os.path.join(ROOT, sample))
    x = torch.from_numpy(img.astype(np.float32))[None, None]
    diff = check_export(folded, dst, x)
    y = write_io_fixture(folded, os.path.join(FIXTURES, f"{name}.io.json"), x)
    print(f"{name}: sample {sample}, output range [{y.min():.4g}, {y.max():.4g}], "
          f"numpy-ONNX vs torch max diff {diff:.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random-only", action="store_true")
    ap.add_argument("--models", nargs="*", default=[])
    args = ap.parse_args()
    torch.set_num_threads(1)
    random_ops_fixture()
    random_bn_fixture()
    if not args.random_only:
        for name in args.models:
            model_fixture(name)


if __name__ == "__main__":
    main()
