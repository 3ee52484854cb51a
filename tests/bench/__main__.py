"""`make bench`: throughput of the event path on a generated dataset of at least 1,000,000 events.

Runs against a database of its own (the configured one, suffixed `_bench`, created fresh), so
it never touches real or test data. Measures, each from an empty event log:

- `manage.py import_events` of the whole JSON Lines file;
- processing of every pending event into records (`events_process_pending`);
- `POST /api/v1/events/bulk/` in batches of 1,000 against gunicorn, with one client and with four.

Prints a table and writes var/bench/results.json. Usage: python -m tests.bench [--scale 4.2]
(`--only events --processing-only` times processing alone on the last imported log.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.bench.server import start_gunicorn

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"


def bench_database_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "staffing"
    return urlunsplit(parts._replace(path=f"/{name}_bench"))


def recreate_database(url: str, *, keep: bool = False) -> None:
    """A fresh database, or with ``keep`` the existing one (created when missing)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if keep and conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def truncate_event_data() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events_event, events_eventkey, events_eventqueueentry, events_applicationstatuschange, "
            "analytics_refreshrun, events_invoice, "
            "events_placement, events_outreachmessage, events_compliancecheck, events_application, "
            "events_candidate, events_job CASCADE"
        )


def count_events() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_event")
        return cursor.fetchone()[0]


def generate(path: Path, scale: float) -> int:
    from accounts.models import Facility
    from events.demo import DemoHistory, DemoSize

    facilities = list(Facility.objects.order_by("code").values_list("code", flat=True))
    history = DemoHistory(facilities, seed=11, size=DemoSize().scaled(scale))
    count = 0
    with path.open("w") as handle:
        for event in history.events():
            handle.write(json.dumps(event, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count


def run_import(path: Path, env: dict) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "import_events", str(path), "--batch-size", "1000"],
        cwd=ROOT, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started


def run_processing() -> tuple[float, int]:
    from events.services.processing import events_process_pending

    started = time.monotonic()
    report = events_process_pending(time_budget=float("inf"))
    return time.monotonic() - started, report.applied + report.waiting + report.failed


def batches(path: Path, size: int = 1000) -> list[bytes]:
    bodies, batch = [], []
    with path.open() as handle:
        for line in handle:
            batch.append(line.rstrip("\n"))
            if len(batch) == size:
                bodies.append(("[" + ",".join(batch) + "]").encode())
                batch = []
    if batch:
        bodies.append(("[" + ",".join(batch) + "]").encode())
    return bodies


def run_api(bodies: list[bytes], *, clients: int, port: int, key: str) -> float:
    queue = list(reversed(bodies))
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            conn.request("POST", "/api/v1/events/bulk/", body=body,
                         headers={"Content-Type": "application/json", "Authorization": f"Api-Key {key}"})  # fmt: skip
            response = conn.getresponse()
            payload = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {payload[:200]!r}")
                return

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"bulk API errors: {errors[:3]}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=4.2, help="demo history scale (4.2 gives ~1M events)")
    parser.add_argument("--only", choices=["events", "kpis", "reports"], help="run one part (default: all)")
    parser.add_argument("--keep-db", action="store_true", help="reuse the bench database instead of recreating it")
    parser.add_argument(
        "--processing-only",
        action="store_true",
        help="events part: time processing alone, on the log the last run imported (implies --keep-db)",
    )
    args = parser.parse_args()
    args.keep_db = args.keep_db or args.processing_only

    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        sys.exit("DATABASE_URL is not set: run through `make bench`")
    url = bench_database_url(base_url)
    recreate_database(url, keep=args.keep_db)
    env = {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "CACHE_KEY_PREFIX": "bench",
        "CELERY_QUEUE": "bench-unconsumed",  # processing is measured here, not by a worker
        "THROTTLE_USER": "1000000/min",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    }
    setup_django(env)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", no_history=True, verbosity=0)
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    if args.only in (None, "events"):
        bench_events(args, env, results)
    if args.only in (None, "kpis"):
        from tests.bench import kpis, load

        truncate_event_data()
        kpis.run(results)
        load.run(results, env)
    if args.only in (None, "reports"):
        from tests.bench import reports

        reports.run(results, env)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))


def requeue_recruiting_events() -> int:
    """Empty the records and put every recruiting event of the log back in the queue, as right
    after an import, so processing can be timed again without importing again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events_eventqueueentry, events_applicationstatuschange, events_invoice, events_placement, "
            "events_outreachmessage, events_compliancecheck, events_application, events_candidate, events_job"
        )
        cursor.execute(
            """
            INSERT INTO events_eventqueueentry (event_id, occurred_at, facility_id, type, actor, data, state,
                                                attempts, last_error)
            SELECT id, occurred_at, facility_id, type, actor, data, 'pending', 0, ''
            FROM events_event WHERE category = 'recruiting'
            """
        )
        queued = cursor.rowcount
        cursor.execute("VACUUM ANALYZE")
    return queued


def bench_processing(args, env: dict, results: dict) -> None:
    if not count_events():
        path = OUT / "events.jsonl"
        if not path.exists():
            generate(path, args.scale)
        seconds = run_import(path, env)
        print(f"import_events: {seconds:.1f} s, {count_events() / seconds:,.0f} events/s")
    requeue_recruiting_events()
    seconds, applied = run_processing()
    results["processing_per_s"] = round(applied / seconds)
    results["processed"] = applied
    print(f"processing: {applied:,} pending events in {seconds:.1f} s, {applied / seconds:,.0f} events/s")


def bench_events(args, env: dict, results: dict) -> None:
    if args.processing_only:
        bench_processing(args, env, results)
        return
    path = OUT / "events.jsonl"
    started = time.monotonic()
    total = generate(path, args.scale)
    results["events"] = total
    results["generate_seconds"] = round(time.monotonic() - started, 1)
    print(f"dataset: {total:,} events ({path.stat().st_size / 1e6:.0f} MB) in {results['generate_seconds']} s")

    seconds = run_import(path, env)
    assert count_events() == total, "import_events did not store every event"
    results["import_events_per_s"] = round(total / seconds)
    print(f"import_events: {seconds:.1f} s, {total / seconds:,.0f} events/s")

    seconds, applied = run_processing()
    results["processing_per_s"] = round(applied / seconds)
    results["processed"] = applied
    print(f"processing: {applied:,} pending events in {seconds:.1f} s, {applied / seconds:,.0f} events/s")

    from accounts.models import Facility
    from accounts.principals import Actor, SystemPrincipal
    from accounts.services import api_key_create

    _, key = api_key_create(
        by=Actor(principal=SystemPrincipal("bench")), name="bench", facilities=Facility.objects.all()
    )
    bodies = batches(path)
    port = 18_000 + os.getpid() % 1000
    server = start_gunicorn(env, port)
    try:
        for clients in (1, 4):
            truncate_event_data()
            seconds = run_api(bodies, clients=clients, port=port, key=key)
            assert count_events() == total, "the bulk API did not store every event"
            results[f"bulk_api_{clients}_client_per_s"] = round(total / seconds)
            print(f"bulk API, {clients} client(s): {seconds:.1f} s, {total / seconds:,.0f} events/s")
    finally:
        server.terminate()
        server.wait(30)
        from django_redis import get_redis_connection

        get_redis_connection("default").delete(env["CELERY_QUEUE"])  # the processing requests nobody consumed


if __name__ == "__main__":
    main()
