"""KPI benchmark: refresh times and endpoint latency on a large generated dataset.

The dataset is written with set-based SQL (generate_series), not through the event path, so
it takes minutes rather than hours: 50 facilities, 20,000 jobs, 300,000 candidates, 1,000,000
applications with their status history, placements, invoices, 1,000,000 outreach messages,
300,000 compliance checks and 10,000,000 activity events over 18 months.

Measures: a full refresh of every view, and of the pipeline views alone; then, for each KPI
endpoint over one year and all facilities, latency uncached and cached, for an Admin and for a
Viewer (perturbed and suppressed answers), against a naive baseline that computes the same
pipeline numbers with the ORM from the base tables; and what the privacy keys cost the views'
defining queries (with and without them, on the same data).
"""

from __future__ import annotations

import gc
import statistics
import time
from datetime import date, timedelta

SCALE = {
    "facilities": 50,
    "jobs": 20_000,
    "candidates": 300_000,
    "applications": 1_000_000,
    "messages": 1_000_000,
    "checks": 300_000,
    "events": 10_000_000,
}

# The facilities' time zones, in turn: whole-hour and half-hour offsets, both hemispheres' clock changes.
ZONES = ["America/Los_Angeles", "Pacific/Honolulu", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]

DATASET_SQL = """
INSERT INTO accounts_facility (code, name, region, time_zone, dated_time_zone, active, created_at)
SELECT format('BENCH-%%s', lpad(i::text, 2, '0')), format('Bench Hospital %%s', i), 'Bench', z.zone, z.zone, true, now()
FROM generate_series(1, %(facilities)s) i
CROSS JOIN LATERAL (SELECT (%(zones)s::text[])[1 + i %% cardinality(%(zones)s::text[])] AS zone) z
ON CONFLICT (code) DO NOTHING;

-- Every date is the local one at its facility, as processing stores it.
CREATE TEMP TABLE bench_facility AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, time_zone AS tz FROM accounts_facility WHERE code LIKE 'BENCH-%%';

INSERT INTO events_job (external_id, facility_id, title, specialty, skills, positions, bill_rate, status,
                        opened_at, opened_date, filled_at, filled_date, created_at, updated_at)
SELECT format('BJ-%%s', i), f.id, 'Registered Nurse', (ARRAY['ICU','Emergency','Med-Surg','Pediatrics'])[1 + i %% 4],
       ARRAY[(ARRAY['icu','bls','acls','pals','telemetry'])[1 + i %% 5], 'bls'], 1 + i %% 3, 70 + i %% 40,
       CASE WHEN i %% 10 < 7 THEN 'filled' ELSE 'open' END, o.t, (o.t AT TIME ZONE f.tz)::date,
       CASE WHEN i %% 10 < 7 THEN o.t + (i %% 90) * interval '1 day' END,
       CASE WHEN i %% 10 < 7 THEN ((o.t + (i %% 90) * interval '1 day') AT TIME ZONE f.tz)::date END, now(), now()
FROM generate_series(1, %(jobs)s) i
JOIN bench_facility f ON f.n = i %% %(facilities)s
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (i * 7919 %% 540) * interval '1 day' AS t) o;

INSERT INTO events_candidate (external_id, facility_id, first_name, last_name, email, phone, skills, source,
                              registered_at, registered_date, created_at, updated_at)
SELECT format('BC-%%s', i), f.id, 'Alex', 'Doe', format('c%%s@example.com', i), '555-0100',
       ARRAY[(ARRAY['icu','bls','acls','pals','telemetry'])[1 + i %% 5]], 'referral', r.t, (r.t AT TIME ZONE f.tz)::date,
       now(), now()
FROM generate_series(1, %(candidates)s) i
JOIN bench_facility f ON f.n = i %% %(facilities)s
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (i::bigint * 104729 %% 540) * interval '1 day' AS t) r;

INSERT INTO events_application (external_id, facility_id, job_id, candidate_id, source, status, furthest_stage,
                                applied_at, applied_date, offered_at, offered_date, hired_at, hired_date,
                                status_changed_at, created_at, updated_at)
SELECT format('BA-%%s', i), j.facility_id, j.id, c.id, (ARRAY['referral','job_board','linkedin','agency'])[1 + i %% 4],
       s.status, s.stage, a.t, (a.t AT TIME ZONE f.tz)::date,
       CASE WHEN s.stage >= 3 THEN a.t + interval '20 days' END,
       CASE WHEN s.stage >= 3 THEN ((a.t + interval '20 days') AT TIME ZONE f.tz)::date END,
       CASE WHEN s.stage = 4 THEN a.t + interval '25 days' + (i %% 10) * interval '1 day' END,
       CASE WHEN s.stage = 4 THEN ((a.t + interval '25 days' + (i %% 10) * interval '1 day') AT TIME ZONE f.tz)::date END,
       a.t, now(), now()
FROM generate_series(1, %(applications)s) i
JOIN events_job j ON j.external_id = format('BJ-%%s', 1 + i * 31 %% %(jobs)s)
JOIN bench_facility f ON f.id = j.facility_id
JOIN events_candidate c ON c.external_id = format('BC-%%s', 1 + i * 17 %% %(candidates)s)
CROSS JOIN LATERAL (SELECT j.opened_at + (i %% 40) * interval '1 day' AS t) a
CROSS JOIN LATERAL (SELECT CASE WHEN i %% 20 = 0 THEN 4 WHEN i %% 7 = 0 THEN 3 WHEN i %% 3 = 0 THEN 2
                               WHEN i %% 2 = 0 THEN 1 ELSE 0 END AS stage) st
CROSS JOIN LATERAL (SELECT st.stage,
    CASE st.stage WHEN 4 THEN 'hired' WHEN 3 THEN 'offered' WHEN 2 THEN 'rejected' WHEN 1 THEN 'screening'
                  ELSE (CASE WHEN i %% 5 = 0 THEN 'withdrawn' ELSE 'applied' END) END AS status) s;

INSERT INTO events_applicationstatuschange (event_id, application_id, facility_id, status, occurred_at,
                                            occurred_date, actor)
SELECT gen_random_uuid(), a.id, a.facility_id, st.status, a.applied_at + st.k * interval '6 days',
       ((a.applied_at + st.k * interval '6 days') AT TIME ZONE f.tz)::date, format('recruiter-%%s', a.id %% 400)
FROM events_application a
JOIN bench_facility f ON f.id = a.facility_id
CROSS JOIN LATERAL (VALUES (1, 'screening'), (2, 'interviewing'), (3, 'offered'), (4, 'hired')) AS st(k, status)
WHERE a.external_id LIKE 'BA-%%' AND st.k <= a.furthest_stage;

INSERT INTO events_placement (external_id, facility_id, application_id, start_date, end_date, bill_rate, started_at,
                              created_at, updated_at)
SELECT format('BP-%%s', a.id), a.facility_id, a.id, (a.hired_at + interval '14 days')::date,
       (a.hired_at + interval '105 days')::date, 90, a.hired_at + interval '14 days', now(), now()
FROM events_application a WHERE a.external_id LIKE 'BA-%%' AND a.hired_at IS NOT NULL;

INSERT INTO events_invoice (external_id, facility_id, placement_id, amount, issued_at, issued_date, created_at,
                            updated_at)
SELECT format('BI-%%s-%%s', p.id, k), p.facility_id, p.id, 12960, p.started_at + k * interval '28 days',
       ((p.started_at + k * interval '28 days') AT TIME ZONE f.tz)::date, now(), now()
FROM events_placement p JOIN bench_facility f ON f.id = p.facility_id
CROSS JOIN generate_series(1, 3) k WHERE p.external_id LIKE 'BP-%%';

INSERT INTO events_outreachmessage (external_id, facility_id, candidate_id, channel, sent_at, sent_date, replied_at,
                                    actor, created_at, updated_at)
SELECT format('BM-%%s', i), c.facility_id, c.id, (ARRAY['email','sms','phone','linkedin','whatsapp'])[1 + i %% 5],
       c.registered_at + (i %% 60) * interval '1 day',
       ((c.registered_at + (i %% 60) * interval '1 day') AT TIME ZONE f.tz)::date,
       CASE WHEN i %% 3 = 0 THEN c.registered_at + (i %% 60) * interval '1 day' + (i %% 48) * interval '1 hour' END,
       format('recruiter-%%s', i %% 400), now(), now()
FROM generate_series(1, %(messages)s) i
JOIN events_candidate c ON c.external_id = format('BC-%%s', 1 + i %% %(candidates)s)
JOIN bench_facility f ON f.id = c.facility_id;

INSERT INTO events_compliancecheck (external_id, facility_id, candidate_id, credential, status, severity, score,
                                    expires_on, checked_at, checked_date, created_at, updated_at)
SELECT format('BK-%%s', i), c.facility_id, c.id, 'BLS',
       (ARRAY['compliant','compliant','compliant','expiring','expired','missing','violation'])[1 + i %% 7],
       (ARRAY['none','low','medium','high'])[1 + i %% 4], 50 + i %% 50, (c.registered_at + interval '400 days')::date,
       c.registered_at + interval '3 days', ((c.registered_at + interval '3 days') AT TIME ZONE f.tz)::date, now(),
       now()
FROM generate_series(1, %(checks)s) i
JOIN events_candidate c ON c.external_id = format('BC-%%s', 1 + i %% %(candidates)s)
JOIN bench_facility f ON f.id = c.facility_id;
"""

EVENTS_SQL = """
INSERT INTO events_event (id, category, type, occurred_at, local_date, received_at, facility_id, actor, data,
                          content_hash, sender)
SELECT gen_random_uuid(), 'activity', (ARRAY['user.login','dashboard.viewed','job.viewed','report.downloaded'])[1 + i %% 4],
       e.t, (e.t AT TIME ZONE CASE WHEN i %% 10 = 0 THEN 'UTC' ELSE f.tz END)::date, now(),
       CASE WHEN i %% 10 = 0 THEN NULL ELSE f.id END, format('user-%%s', i %% 2000), '{}'::jsonb,
       '\\x00'::bytea, 'bench'
FROM generate_series(%(first)s, %(last)s) i
JOIN bench_facility f ON f.n = i %% %(facilities)s
CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (i * 7 %% 47304000) * interval '1 second' AS t) e
"""


def build_dataset(cursor, *, start: date) -> dict:
    from events.services.partitions import partitions_ensure

    timings = {}
    begun = time.monotonic()
    cursor.execute(DATASET_SQL, {**SCALE, "start": start, "zones": ZONES})
    timings["records_seconds"] = round(time.monotonic() - begun, 1)
    months = set()
    day = start.replace(day=1)
    while day <= start + timedelta(days=560):
        months.add(("activity", day))
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    partitions_ensure(months=months)
    begun = time.monotonic()
    chunk = 1_000_000
    for first in range(1, SCALE["events"] + 1, chunk):
        cursor.execute(EVENTS_SQL, {"first": first, "last": first + chunk - 1, "start": start,
                                    "facilities": SCALE["facilities"]})  # fmt: skip
    timings["events_seconds"] = round(time.monotonic() - begun, 1)
    # Vacuumed as well as analyzed: otherwise autovacuum works through the 13 million fresh rows
    # (setting their visibility) while the endpoints are timed, and its reads land in their p95.
    begun = time.monotonic()
    cursor.execute("VACUUM (ANALYZE)")
    timings["vacuum_seconds"] = round(time.monotonic() - begun, 1)
    return timings


def time_refresh(views: list[str] | None) -> tuple[float, list]:
    from analytics.services.refresh import refresh_request, refresh_runs_execute

    begun = time.monotonic()
    runs = refresh_runs_execute(
        run_ids=[run.pk for run in refresh_request(views=views, by=None, trigger="bench", enqueue=False)]
    )
    return time.monotonic() - begun, [(run.view, run.status, run.rows, run.duration_ms) for run in runs]


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)


def bench_user(username: str, role: str, facilities: int | None = None):
    """A signed-in person of ``role`` granted the first ``facilities`` benchmark facilities (None:
    every facility of the installation, the demo's too). A Viewer's answers are perturbed and
    suppressed; a Recruiter's over the same facilities are exact, so the two side by side price
    the privacy work alone."""
    from accounts.models import Facility, User
    from accounts.principals import Actor
    from accounts.services import user_create

    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    if facilities is None:
        granted = list(Facility.objects.all())
    else:
        granted = list(Facility.objects.filter(code__startswith="BENCH-").order_by("code")[:facilities])
    return user_create(by=Actor.system("bench"), username=username, password=None, role=role, facilities=granted)


def time_endpoints(*, end: date, repeats: int = 20, caller=None, perturbed: bool = False) -> dict:
    """p95 latency of every KPI endpoint for ``caller`` (default: an Admin-like system principal)."""
    from rest_framework.test import APIClient

    from accounts.principals import SystemPrincipal
    from analytics.cache import kpi_cache_bump

    client = APIClient()
    client.force_authenticate(caller or SystemPrincipal("bench"))
    params = {"start_date": (end - timedelta(days=364)).isoformat(), "end_date": end.isoformat()}
    results = {}
    for name in ["kpis", "dashboard", "pipeline", "performance", "compliance", "revenue", "outreach", "skills",
                 "engagement", "trends", "metrics"]:  # fmt: skip
        # One untimed request first: the process's first request (URL resolution, imports, the
        # schema) cost ~0.6 s and landed in the first endpoint's p95.
        client.get(f"/api/v1/analytics/{name}/", params)
        uncached, cached = [], []
        for _ in range(repeats):
            kpi_cache_bump()
            begun = time.perf_counter()
            response = client.get(f"/api/v1/analytics/{name}/", params)
            uncached.append((time.perf_counter() - begun) * 1000)
            assert response.status_code == 200, response.content[:300]
            assert response.json()["perturbed"] is perturbed, response.content[:300]
            begun = time.perf_counter()
            client.get(f"/api/v1/analytics/{name}/", params)
            cached.append((time.perf_counter() - begun) * 1000)
        results[name] = {"uncached_p95_ms": round(p95(uncached), 1), "cached_p95_ms": round(p95(cached), 1)}
    return results


def time_hourly(*, end: date, repeats: int = 20) -> dict:
    """p95 of hourly ``trends`` for one facility over the 31 days ending ``end`` (read from the
    records, not a view), per metric, uncached and cached; and over five facilities in five zones
    (UTC hours)."""
    from rest_framework.test import APIClient

    from accounts.principals import SystemPrincipal
    from analytics.cache import kpi_cache_bump

    client = APIClient()
    client.force_authenticate(SystemPrincipal("bench"))
    base = {"granularity": "hour", "start_date": (end - timedelta(days=30)).isoformat(), "end_date": end.isoformat()}
    results = {}
    for label, facility in (
        ("one_facility", "BENCH-01"),
        ("five_zones", "BENCH-01,BENCH-02,BENCH-03,BENCH-04,BENCH-05"),
    ):
        for metric in ("applications", "sent", "revenue", "active_users"):
            params = {**base, "facility": facility, "metric": metric}
            client.get("/api/v1/analytics/trends/", params)
            uncached, cached = [], []
            for _ in range(repeats):
                kpi_cache_bump()
                begun = time.perf_counter()
                response = client.get("/api/v1/analytics/trends/", params)
                uncached.append((time.perf_counter() - begun) * 1000)
                assert response.status_code == 200, response.content[:300]
                begun = time.perf_counter()
                client.get("/api/v1/analytics/trends/", params)
                cached.append((time.perf_counter() - begun) * 1000)
            results[f"{label}_{metric}"] = {"uncached_p95_ms": round(p95(uncached), 1),
                                            "cached_p95_ms": round(p95(cached), 1)}  # fmt: skip
    return results


def time_privacy_latency(*, end: date) -> dict:
    """The same endpoints for people with facilities granted, a Recruiter (exact) and a Viewer
    (perturbed) side by side over the same scope: one facility (the usual Viewer), three (the
    demo's Viewer), and every facility."""
    from accounts.models import Role

    callers = {}
    for label, facilities in (("one", 1), ("three", 3), ("every", None)):
        for role, perturbed in ((Role.RECRUITER, False), (Role.VIEWER, True)):
            user = bench_user(f"bench-{role}-{label}", role, facilities)
            callers[f"endpoints_{role}_{label}"] = (user, perturbed)
    results = {}
    for label, (caller, perturbed) in callers.items():
        results[label] = time_endpoints(end=end, caller=caller, perturbed=perturbed)
        print(f"{label} ({caller.username}):")
        for name, figures in results[label].items():
            print(f"  {name:<12} {figures}")
    return results


def time_privacy_keys(repeats: int = 3) -> dict:
    """What the privacy keys cost the refresh: every changed view's defining query, as it was
    before the keys (V1) and with them (V2), built into a scratch table on the same data, in the
    refresh's session settings; the versions alternate, and each view keeps its fastest pass
    (the machine's noise is larger than the difference in a single pass)."""
    from importlib import import_module

    from django.db import connection, transaction
    from psycopg import sql

    from analytics.services.refresh import REFRESH_SETTINGS

    changed = import_module("analytics.migrations.0009_privacy_keys").CHANGED
    scratch = sql.Identifier("bench_privacy_keys")
    views: dict[str, dict[int, float]] = {name: {1: float("inf"), 2: float("inf")} for name, *_ in changed}
    for _ in range(repeats):
        for version in (1, 2):
            for name, v1, v2, *_ in changed:
                with transaction.atomic(), connection.cursor() as cursor:
                    for setting, value in REFRESH_SETTINGS.items():
                        cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])
                    begun = time.perf_counter()
                    cursor.execute(
                        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS ").format(scratch)
                        + sql.SQL(v1 if version == 1 else v2)  # type: ignore[arg-type] - the fixed definitions
                    )
                    seconds = time.perf_counter() - begun
                views[name][version] = min(views[name][version], seconds)
    before, after = (sum(times[version] for times in views.values()) for version in (1, 2))
    slowest = sorted(views.items(), key=lambda item: -item[1][2])[:8]
    return {
        "without_keys_seconds": round(before, 1),
        "with_keys_seconds": round(after, 1),
        "growth_percent": round(100 * (after - before) / before, 1),
        "slowest": {name: [round(times[1], 2), round(times[2], 2)] for name, times in slowest},
    }


def naive_pipeline(*, facility_ids: list[int], start: date, end: date) -> dict:
    """The baseline: the same pipeline numbers with the ORM over the base tables, per request."""
    from django.db.models import Avg, Count, F, Q

    from events.models import Application, Job

    cohort = Application.objects.filter(facility_id__in=facility_ids, applied_at__date__range=(start, end))
    by_status = dict(cohort.values_list("status").annotate(n=Count("id")))
    funnel = {stage: cohort.filter(furthest_stage__gte=stage).count() for stage in range(5)}
    hires = Application.objects.filter(facility_id__in=facility_ids, hired_at__date__range=(start, end))
    durations = sorted((a.hired_at - a.applied_at).total_seconds() for a in hires.only("hired_at", "applied_at"))
    jobs = Job.objects.filter(facility_id__in=facility_ids, opened_at__date__range=(start, end))
    filled_positions = sum(
        min(job.positions, job.applications.filter(furthest_stage=4).count()) for job in jobs.only("positions")
    )
    return {
        "by_status": by_status,
        "funnel": funnel,
        "hires": len(durations),
        "median": statistics.median(durations) if durations else None,
        "filled_positions": filled_positions,
        "offers": Application.objects.filter(
            facility_id__in=facility_ids, offered_at__date__range=(start, end)
        ).aggregate(
            n=Count("id"), accepted=Count("id", filter=Q(hired_at__gte=F("offered_at"))), avg=Avg("furthest_stage")
        ),
    }


def run(results: dict) -> None:
    from django.db import connection

    from accounts.models import Facility

    today = date.today()
    start = today - timedelta(days=545)
    with connection.cursor() as cursor:
        results["kpi_dataset"] = build_dataset(cursor, start=start)
    print(f"KPI dataset built: {results['kpi_dataset']}")
    seconds, runs = time_refresh(None)  # the first refresh after loading
    print(f"first full refresh: {seconds:.1f} s")
    seconds, runs = time_refresh(None)
    results["refresh_all_seconds"] = round(seconds, 1)
    results["refresh_runs"] = runs
    print(f"full refresh, all views: {seconds:.1f} s; {runs}")
    seconds, _ = time_refresh(["pipeline"])
    results["refresh_pipeline_seconds"] = round(seconds, 1)
    print(f"refresh, pipeline views: {seconds:.1f} s")
    # As the web server does once a worker has loaded the app (config/gunicorn.py): otherwise a
    # full collection over the app's own objects lands in a timed request every few dozen.
    gc.collect()
    gc.freeze()
    results["endpoints"] = time_endpoints(end=today)
    for name, figures in results["endpoints"].items():
        print(f"  {name:<12} {figures}")
    results["hourly_trends"] = time_hourly(end=today)
    for name, figures in results["hourly_trends"].items():
        print(f"  hourly {name:<26} {figures}")
    results.update(time_privacy_latency(end=today))
    results["privacy_keys"] = time_privacy_keys()
    print(f"the views' defining queries without and with privacy keys: {results['privacy_keys']}")
    ids = list(Facility.objects.filter(code__startswith="BENCH-").values_list("id", flat=True))
    samples = []
    for _ in range(3):
        begun = time.perf_counter()
        naive_pipeline(facility_ids=ids, start=today - timedelta(days=364), end=today)
        samples.append((time.perf_counter() - begun) * 1000)
    results["naive_pipeline_ms"] = round(statistics.median(samples), 1)
    speedup = results["naive_pipeline_ms"] / results["endpoints"]["pipeline"]["uncached_p95_ms"]
    results["pipeline_speedup_vs_naive"] = round(speedup, 1)
    print(f"naive ORM pipeline: {results['naive_pipeline_ms']} ms; views are {speedup:.0f}x faster (p95 uncached)")
