"""Minimal PNG reader/writer (zlib only; no PIL in Debian's base Python here).

write_gray8(path, array): 8-bit greyscale, filter 0.
read_gray(path): 8/16-bit grey, grey+alpha, RGB, RGBA (non-interlaced) -> float64 array in [0, 1]
                 (RGB -> grey by ITU-R BT.601 luma, as the C++ reader does; alpha ignored).
"""
import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def write_gray8(path, array):
    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"write_gray8: expected a 2-D array, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"write_gray8: expected uint8, got {a.dtype}")
    h, w = a.shape
    raw = b"".join(b"\x00" + a[r].tobytes() for r in range(h))
    png = b"\x89PNG\r\n\x1a\n"
    png += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += _chunk(b"IDAT", zlib.compress(raw, 9))
    png += _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_gray(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"read_gray: {path} is not a PNG file")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if hdr is None:
        raise ValueError(f"read_gray: {path} has no IHDR chunk")
    w, h, depth, ctype, _, _, interlace = hdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if channels is None or depth not in (8, 16) or interlace != 0:
        raise ValueError(f"read_gray: {path}: unsupported PNG (colour type {ctype}, depth {depth}, "
                         f"interlace {interlace})")
    bpp = channels * depth // 8
    stride = w * bpp
    raw = zlib.decompress(idat)
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for r in range(h):
        ftype = raw[r * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=r * (stride + 1) + 1).astype(np.int64)
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype in (1, 3, 4):
            cur = line.copy()
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                if ftype == 1:
                    cur[i] = (cur[i] + left) & 0xFF
                elif ftype == 3:
                    cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 0xFF
                else:
                    ul = prev[i - bpp] if i >= bpp else 0
                    cur[i] = (cur[i] + _paeth(left, prev[i], ul)) & 0xFF
        else:
            raise ValueError(f"read_gray: {path}: bad filter type {ftype} in row {r}")
        out[r] = cur
        prev = cur
    if depth == 16:
        vals = out.reshape(h, w * channels, 2).astype(np.float64)
        vals = (vals[..., 0] * 256 + vals[..., 1]) / 65535.0
    else:
        vals = out.astype(np.float64) / 255.0
    vals = vals.reshape(h, w, channels)
    if channels in (3, 4):
        return vals[..., 0] * 0.299 + vals[..., 1] * 0.587 + vals[..., 2] * 0.114
    return vals[..., 0]
