"""A small float64 numpy interpreter for the ONNX subset CryptoUNet supports.

Used to check exports against PyTorch (no onnxruntime in Debian 12), to compute the multiplicative
depth, and to measure per-node activation ranges keyed by ONNX node names.
Ops: Conv (group 1, stride 1, dilation 1), ConvTranspose (k2 s2 or general stride=kernel),
AveragePool (kernel = stride, no pads), Mul, Add, Concat, Pow (exponent 2), BatchNormalization, Identity.
"""
import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxRef:
    def __init__(self, path_or_model):
        model = onnx.load(path_or_model) if isinstance(path_or_model, str) else path_or_model
        self.model = model
        g = model.graph
        self.inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
        self.nodes = list(g.node)
        self.input_name = [i.name for i in g.input if i.name not in self.inits][0]
        self.output_name = g.output[0].name
        for n in self.nodes:
            if n.op_type == "Constant":
                self.inits[n.output[0]] = numpy_helper.to_array(_attrs(n)["value"]).astype(np.float64)

    def _const(self, name):
        return self.inits[name]

    def run(self, x, record=None):
        """x: (N, C, H, W) array. record: optional dict node_name -> running max |output|."""
        env = {self.input_name: np.asarray(x, dtype=np.float64)}
        env.update(self.inits)
        for n in self.nodes:
            if n.op_type == "Constant":
                continue
            a = _attrs(n)
            ins = [env[i] if i else None for i in n.input]
            op = n.op_type
            if op == "Conv":
                y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a, n.name)
            elif op == "ConvTranspose":
                y = _conv_transpose(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a, n.name)
            elif op == "AveragePool":
                k = a["kernel_shape"]
                s = a.get("strides", k)
                if list(s) != list(k) or any(a.get("pads", [0, 0, 0, 0])):
                    raise NotImplementedError(f"AveragePool {n.name}: only kernel == stride, no pads")
                nb, c, h, w = ins[0].shape
                y = ins[0].reshape(nb, c, h // k[0], k[0], w // k[1], k[1]).mean(axis=(3, 5))
            elif op == "Mul":
                y = ins[0] * ins[1]
            elif op == "Add":
                y = ins[0] + ins[1]
            elif op == "Pow":
                if float(np.asarray(ins[1]).reshape(-1)[0]) != 2.0:
                    raise NotImplementedError(f"Pow {n.name}: only exponent 2")
                y = ins[0] * ins[0]
            elif op == "Concat":
                y = np.concatenate(ins, axis=a["axis"])
            elif op == "BatchNormalization":
                xx, sc, bi, mu, var = ins[:5]
                eps = a.get("epsilon", 1e-5)
                sh = (1, -1, 1, 1)
                y = (xx - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * sc.reshape(sh) + bi.reshape(sh)
            elif op == "Identity":
                y = ins[0]
            else:
                raise NotImplementedError(f"OnnxRef: unsupported op {op} at node {n.name}")
            env[n.output[0]] = y
            if record is not None:
                m = float(np.max(np.abs(y)))
                record[n.name] = max(record.get(n.name, 0.0), m)
        return env[self.output_name]

    def depth(self):
        """Multiplicative depth: Conv, ConvTranspose, Mul, Pow cost 1; the rest 0."""
        lv = {self.input_name: 0}
        for k in self.inits:
            lv[k] = 0
        for n in self.nodes:
            if n.op_type == "Constant":
                lv[n.output[0]] = 0
                continue
            d = max(lv[i] for i in n.input if i)
            if n.op_type in ("Conv", "ConvTranspose", "Mul", "Pow"):
                d += 1
            lv[n.output[0]] = d
        return lv[self.output_name]


def _conv(x, w, b, a, name):
    if a.get("group", 1) != 1 or any(s != 1 for s in a.get("strides", [1, 1])) \
            or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise NotImplementedError(f"Conv {name}: only group 1, stride 1, dilation 1")
    pads = a.get("pads", [0, 0, 0, 0])
    n, c, h, wd = x.shape
    o, ci, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    ho, wo = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    y = np.zeros((n, o, ho, wo))
    for ky in range(kh):
        for kx in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, ky:ky + ho, kx:kx + wo], w[:, :, ky, kx], optimize=True)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def _conv_transpose(x, w, b, a, name):
    k = list(w.shape[2:])
    s = a.get("strides", [1, 1])
    if list(s) != k or any(a.get("pads", [0, 0, 0, 0])) or a.get("group", 1) != 1:
        raise NotImplementedError(f"ConvTranspose {name}: only stride == kernel, no pads, group 1")
    n, c, h, wd = x.shape
    o = w.shape[1]
    y = np.einsum("nchw,coab->nohawb", x, w, optimize=True).reshape(n, o, h * k[0], wd * k[1])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y
