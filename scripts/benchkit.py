"""Helpers the bench_* scripts share: percentiles, a free port, slippy-map tile numbers and
starting `mapapp serve` (gunicorn) against a database, waiting until it answers."""
from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def say(msg: str) -> None:
    print(msg, flush=True)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def serve(url: str, home: Path, workers: int) -> tuple[subprocess.Popen, int]:
    """`mapapp serve` on a free loopback port, as production runs it; exits when it does not start.
    Its log goes to log/bench-serve.log in `home`, replaced by the next run (named on failure), not
    to a pipe: an unread pipe fills up at 64 KB (a database outage under load once logged a
    warning per 503), and then the server stalls on its next log line."""
    port = free_port()
    (home / "log").mkdir(parents=True, exist_ok=True)
    with open(home / "log" / "bench-serve.log", "w") as log:  # the server keeps its own handle
        server = subprocess.Popen([str(ROOT / ".venv/bin/mapapp"), "serve", "--port", str(port), "--workers", str(workers)],
                                  env={**os.environ, "DATABASE_URL": url, "MAPAPP_HOME": str(home)},
                                  stdout=subprocess.DEVNULL, stderr=log, text=True)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            return server, port
        except OSError:
            if server.poll() is not None:
                sys.exit(f"mapapp serve did not start (log {log.name}):\n{Path(log.name).read_text()[-4000:]}")
            time.sleep(0.2)
    sys.exit(f"mapapp serve did not answer /healthz within 60 s (log {log.name})")


TICK = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (the gunicorn master and its workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far, from /proc (exited ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK
