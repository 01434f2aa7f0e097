#!/usr/bin/env python3
"""The layer rule, checked: lower never includes higher, and internal headers stay internal.

The layers and what each may use are read from the cu_add_layer(NAME DEPS...) lines of the top
CMakeLists.txt (the one source of truth); a layer may include its own headers and those of every
layer it reaches through DEPS. For each file it checks every `#include "..."`:
  - src/L/** and include/cryptounet/L/**: a public header cryptounet/X/... needs X == L or X
    reachable from L; an internal header (a path under src/, e.g. "he/exec/executor_impl.h")
    must belong to L itself.
  - tests/L/**, bench/L/**: the layers its cu_add_test_suite(L LIBS...) / cu_add_bench(L LIBS...)
    line links (and all below them), plus internal headers of L and helpers under tests/; other
    test folders (apps, server) and apps/, examples/, fuzz/: no internal header of any layer
    (they use the public headers only).
Prints one line per violation and exits 1 if there is any. Usage: scripts/check-layers.py [ROOT]
"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_layers():
    text = (root / "CMakeLists.txt").read_text()
    deps = {}
    for m in re.finditer(r"^\s*cu_add_layer\(([^)]*)\)", text, re.M):
        words = m.group(1).split()
        deps[words[0]] = words[1:]
    if not deps:
        sys.exit("check-layers: no cu_add_layer(...) line in CMakeLists.txt")
    reach = {}

    def closure(name, seen=()):
        if name in reach:
            return reach[name]
        if name in seen:
            sys.exit(f"check-layers: layer cycle through '{name}'")
        out = {name}
        for d in deps.get(name, []):
            if d not in deps:
                sys.exit(f"check-layers: layer '{name}' depends on unknown layer '{d}'")
            out |= closure(d, seen + (name,))
        reach[name] = out
        return out

    for name in deps:
        closure(name)
    return reach


def internal_owner(inc, layers):
    """The layer whose src/ folder holds this internal header, or None."""
    first = inc.split("/", 1)[0]
    if ":" in first:
        return None
    if first in layers and (root / "src" / inc).is_file():
        return first
    return None


def main():
    layers = read_layers()
    n_layers = len(layers)
    errors = []

    def check(path, layer, local_dirs):
        text = path.read_text(errors="replace")
        rel = path.relative_to(root)
        for lineno, line in enumerate(text.splitlines(), 1):
            m = include_re.match(line)
            if not m:
                continue
            inc = m.group(1)
            if any((d / inc).is_file() for d in local_dirs):
                # A helper beside the file or under tests/ (not a layer header).
                if not inc.startswith("cryptounet/") and internal_owner(inc, layers) is None:
                    continue
            if inc.startswith("cryptounet/"):
                target = inc.split("/")[1]
                if target not in layers:
                    errors.append(f"{rel}:{lineno}: includes '{inc}' of unknown layer '{target}'")
                elif layer is not None and target not in layers[layer]:
                    errors.append(f"{rel}:{lineno}: layer '{layer}' includes '{inc}' of higher or "
                                  f"unrelated layer '{target}' (allowed: {', '.join(sorted(layers[layer]))})")
                continue
            owner = internal_owner(inc, layers)
            own = layer.split(":", 1)[-1] if layer else None
            if owner is not None and owner != own:
                errors.append(f"{rel}:{lineno}: includes '{inc}', an internal header of layer '{owner}'"
                              + (f" (from layer '{layer}')" if layer else ""))

    exts = {".h", ".hpp", ".cpp", ".cc"}

    def files(folder):
        return sorted(p for p in folder.rglob("*") if p.suffix in exts and p.is_file()) if folder.is_dir() else []

    for layer in layers:
        for base in (root / "src" / layer, root / "include" / "cryptounet" / layer):
            for p in files(base):
                check(p, layer, [p.parent])
    for top, fn in (("tests", "cu_add_test_suite"), ("bench", "cu_add_bench")):
        folder = root / top
        if not folder.is_dir():
            continue
        links = {}
        cmake = folder / "CMakeLists.txt"
        if cmake.is_file():
            for m in re.finditer(r"^\s*" + fn + r"\(([^)]*)\)", cmake.read_text(), re.M):
                words = m.group(1).split()
                links[words[0]] = {w[len("cryptounet_"):] for w in words[1:] if w.startswith("cryptounet_")}
        for sub in sorted(folder.iterdir()):
            if not sub.is_dir():
                continue
            layer = sub.name if sub.name in layers else None
            if layer is not None:
                # What the suite links may be used (a workflow test loads models through onnx).
                layers_seen = set(layers[layer])
                for lib in links.get(layer, ()):
                    layers_seen |= layers.get(lib, set())
                layers["tests:" + layer] = layers_seen
                layer_key = "tests:" + layer
            else:
                layer_key = None
            for p in files(sub):
                check(p, layer_key, [p.parent, folder])
    for top in ("apps", "examples", "fuzz"):
        for p in files(root / top):
            check(p, None, [p.parent, root / top])
    unknown = [d.name for d in (root / "src").iterdir() if d.is_dir() and d.name not in layers]
    unknown += [d.name for d in (root / "include" / "cryptounet").iterdir() if d.is_dir() and d.name not in layers
                and d.name not in unknown]
    for d in unknown:
        errors.append(f"src/{d}: a folder that is no layer (add cu_add_layer({d} ...) to CMakeLists.txt)")

    for e in errors:
        print(e)
    if errors:
        print(f"check-layers: {len(errors)} violation(s)")
        return 1
    print(f"check-layers: {n_layers} layers, no violation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
