#!/usr/bin/python3
"""Reproduces the slow-upload and slow-header attacks of issue 9 on loopback, bounded in time, and
prints how long a well-behaved client waits meanwhile.

It starts `cryptounet serve --fake-service` (no cryptography: the HTTP and upload path only) on
127.0.0.1 with evaluation keys of --key-mib MiB (128-bit key sizes are hundreds of MiB; at the
server's minimum rate of 256 KiB/s an upload of that size used to have minutes before its deadline).
The attackers connect from 127.0.0.2 (on Linux every 127.x.y.z is this machine), the well-behaved
client from 127.0.0.1:

  slow upload: 4 connections announce the key size and send one byte every 2 s; meanwhile the
               client creates a session (uploads keys of the exact size) every 2 s.
  slow header: 40 connections send a request line and then one header byte every 2 s; meanwhile the
               client sends GET /v1/health every second.

Each attack phase lasts --seconds (default 15), after a quiet reference phase (the same requests, no
attacker; 9 s). Prints one JSON object: per phase the client's latencies (min / median / max
seconds), how many of its requests failed, and the attackers' fate.
Usage: scripts/slow_clients.py BUILD/apps/cryptounet [--seconds 15] [--key-mib 32]
Standard library only.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time


def fake_keys(key_id, size):
    head = b"CUFAKEK1" + struct.pack("<Q", key_id)
    filler = bytes((key_id + i) & 0xFF for i in range(256)) * ((size - 16) // 256 + 1)
    return head + filler[: size - 16]


def http(port, method, path, body=b"", timeout=30, source="127.0.0.1"):
    """One request on a fresh connection; returns (status, seconds). Status 0: no answer."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += "Content-Type: application/octet-stream\r\n"
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        m = re.match(rb"HTTP/1\.1 (\d+)", data)
        return (int(m.group(1)) if m else 0), time.monotonic() - t0
    except OSError:
        return 0, time.monotonic() - t0


class NoAttack:
    def finish(self):
        return {"connections": 0, "cut_off_by_server": 0}


class Attack:
    """`count` connections from 127.0.0.2 that send `head`, then one byte every `every` s."""

    def __init__(self, port, count, head, every):
        self.socks, self.closed, self.stop = [], 0, threading.Event()
        for _ in range(count):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0))
                s.sendall(head)
                self.socks.append(s)
            except OSError:
                self.closed += 1
        self.thread = threading.Thread(target=self.run, args=(every,), daemon=True)
        self.thread.start()

    def run(self, every):
        while not self.stop.wait(every):
            for s in list(self.socks):
                try:
                    s.send(b"a")
                except OSError:
                    self.socks.remove(s)
                    self.closed += 1

    def finish(self):
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()
        return {"connections": len(self.socks) + self.closed, "cut_off_by_server": self.closed}


def phase(seconds, attack, probe, interval):
    lat, failed = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status, secs = probe()
        if status in (200, 201):
            lat.append(secs)
        else:
            failed += 1
        time.sleep(max(0.0, interval - secs))
    out = attack.finish()
    out["client"] = {
        "requests": len(lat) + failed,
        "failed": failed,
        "latency_s": {"min": round(min(lat), 3), "median": round(statistics.median(lat), 3), "max": round(max(lat), 3)}
        if lat else None,
    }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cli")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--key-mib", type=int, default=32)
    a = ap.parse_args()
    key_bytes = a.key_mib << 20
    data = tempfile.mkdtemp(prefix="cu-slow-")
    os.rmdir(data)  # the server creates it 0700
    srv = subprocess.Popen([a.cli, "serve", "--model", "fake", "--fake-service", "--port", "0", "--data-dir", data,
                            "--fake-key-bytes", str(key_bytes), "--fake-ciphertext-bytes", "4096"],
                           stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            sys.exit("serve did not start: " + line)
        port = int(m.group(1))
        keys = fake_keys(7, key_bytes)
        result = {"key_bytes": key_bytes, "phase_seconds": a.seconds}
        upload = lambda: http(port, "POST", "/v1/models/fake/sessions", keys)  # noqa: E731
        health = lambda: http(port, "GET", "/v1/health")  # noqa: E731
        # Reference: the same requests with no attacker (three uploads, five health checks).
        result["quiet"] = {"upload": phase(5.0, NoAttack(), upload, 2.0)["client"],
                           "health": phase(4.0, NoAttack(), health, 1.0)["client"]}
        head = (f"POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: {key_bytes}\r\n\r\n").encode()
        # Every 2 s: a session per probe, below the server's 10 sessions per address per minute.
        result["slow_upload"] = phase(a.seconds, Attack(port, 4, head, 2.0), upload, 2.0)
        time.sleep(1)
        head = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
        result["slow_header"] = phase(a.seconds, Attack(port, 40, head, 2.0), health, 1.0)
        print(json.dumps(result, indent=1))
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
