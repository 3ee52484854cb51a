"""Load on the KPI endpoints: 200 concurrent clients against gunicorn, then the same while
every view refreshes. Runs after tests.bench.kpis has built its dataset (same database).

Each client is a thread with its own keep-alive connection that requests KPI endpoints in
turn (one year, all facilities, a JWT of an Admin) for a fixed time. The load client runs on
the same two cores as the server, so the figures are conservative.
"""

from __future__ import annotations

import http.client
import os
import statistics
import threading
import time
from datetime import date, timedelta

from tests.bench.server import start_gunicorn

ENDPOINTS = ["kpis", "dashboard", "pipeline", "performance", "compliance", "revenue", "outreach", "skills",
             "engagement", "trends", "metrics"]  # fmt: skip


def _clients(port: int, token: str, *, clients: int, seconds: float) -> dict:
    today = date.today()
    query = f"?start_date={(today - timedelta(days=364)).isoformat()}&end_date={today.isoformat()}"
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
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
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": len(errors),
        "requests_per_s": round(len(ordered) / seconds),
        "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 1) if ordered else None,
        "first_errors": errors[:3],
    }


def run(results: dict, env: dict) -> None:
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import Role
    from accounts.principals import Actor
    from accounts.services import user_create
    from analytics.services.refresh import refresh_request, refresh_runs_execute

    admin = user_create(by=Actor.system("bench"), username="bench-load", password=None, role=Role.ADMIN)
    token = str(RefreshToken.for_user(admin).access_token)
    port = 19_000 + os.getpid() % 1000
    server = start_gunicorn(env, port, threads=8)
    try:
        _clients(port, token, clients=20, seconds=10)  # warm the cache and the workers
        results["load_200_clients"] = _clients(port, token, clients=200, seconds=30)
        print(f"200 clients: {results['load_200_clients']}")
        refresher = threading.Thread(
            target=lambda: refresh_runs_execute(
                run_ids=[r.pk for r in refresh_request(views=None, by=None, trigger="bench", enqueue=False)]
            )
        )
        refresher.start()
        results["load_200_clients_during_refresh"] = _clients(port, token, clients=200, seconds=30)
        refresher.join()
        print(f"200 clients during a full refresh: {results['load_200_clients_during_refresh']}")
    finally:
        server.terminate()
        server.wait(30)
