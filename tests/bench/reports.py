"""Report benchmark: build time and peak memory of report files on the benchmark dataset.

- the `applications` list of 1,000,000 rows as CSV and as XLSX;
- a KPI workbook: the dashboard for 20 facilities by day (group_by=facility) over a year.

Each file is built in a child process (`python -m tests.bench.reports <report id> <start> <end>`)
through the same function a run uses, so peak memory (ru_maxrss) is that build's alone.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
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
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
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
    begun = time.perf_counter()
    built = report_build(report=report, start=start, end=end, directory=folder, stem=f"bench-{report_id}")
    seconds = time.perf_counter() - begun
    size = built.path.stat().st_size
    built.path.unlink()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": built.rows, "seconds": round(seconds, 1), "mb": round(size / 1e6, 1),
                      "peak_rss_mb": round(peak)}))  # fmt: skip


if __name__ == "__main__":
    child(int(sys.argv[1]), date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3]))
