"""HE-friendly U-Net family (DESIGN.md section 4).

Only operations a CKKS evaluator can run: Conv3x3 'same' (+BatchNorm, folded at export), square
activation, AvgPool2d(2), ConvTranspose2d(k=2, s=2), channel concatenation, Conv1x1 head -> logits.
Multiplicative depth: conv, square, convT, head = 1 level each; pool and concat = 0.
"""
import copy

import torch
import torch.nn as nn


class Square(nn.Module):
    """x -> x * x (exported to ONNX as Mul(x, x))."""

    def forward(self, x):
        return x * x


class ConvBlock(nn.Module):
    """`convs` times: Conv3x3 'same' + BatchNorm + Square."""

    def __init__(self, cin, cout, convs, batch_norm=True):
        super().__init__()
        layers = []
        for i in range(convs):
            layers.append(nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=True))
            layers.append(nn.BatchNorm2d(cout) if batch_norm else nn.Identity())
            layers.append(Square())
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class HEUNet(nn.Module):
    def __init__(self, in_ch=1, base=8, pools=2, convs=1, out_ch=1, batch_norm=True, head_width=None):
        """head_width: output channels of the last full-resolution decoder block (the head's input);
        default `base`. Only a different value is recorded in `config` (older cards stay unchanged)."""
        super().__init__()
        if not 1 <= pools <= 3:
            raise ValueError(f"HEUNet: pools must be 1..3, got {pools}")
        self.config = dict(in_ch=in_ch, base=base, pools=pools, convs=convs, out_ch=out_ch, batch_norm=batch_norm)
        hw = base if head_width is None else int(head_width)
        if hw != base:
            self.config["head_width"] = hw
        ch = [base * (2 ** i) for i in range(pools + 1)]
        self.enc = nn.ModuleList()
        cin = in_ch
        for level in range(pools + 1):
            self.enc.append(ConvBlock(cin, ch[level], convs, batch_norm))
            cin = ch[level]
        self.pool = nn.AvgPool2d(2, count_include_pad=False)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for level in reversed(range(pools)):
            self.up.append(nn.ConvTranspose2d(ch[level + 1], ch[level], 2, stride=2, bias=True))
            self.dec.append(ConvBlock(2 * ch[level], hw if level == 0 else ch[level], convs, batch_norm))
        self.head = nn.Conv2d(hw, out_ch, 1, bias=True)

    def forward(self, x):
        skips = []
        for level, block in enumerate(self.enc):
            x = block(x)
            if level < len(self.enc) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, dec in zip(self.up, self.dec):
            x = up(x)
            x = torch.cat([skips.pop(), x], dim=1)
            x = dec(x)
        return self.head(x)

    def depth(self):
        """Multiplicative depth (levels) of the encrypted evaluation."""
        p, c = self.config["pools"], self.config["convs"]
        return (p + 1) * 2 * c + p * (1 + 2 * c) + 1

    def describe(self):
        p, b, c = self.config["pools"], self.config["base"], self.config["convs"]
        chans = [b * 2 ** i for i in range(p + 1)]
        hw = self.config.get("head_width")
        last = f", last decoder block {hw} channels" if hw is not None else ""
        return (f"HE U-Net: {p} AvgPool levels, {c} conv3x3+BN+square per block, channels {chans}{last}, "
                f"ConvTranspose2d(k2,s2) up, concat skips, conv1x1 head -> 1 logit")


def widen_head(model, width, gen):
    """A copy of `model` (no BatchNorm) whose last decoder block has `width` >= its current output channels.
    The function is unchanged: the new channels' conv weights are random (normal, the std of the existing
    ones; bias 0) and the head's weights on them are 0, so they start contributing from the first step."""
    if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        raise ValueError("widen_head: fold the BatchNorm first (fold_batchnorm)")
    cfg = dict(model.config, batch_norm=False)
    cfg.pop("head_width", None)
    old = model.head.weight.shape[1]
    if width < old:
        raise ValueError(f"widen_head: width {width} < current {old}")
    new = HEUNet(**cfg, head_width=width)
    sd = new.state_dict()
    last = f"dec.{len(model.dec) - 1}.body.0"
    with torch.no_grad():
        for k, v in model.state_dict().items():
            t = sd[k]
            if k == f"{last}.weight":
                std = float(v.std())
                t.copy_(torch.randn(t.shape, generator=gen) * std)
                t[:old].copy_(v)
            elif k == f"{last}.bias":
                t.zero_()
                t[:old].copy_(v)
            elif k == "head.weight":
                t.zero_()
                t[:, :old].copy_(v)
            else:
                t.copy_(v)
    new.load_state_dict(sd)
    return new


def param_count(model):
    return int(sum(p.numel() for p in model.parameters()))


def fold_batchnorm(model):
    """Returns an eval-mode copy whose Conv+BatchNorm pairs are folded into the conv weights and
    whose BatchNorm modules are replaced by Identity (no BatchNormalization node in the export)."""
    m = copy.deepcopy(model).eval()
    for module in m.modules():
        if isinstance(module, nn.Sequential):
            items = list(module.named_children())
            for (_, a), (bn_name, b) in zip(items, items[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    with torch.no_grad():
                        scale = b.weight / torch.sqrt(b.running_var + b.eps)
                        a.weight.mul_(scale.view(-1, 1, 1, 1))
                        bias = a.bias if a.bias is not None else torch.zeros_like(b.running_mean)
                        new_bias = (bias - b.running_mean) * scale + b.bias
                        a.bias = nn.Parameter(new_bias)
                    setattr(module, bn_name, nn.Identity())
    for module in m.modules():
        if isinstance(module, nn.BatchNorm2d):
            raise RuntimeError("fold_batchnorm: a BatchNorm2d not preceded by a Conv2d remains")
    return m
