"""A gunicorn for the benchmarks: config/gunicorn.py with the bench database, on a free-ish port
(`BENCH_GUNICORN_ARGS` adds gunicorn options, for comparing settings)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_gunicorn(env: dict, port: int, *, threads: int = 2, workers: int = 3) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}",
         *os.environ.get("BENCH_GUNICORN_ARGS", "").split()],
        cwd=ROOT, env={**os.environ, **env, "WEB_WORKERS": str(workers), "WEB_THREADS": str(threads)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health/")
            conn.getresponse().read()
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("gunicorn did not start")
