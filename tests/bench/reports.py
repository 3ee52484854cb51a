"""Report benchmark: build time and peak memory of report files on the benchmark dataset.

- the `applications` list of 1,000,000 rows as CSV and as XLSX;
- a KPI workbook: the dashboard for 20 facilities by day (group_by=facility) over a year.

Each file is built in a child process (`python -m tests.bench.reports <report id> <start> <end>`)
through the same function a run uses, so peak memory is that build's alone: the child's own
high-water mark (VmHWM), not ``ru_maxrss``, which Linux carries over an exec from the parent
(a full `make bench` parent holds the events dataset, and every build reported its size).

`python -m tests.bench.reports cells [ROWS]` is the exporters' own micro-benchmark: ROWS
generated rows shaped like the `applications` list (13 columns, no database), written as CSV
and as XLSX, with the cost per cell once the rows' own generation is taken off.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ensure_dataset() -> None:
    """The records of the KPI benchmark (1,000,000 applications), unless they are there already."""
    from django.db import connection

    from events.models import Application
    from tests.bench.kpis import DATASET_SQL, SCALE

    if Application.objects.count() >= SCALE["applications"]:
        return
    begun = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(DATASET_SQL, {**SCALE, "start": date.today() - timedelta(days=545)})
        cursor.execute("ANALYZE")
    print(f"report dataset built in {time.monotonic() - begun:.0f} s")


def build_in_child(report_id: int, start: date, end: date, env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.reports", str(report_id), start.isoformat(), end.isoformat()],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"building report {report_id} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(results: dict, env: dict) -> None:
    from accounts.models import Facility, User
    from accounts.principals import Actor
    from reports.services.definitions import report_save

    ensure_dataset()
    owner = User.objects.get(username="demo-admin")
    by = Actor.system("bench")
    first = date.today() - timedelta(days=600)
    last = date.today() + timedelta(days=60)
    figures = {}
    for fmt in ("csv", "xlsx"):
        report = report_save(by=by, owner=owner, name=f"bench applications {fmt}", kpi="applications",
                             period="custom", start_date=first, end_date=last, format=fmt,
                             recipients=["bench@example.com"], facilities=[])  # fmt: skip
        figures[f"applications_{fmt}"] = build_in_child(report.pk, first, last, env)
        print(f"applications {fmt}: {figures[f'applications_{fmt}']}")
    twenty = list(Facility.objects.filter(code__startswith="BENCH-").order_by("code")[:20])
    report = report_save(by=by, owner=owner, name="bench dashboard by facility", kpi="dashboard", period="custom",
                         start_date=date.today() - timedelta(days=364), end_date=date.today(), format="xlsx",
                         group_by="facility", recipients=["bench@example.com"], facilities=twenty)  # fmt: skip
    figures["kpi_dashboard_xlsx_20_facilities_year"] = build_in_child(
        report.pk, date.today() - timedelta(days=364), date.today(), env
    )
    print(f"dashboard xlsx: {figures['kpi_dashboard_xlsx_20_facilities_year']}")
    results["reports"] = figures


def child(report_id: int, start: date, end: date) -> None:
    import django

    django.setup()
    from django.conf import settings

    from reports.building import report_build
    from reports.models import Report

    report = Report.objects.select_related("owner").get(pk=report_id)
    folder = Path(settings.MEDIA_ROOT) / "bench"
    load_before = os.getloadavg()[0]  # the cores are shared: a figure means little without it
    begun = time.perf_counter()
    built = report_build(report=report, start=start, end=end, directory=folder, stem=f"bench-{report_id}")
    seconds = time.perf_counter() - begun
    size = built.path.stat().st_size
    built.path.unlink()
    peak = peak_rss_kib() / 1024
    print(json.dumps({"rows": built.rows, "seconds": round(seconds, 1), "mb": round(size / 1e6, 1),
                      "peak_rss_mb": round(peak), "load": [round(load_before, 1), round(os.getloadavg()[0], 1)]}))  # fmt: skip


def peak_rss_kib() -> int:
    """This process's peak resident memory since its exec, in KiB."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def application_like_rows(count: int) -> Iterator[dict]:
    """Rows with the shape and the kind of values of the `applications` list."""
    titles = ["Registered Nurse", "ICU Nurse - Nights", "CNA", "Travel RN (ER)", "Physical Therapist"]
    stages = ["applied", "screening", "interviewing", "offered", "hired"]
    first = date(2025, 1, 1)
    for index in range(count):
        applied = first + timedelta(days=index % 540)
        yield {
            "application": f"APP-{index:08d}", "facility": f"BENCH-{index % 50:02d}", "job": f"J-{index % 20_000:06d}",
            "job_title": titles[index % 5], "candidate": f"C-{index % 300_000:07d}",
            "candidate_name": f"Candidate {index % 300_000}", "candidate_email": f"c{index % 300_000}@example.com",
            "source": "referral", "status": stages[index % 5], "furthest_stage": stages[(index + 1) % 5],
            "applied": applied, "offered": applied + timedelta(days=9) if index % 3 == 0 else None,
            "hired": applied + timedelta(days=20) if index % 7 == 0 else None,
        }  # fmt: skip


def cells(count: int) -> None:
    """Cost per cell of each exporter on generated rows (no database)."""
    import tempfile

    from reports.building import APPLICATION_COLUMNS
    from reports.exporters import export_csv, export_xlsx

    begun = time.perf_counter()
    for _ in application_like_rows(count):
        pass
    generating = time.perf_counter() - begun
    total = count * len(APPLICATION_COLUMNS)
    with tempfile.TemporaryDirectory() as folder:
        for name, export in (("csv", export_csv), ("xlsx", export_xlsx)):
            path = Path(folder) / f"cells.{name}"
            begun = time.perf_counter()
            export(path, APPLICATION_COLUMNS, application_like_rows(count))
            seconds = time.perf_counter() - begun
            print(json.dumps({"format": name, "rows": count, "seconds": round(seconds, 2),
                              "us_per_cell": round((seconds - generating) / total * 1e6, 2),
                              "mb": round(path.stat().st_size / 1e6, 1), "load": round(os.getloadavg()[0], 1)}))  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1] == "cells":
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        django.setup()
        cells(int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
    else:
        child(int(sys.argv[1]), date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3]))
