"""Load on the KPI endpoints: 200 concurrent clients against gunicorn, then the same while
every view refreshes. Runs after tests.bench.kpis has built its dataset (same database).

Each client has its own keep-alive connection and requests KPI endpoints in turn (one year, all
facilities, the JWT of one of ``USERS`` Admins) for a fixed time, the next request as soon as
the last answer is read (no think time: what a load tool such as locust does by default).

The load tool is wrk (Debian's package; installed on first use when this runs as root), a C
program: 200 connections on two threads, latency per request from its own histogram. It runs on
the same two cores as the server, as every client here does, but takes a twentieth of the CPU the
Python clients took, so the figures are the server's. ``BENCH_LOAD_CLIENT=asyncio`` uses the
earlier client instead (coroutines of one event loop in a process of their own), ``threads``
200 threads of this process; without wrk the asyncio client is used and the results say so.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

from tests.bench.server import ROOT, start_gunicorn

USERS = int(os.environ.get("BENCH_LOAD_USERS", "200"))  # one person per client
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "3"))
THREADS = int(os.environ.get("BENCH_LOAD_THREADS", "4"))
CLIENT = os.environ.get("BENCH_LOAD_CLIENT", "wrk")
ENDPOINTS = ["kpis", "dashboard", "pipeline", "performance", "compliance", "revenue", "outreach", "skills",
             "engagement", "trends", "metrics"]  # fmt: skip


def _clients(port: int, tokens: list[str], *, clients: int, seconds: float) -> dict:
    if CLIENT == "wrk" and _wrk():
        return _wrk_clients(port, tokens, clients=clients, seconds=seconds)
    if CLIENT == "threads":
        return _thread_clients(port, tokens, clients=clients, seconds=seconds)
    spec = json.dumps({"port": port, "tokens": tokens, "clients": clients, "seconds": seconds})
    done = subprocess.run([sys.executable, "-m", "tests.bench.load", spec], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _wrk() -> str | None:
    """wrk's path, installing Debian's package first if it is missing and this may (root)."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("installing wrk (Debian package) for the load benchmark")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "wrk"]):  # fmt: skip
        if subprocess.run(command, env=env, capture_output=True).returncode == 0 and shutil.which("wrk"):
            break
    return shutil.which("wrk")


WRK_SCRIPT = """
local tokens = {%(tokens)s}
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1],
                    {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def _wrk_clients(port: int, tokens: list[str], *, clients: int, seconds: float) -> dict:
    """``clients`` keep-alive connections from wrk; each request carries the next user's token."""
    today = date.today()
    query = f"?start_date={(today - timedelta(days=364)).isoformat()}&end_date={today.isoformat()}"
    paths = [f"/api/v1/analytics/{name}/{query}" for name in ENDPOINTS]
    script = ROOT / "var" / "bench" / "kpi_load.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(WRK_SCRIPT % {"tokens": ",".join(f'"{t}"' for t in tokens),
                                    "paths": ",".join(f'"{p}"' for p in paths)})  # fmt: skip
    done = subprocess.run(
        ["wrk", "--threads", str(min(2, clients)), "--connections", str(clients), "--duration", f"{int(seconds)}s",
         "--timeout", "10s", "--script", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    requests, errors, bad_status, p50, p99, slowest = line.split()[1:]
    return {
        "client": "wrk",
        "requests": int(requests),
        "errors": int(errors),
        "requests_per_s": round(int(requests) / seconds),
        "p50_ms": round(float(p50), 1),
        "p99_ms": round(float(p99), 1),
        "max_ms": round(float(slowest), 1),
        "first_errors": [f"{bad_status} answers that were not 2xx/3xx"] if int(errors) else [],
    }


def _summary(latencies: list[float], errors: list[str], seconds: float) -> dict:
    ordered = sorted(latencies)
    return {
        "client": f"python {CLIENT if CLIENT in ('asyncio', 'threads') else 'asyncio'}",
        "requests": len(ordered),
        "errors": len(errors),
        "requests_per_s": round(len(ordered) / seconds),
        "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 1) if ordered else None,
        "first_errors": errors[:3],
    }


async def _async_clients(port: int, tokens: list[str], *, clients: int, seconds: float) -> dict:
    today = date.today()
    query = f"?start_date={(today - timedelta(days=364)).isoformat()}&end_date={today.isoformat()}"
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds

    async def client(number: int) -> None:
        token = tokens[number % len(tokens)]
        reader = writer = None  # opened when needed: the server may close after any answer
        index = number
        while time.monotonic() < stop_at:
            path = f"/api/v1/analytics/{ENDPOINTS[index % len(ENDPOINTS)]}/{query}"
            index += 1
            begun = time.perf_counter()  # a new connection's setup counts in its request's time
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)}  # fmt: skip
                await reader.readexactly(int(headers[b"content-length"]))
                if headers.get(b"connection", b"").lower() == b"close":
                    writer.close()
                    writer = None
                if status != 200:
                    errors.append(f"{status} {path}")
            except (OSError, asyncio.IncompleteReadError, KeyError, ValueError) as exc:
                errors.append(f"{type(exc).__name__} {path}")
                if writer is not None:
                    writer.close()
                writer = None
                continue
            latencies.append((time.perf_counter() - begun) * 1000)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return _summary(latencies, errors, seconds)


def _thread_clients(port: int, tokens: list[str], *, clients: int, seconds: float) -> dict:
    today = date.today()
    query = f"?start_date={(today - timedelta(days=364)).isoformat()}&end_date={today.isoformat()}"
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        token = tokens[number % len(tokens)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        index = number
        mine: list[float] = []
        while time.monotonic() < stop_at:
            path = f"/api/v1/analytics/{ENDPOINTS[index % len(ENDPOINTS)]}/{query}"
            index += 1
            begun = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    with lock:
                        errors.append(f"{response.status} {path}")
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{type(exc).__name__} {path}")
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            mine.append((time.perf_counter() - begun) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _summary(latencies, errors, seconds)


def _tokens(users: int) -> list[str]:
    """Access tokens of ``users`` Admins (made once, reused by later runs on the same database)."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import Role, User
    from accounts.principals import Actor
    from accounts.services import user_create

    tokens = []
    for number in range(users):
        username = f"bench-load-{number}"
        user = User.objects.filter(username=username).first() or user_create(
            by=Actor.system("bench"), username=username, password=None, role=Role.ADMIN
        )
        tokens.append(str(RefreshToken.for_user(user).access_token))
    return tokens


def run(results: dict, env: dict, *, users: int = USERS) -> None:
    """``users``: how many people the 200 clients are (each client one of them, in turn)."""
    from analytics.services.refresh import refresh_request, refresh_runs_execute

    tokens = _tokens(users)
    port = 19_000 + os.getpid() % 1000
    server = start_gunicorn(env, port, threads=THREADS, workers=WORKERS)
    try:
        _clients(port, tokens, clients=20, seconds=10)  # warm the cache and the workers
        results["load_200_clients"] = _clients(port, tokens, clients=200, seconds=30)
        print(f"200 clients ({users} users): {results['load_200_clients']}")
        # Measured for as long as a full refresh took alone: under load it takes longer, so every
        # request measured is answered while the refresh runs (a longer window would dilute it
        # with the quiet time after).
        window = max(5.0, results.get("refresh_all_seconds") or 30.0)
        refresh_took = {}

        def refresh() -> None:
            begun = time.perf_counter()
            refresh_runs_execute(
                run_ids=[r.pk for r in refresh_request(views=None, by=None, trigger="bench", enqueue=False)]
            )
            refresh_took["seconds"] = round(time.perf_counter() - begun, 1)

        refresher = threading.Thread(target=refresh)
        refresher.start()
        during = _clients(port, tokens, clients=200, seconds=window)
        refresher.join()
        during["refresh_seconds_under_load"] = refresh_took.get("seconds")
        results["load_200_clients_during_refresh"] = during
        print(f"200 clients during a full refresh: {during}")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":  # the asyncio client, in a process of its own
    spec = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(_async_clients(spec["port"], spec["tokens"], clients=spec["clients"],
                                                seconds=spec["seconds"]))))  # fmt: skip
