#!/usr/bin/python3
"""Load test for `cryptounet serve`: N concurrent clients for a bounded time.

Each client opens its own session (uploads evaluation keys once), then until the time is up:
submits a ciphertext (unique Idempotency-Key), polls the job until it is done, downloads the
result. 503 answers are waited out (Retry-After) and counted as `busy`, not as errors.
Prints throughput, latency percentiles (submit -> result downloaded), errors and the server's
peak RSS (VmHWM from /proc/PID/status).

Either start a local fake-service server (no cryptography; measures the HTTP, queue and disk
path of the server):
    scripts/load_test.py --spawn build/apps/cryptounet --clients 4 --duration 20 --workers 1
or drive a running server (give its PID for the memory figure; --keys/--ciphertext: blob files
made for its plan, required unless the plan is the fake one):
    scripts/load_test.py --server http://127.0.0.1:8080 --server-pid 1234 --clients 4 --duration 20

Standard library only (urllib + threads).
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid


def request(method, url, body=None, headers=None, timeout=60):
    """Returns (status, headers, body bytes); raises OSError on connection failure."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def fake_blob(magic, key_id, size):
    """A blob of the fake service's format (apps/server/fake_format.h) with random payload."""
    return magic + struct.pack("<Q", key_id) + os.urandom(size - 16)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.errors = {}
        self.busy = 0
        self.bytes_up = 0
        self.bytes_down = 0

    def error(self, kind):
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def client_loop(idx, args, model, stats, clock, keys_blob, ct_blob):
    base = args.server.rstrip("/")
    key_id = 1000 + idx
    if keys_blob is None:
        keys_blob = fake_blob(b"CUFAKEK1", key_id, model["eval_keys"]["max_bytes"])
    try:
        for _ in range(30):  # 503: too many uploads at once; wait as told
            st, h, body = request("POST", f"{base}/v1/models/{model['name']}/sessions", keys_blob,
                                  {"Content-Type": "application/octet-stream"})
            if st != 503:
                break
            with stats.lock:
                stats.busy += 1
            time.sleep(min(float(h.get("Retry-After", "1")), 5.0))
    except OSError as e:
        stats.error("connect: " + type(e).__name__)
        clock["barrier"].abort()
        return
    if st != 201:
        stats.error(f"session {st}")
        clock["barrier"].abort()
        return
    session = json.loads(body)
    auth = {"Authorization": "Bearer " + session["token"]}
    try:
        clock["barrier"].wait()  # every client has its session: the measured time starts
    except threading.BrokenBarrierError:
        return
    deadline = clock["deadline"]
    # One ciphertext per client, sent again and again: each submission has its own
    # Idempotency-Key, so the server runs each as a new job.
    ct = ct_blob if ct_blob is not None else fake_blob(
        b"CUFAKEC1", key_id, model["ciphertext"]["max_bytes"])
    while time.monotonic() < deadline:
        headers = dict(auth, **{"Content-Type": "application/octet-stream",
                                "Idempotency-Key": uuid.uuid4().hex})
        t0 = time.monotonic()
        try:
            while True:
                st, h, body = request("POST", f"{base}/v1/sessions/{session['session_id']}/jobs", ct, headers)
                if st != 503:
                    break
                with stats.lock:
                    stats.busy += 1
                time.sleep(min(float(h.get("Retry-After", "1")), 5.0))
                if time.monotonic() > deadline + args.grace:
                    break
            if st not in (200, 202):
                stats.error(f"submit {st}")
                continue
            job = json.loads(body)["job_id"]
            while True:
                st, _, body = request("GET", f"{base}/v1/jobs/{job}", None, auth)
                if st != 200:
                    stats.error(f"status {st}")
                    break
                state = json.loads(body)["state"]
                if state in ("done", "failed"):
                    break
                if time.monotonic() > deadline + args.grace:
                    state = "timeout"
                    break
                time.sleep(args.poll)
            if st != 200:
                continue
            if state != "done":
                stats.error("job " + state)
                continue
            st, _, result = request("GET", f"{base}/v1/jobs/{job}/result", None, auth)
            if st != 200:
                stats.error(f"result {st}")
                continue
            with stats.lock:
                stats.latencies.append(time.monotonic() - t0)
                stats.bytes_up += len(ct)
                stats.bytes_down += len(result)
        except OSError as e:
            stats.error("connection: " + type(e).__name__)
    try:
        request("DELETE", f"{base}/v1/sessions/{session['session_id']}", None, auth)
    except OSError:
        pass


def spawn_server(args):
    data_dir = tempfile.mkdtemp(prefix="cu-load-")
    cmd = [args.spawn, "serve", "--fake-service", "--model", "fake", "--port", "0",
           "--data-dir", data_dir, "--workers", str(args.workers), "--queue", str(args.queue),
           "--http-threads", str(args.http_threads), "--fake-stage-ms", str(args.fake_stage_ms),
           "--fake-stages", str(args.fake_stages), "--fake-key-bytes", str(args.fake_key_bytes),
           "--fake-ciphertext-bytes", str(args.fake_ciphertext_bytes)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"load_test: server did not start: {line!r}")
    return proc, data_dir, f"http://127.0.0.1:{m.group(1)}", " ".join(cmd)


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", help="URL of a running server")
    ap.add_argument("--server-pid", type=int, help="PID of that server (for peak RSS)")
    ap.add_argument("--spawn", metavar="CRYPTOUNET", help="start `CRYPTOUNET serve --fake-service` locally")
    ap.add_argument("--model", help="model name (default: the first)")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of submitting")
    ap.add_argument("--grace", type=float, default=30.0, help="seconds to let started jobs finish")
    ap.add_argument("--poll", type=float, default=0.02, help="status poll interval, seconds")
    ap.add_argument("--keys", help="evaluation-key blob file (real plans)")
    ap.add_argument("--ciphertext", help="ciphertext blob file (real plans)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--queue", type=int, default=16)
    ap.add_argument("--http-threads", type=int, default=8)
    ap.add_argument("--fake-stage-ms", type=int, default=0)
    ap.add_argument("--fake-stages", type=int, default=4)
    ap.add_argument("--fake-key-bytes", type=int, default=1 << 20)
    ap.add_argument("--fake-ciphertext-bytes", type=int, default=1 << 20)
    args = ap.parse_args()
    if bool(args.server) == bool(args.spawn):
        ap.error("give exactly one of --server and --spawn")

    proc, data_dir, cmd = None, None, None
    if args.spawn:
        proc, data_dir, args.server, cmd = spawn_server(args)
        args.server_pid = proc.pid
    try:
        st, _, body = request("GET", args.server.rstrip("/") + "/v1/models")
        models = json.loads(body)["models"]
        model = next((m for m in models if m["name"] == args.model), None) if args.model else models[0]
        if model is None:
            sys.exit(f"load_test: no model {args.model!r}")
        keys_blob = open(args.keys, "rb").read() if args.keys else None
        ct_blob = open(args.ciphertext, "rb").read() if args.ciphertext else None
        plan = model["plan"]
        if (keys_blob is None or ct_blob is None) and not (isinstance(plan, dict) and plan.get("kind") == "fake"):
            sys.exit("load_test: this plan is not the fake one; give --keys and --ciphertext blob files")

        stats = Stats()
        clock = {}

        def start_clock():
            clock["start"] = time.monotonic()
            clock["deadline"] = clock["start"] + args.duration

        clock["barrier"] = threading.Barrier(args.clients, action=start_clock)
        threads = [threading.Thread(target=client_loop, args=(i, args, model, stats, clock, keys_blob, ct_blob))
                   for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if "start" not in clock:
            sys.exit(f"load_test: sessions could not be opened: {stats.errors}")
        elapsed = time.monotonic() - clock["start"]
        _, _, mbody = request("GET", args.server.rstrip("/") + "/v1/metrics")
        metrics = json.loads(mbody)
        lat = sorted(stats.latencies)
        print(f"server        {args.server}" + (f"  (spawned: {cmd})" if cmd else ""))
        print(f"model         {model['name']}  ciphertext {model['ciphertext']['max_bytes']} B, keys {model['eval_keys']['max_bytes']} B")
        print(f"clients       {args.clients} for {args.duration:.0f} s (+ drain), wall {elapsed:.1f} s after all sessions were open")
        print(f"jobs done     {len(lat)}  throughput {len(lat) / elapsed:.2f} jobs/s, "
              f"up {stats.bytes_up / elapsed / 1e6:.2f} MB/s, down {stats.bytes_down / elapsed / 1e6:.2f} MB/s")
        if lat:
            print(f"latency (s)   p50 {percentile(lat, 50):.3f}  p90 {percentile(lat, 90):.3f}  "
                  f"p99 {percentile(lat, 99):.3f}  max {lat[-1]:.3f}")
        print(f"busy (503)    {stats.busy} (waited out)")
        print(f"errors        {sum(stats.errors.values())} {stats.errors if stats.errors else ''}")
        print(f"server        mean run {metrics.get('mean_run_seconds', 0):.3f} s, "
              f"requests {metrics.get('requests')}, 4xx {metrics.get('client_errors')}, 5xx {metrics.get('server_errors')}")
        if args.server_pid:
            hwm = vm_hwm_kib(args.server_pid)
            print(f"server RSS    peak {hwm / 1024:.1f} MiB (VmHWM)" if hwm else "server RSS    unavailable")
        sys.stdout.flush()
        return 1 if stats.errors else 0
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
