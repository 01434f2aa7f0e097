#!/usr/bin/python3
"""Scaling model for CryptoUNet on MPI ranks, from measured inputs (see README, "Beyond one machine").

Inputs, all measured by the stated commands:
  --plan-table FILE    output of `cryptounet plan --model M` (per layer: level, layout team size t)
  --report FILE        output of `cryptounet infer ... --threads 1 --report` (per layer: seconds), or
                       the --json output of a one-process `cryptounet infer --mpi ... --threads 1 --json`
                       (per layer: cpu_seconds, the process's CPU seconds, else seconds)
  --steps K            input rotation steps of a linear layer (9: the bundled models' 3x3 kernels)
  --log-n N            ring degree exponent of the plan (15 for the bundled models)
  --input-bytes B      encrypted input file bytes per slice (from `plan`: "input 2.3 MiB (seeded)")
  --output-bytes B     encrypted output file bytes per slice
  --keys-bytes B       eval.keys bytes
  --bandwidth-gbit G   stated network bandwidth per link, Gbit/s
  --slices S           slices in the volume (181 for ch2.nii.gz)
  --exchange FILE      the --json output of `mpirun -np 2 cryptounet infer --mpi ... --json` (rank 0's):
                       per layer the bytes rank 0 received in the 2-rank run (measured), instead of the
                       t*2*N*(level+1)*8 estimate of an allgather
  --time-scale F       multiply the report's seconds by F (e.g. CPU seconds / wall seconds of a run
                       measured on a loaded machine, to turn its wall times into compute times)

Model (stated, not measured):
  Volume: slices are independent; rank 0 sends each input and receives each output over its one link.
    T(R) = keys/bw (broadcast once; 0 on a shared file system) + max(ceil(S/R) * t_slice, S*(in+out)/bw)
  One image (latency mode, he/exec/split_plan.h): a linear layer whose input has n_in >= 2R
  ciphertexts is split by input (each rank hoists and multiplies ceil(n_in/R) of them, then a
  reduce-scatter of partial sums); a linear layer with fewer is split by input rotation step (each
  rank rotates and multiplies by ceil(K/R) of the K steps, then the same reduce-scatter); the other
  layers by output (ceil(t_l/R) of t_l output ciphertexts per rank). A layer's input is taken to be
  the node before it (true of the bundled models). Bytes: what one rank receives per layer grows as
  (R-1)/R of the layer's exchange volume; measured at R=2 (1/2 of it):
    T(R) = sum_l [ compute_l * frac_l(R) + 2*(R-1)/R * received2_l / bw ]
  frac_l = ceil(n_in/R)/n_in (by input), ceil(K/R)/K (by step) or ceil(t_l/R)/t_l (by output). It
  ignores the work that is not divided (the giant-step rotations of an output are its owner's
  alone; by step, every rank decomposes every input once; steps differ in cost), so it is an upper
  bound.
Prints a JSON object and a Markdown table.
"""
import argparse
import json
import math
import re


def parse_plan(path):
    layers = {}
    for line in open(path):
        m = re.match(r"^(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(latency|throughput)\s.*?\bt(\d+)\b", line)
        if m:
            layers[int(m.group(1))] = {"node": m.group(2), "op": m.group(3), "level": int(m.group(4)),
                                       "team": int(m.group(6))}
    return layers


def parse_exchange(path):
    """Bytes rank 0 received per layer in a 2-rank --mpi run, from its --json output."""
    data = json.load(open(path))
    return {int(l["node"]): float(l.get("bytes_received", 0)) for l in data.get("layers", [])}


def parse_report(path):
    text = open(path).read()
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        return {int(l["node"]): float(l.get("cpu_seconds", l.get("seconds", 0.0))) for l in data.get("layers", [])}
    secs = {}
    for line in open(path):
        m = re.match(r"^(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)%", line)
        if m:
            secs[int(m.group(1))] = float(m.group(5))
    return secs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plan-table", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--log-n", type=int, default=15)
    ap.add_argument("--input-bytes", type=float, required=True)
    ap.add_argument("--output-bytes", type=float, required=True)
    ap.add_argument("--keys-bytes", type=float, required=True)
    ap.add_argument("--bandwidth-gbit", type=float, default=10.0)
    ap.add_argument("--slices", type=int, default=181)
    ap.add_argument("--ranks", default="1,2,4,8,16")
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--exchange")
    ap.add_argument("--steps", type=int, default=9)
    a = ap.parse_args()

    plan = parse_plan(a.plan_table)
    secs = {k: v * a.time_scale for k, v in parse_report(a.report).items()}
    if not plan or not secs:
        raise SystemExit("mpi-scaling-model: could not read the plan table or the report")
    n = 1 << a.log_n
    bw = a.bandwidth_gbit * 1e9 / 8  # bytes/s
    ranks = [int(r) for r in a.ranks.split(",")]

    measured = parse_exchange(a.exchange) if a.exchange else {}
    layers = []
    for i, l in sorted(plan.items()):
        ct = 2 * n * (l["level"] + 1) * 8
        # Received by one of 2 ranks: measured, else half an allgather of the layer's outputs.
        received2 = measured.get(i, 0.0 if l["op"] in ("Input", "Concat") else ct * l["team"] / 2)
        n_in = plan[i - 1]["team"] if i - 1 in plan else 1
        layers.append({**l, "index": i, "seconds": secs.get(i, 0.0), "n_in": n_in,
                       "received2_bytes": received2})
    t_image = sum(l["seconds"] for l in layers)

    def frac(l, r):
        if l["op"] in ("Conv2d", "ConvTranspose2d") and r > 1:
            if l["n_in"] >= 2 * r:
                return math.ceil(l["n_in"] / r) / l["n_in"]
            return math.ceil(a.steps / r) / a.steps
        return math.ceil(l["team"] / r) / l["team"]

    def image_time(r):
        t = 0.0
        for l in layers:
            if l["op"] == "Input":
                continue
            t += l["seconds"] * frac(l, r)
            if r > 1:
                t += 2 * (r - 1) / r * l["received2_bytes"] / bw
        return t

    def volume_time(r, shared_keys):
        keys = 0.0 if (shared_keys or r == 1) else a.keys_bytes / bw
        io = a.slices * (a.input_bytes + a.output_bytes) / bw if r > 1 else 0.0
        return keys + max(math.ceil(a.slices / r) * t_image, io)

    out = {
        "bandwidth_gbit_s": a.bandwidth_gbit,
        "image_seconds_one_thread": round(t_image, 3),
        "layers": [{k: l[k] for k in ("index", "node", "op", "level", "team", "n_in", "seconds", "received2_bytes")}
                   for l in layers],
        "received_bytes_per_image_2_ranks": sum(l["received2_bytes"] for l in layers),
        "predictions": [],
    }
    for r in ranks:
        ti = image_time(r)
        tv = volume_time(r, shared_keys=False)
        out["predictions"].append({"ranks": r, "image_s": round(ti, 3), "image_speedup": round(t_image / ti, 2),
                                   "volume_s": round(tv, 1),
                                   "volume_speedup": round(volume_time(1, True) / tv, 2)})
    print(json.dumps(out, indent=1))
    print()
    print(f"| ranks | one image (latency mode) | speed-up | {a.slices}-slice volume | speed-up |")
    print("|---|---|---|---|---|")
    for p in out["predictions"]:
        print(f"| {p['ranks']} | {p['image_s']:.2f} s | {p['image_speedup']:.2f}x | "
              f"{p['volume_s']:.0f} s | {p['volume_speedup']:.2f}x |")


if __name__ == "__main__":
    main()
