"""KPIs of kpis.md other than the pipeline: compliance, revenue, outreach, skills, engagement,
performance. Each selector returns {facility_id or None (overall): metrics}, the metrics
described with the privacy types, read from the materialized views (or, fresh, from their
definitions over the base tables)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from analytics.privacy import Breakdown, Count, Mean, Money, Rate, round2, round4
from analytics.selectors.base import (
    OVERALL,
    SECONDS_PER_DAY,
    days_in,
    fetch,
    keyed,
    month_start,
    next_month,
    source,
    week_start,
)
from events.models.records import Channel, ComplianceSeverity, ComplianceStatus

COMPLIANCE_VIEWS = ["compliance_daily"]
REVENUE_VIEWS = ["revenue_daily", "placements"]
OUTREACH_VIEWS = ["outreach_daily", "outreach_replies", "candidate_contacts", "candidate_applications"]
SKILLS_VIEWS = ["jobs", "candidate_skills"]
ENGAGEMENT_VIEWS = ["actor_days", "event_types_daily"]
PERFORMANCE_VIEWS = ["pipeline_cohort", "hires", "recruiter_daily"]


def _each(facility_ids, build) -> dict:
    """The metrics overall and for every facility in scope (rows show facilities with no data too)."""
    return {key: build(key) for key in {OVERALL, *facility_ids}}


# --- compliance ---------------------------------------------------------------------------


def kpi_compliance(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> dict:
    rows = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), status, severity, sum(checks), sum(score_sum),
                   coalesce(sum(checks) FILTER (WHERE expires_on > %(end)s AND expires_on <= %(end)s + 30), 0)
            FROM {source("compliance_daily", fresh=fresh)}
            WHERE facility_id = ANY(%(ids)s) AND checked_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id, status, severity), (status, severity))
            """,  # noqa: S608 - view names come from the registry
            {"ids": list(facility_ids), "start": start, "end": end},
        )
    )
    return _each(facility_ids, lambda key: compliance_metrics(rows.get(key, [])))


def compliance_metrics(rows: list) -> dict:
    by_status = dict.fromkeys(ComplianceStatus.values, 0)
    violations = {severity: 0 for severity in ComplianceSeverity.values if severity != "none"}
    checks = score = expiring = 0
    for status, severity, count, score_sum, expiring_count in rows:
        by_status[status] += int(count)
        checks += int(count)
        score += int(score_sum or 0)
        expiring += int(expiring_count)
        if status == ComplianceStatus.VIOLATION and severity in violations:
            violations[severity] += int(count)
    return {
        "checks": Count(checks),
        "compliant": Count(by_status["compliant"]),
        "compliance_rate": Rate(by_status["compliant"], checks),
        "violations": Count(by_status["violation"]),
        "violations_by_severity": Breakdown({severity: Count(n) for severity, n in violations.items()}),
        "avg_score": Mean(round2(score / checks) if checks else None, checks),
        "by_status": Breakdown({status: Count(n) for status, n in by_status.items()}),
        "expiring_within_30_days": Count(expiring),
    }


# --- revenue --------------------------------------------------------------------------------


def kpi_revenue(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> dict:
    ids = list(facility_ids)
    first_month = month_start(start)
    previous_month = month_start(first_month - timedelta(days=1))
    revenue = source("revenue_daily", fresh=fresh)
    totals = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), coalesce(sum(revenue), 0), coalesce(sum(invoices), 0),
                   count(DISTINCT placement_id)
            FROM {revenue}
            WHERE facility_id = ANY(%(ids)s) AND issued_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id), ())
            """,  # noqa: S608
            {"ids": ids, "start": start, "end": end},
        )
    )
    # Revenue per month inside the period, plus the whole month before it (for the first growth).
    monthly = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), date_trunc('month', issued_date)::date AS month, sum(revenue)
            FROM {revenue}
            WHERE facility_id = ANY(%(ids)s)
              AND ((issued_date BETWEEN %(start)s AND %(end)s)
                   OR (issued_date >= %(previous)s AND issued_date < %(first)s))
            GROUP BY GROUPING SETS ((facility_id, date_trunc('month', issued_date)), (date_trunc('month', issued_date)))
            """,  # noqa: S608
            {"ids": ids, "start": start, "end": end, "previous": previous_month, "first": first_month},
        )
    )
    active = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), count(*)
            FROM {source("placements", fresh=fresh)}
            WHERE facility_id = ANY(%(ids)s) AND start_date <= %(end)s AND (end_date IS NULL OR end_date >= %(start)s)
            GROUP BY GROUPING SETS ((facility_id), ())
            """,  # noqa: S608
            {"ids": ids, "start": start, "end": end},
        )
    )
    months = []
    month = first_month
    while month <= end:
        months.append(month)
        month = next_month(month)

    def build(key) -> dict:
        total, invoices, placements = (totals.get(key) or [(0, 0, 0)])[0]
        by_month = {row[0]: Decimal(row[1]) for row in monthly.get(key, [])}
        series, previous = [], by_month.get(previous_month)
        for month in months:
            value = by_month.get(month, Decimal(0))
            growth = round4(float(value / previous) - 1) if previous else None
            series.append({"month": month.strftime("%Y-%m"), "revenue": Money(value), "growth": growth})
            previous = value
        placements = int(placements)
        return {
            "total_revenue": Money(Decimal(total)),
            "invoices": Count(int(invoices)),
            "placements_invoiced": Count(placements),
            "avg_revenue_per_placement": Mean(round2(Decimal(total) / placements) if placements else None, placements),
            "by_month": series,
            "active_placements": Count(int((active.get(key) or [(0,)])[0][0])),
        }

    return _each(facility_ids, build)


# --- outreach ---------------------------------------------------------------------------------


def kpi_outreach(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> dict:
    ids = list(facility_ids)
    scope = {"ids": ids, "start": start, "end": end}
    counts = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), channel, sum(sent), sum(replied)
            FROM {source("outreach_daily", fresh=fresh)}
            WHERE facility_id = ANY(%(ids)s) AND sent_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id, channel), (channel))
            """,  # noqa: S608
            scope,
        )
    )
    medians = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_reply)
            FROM {source("outreach_replies", fresh=fresh)}
            WHERE facility_id = ANY(%(ids)s) AND sent_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id), ())
            """,  # noqa: S608
            scope,
        )
    )
    contacts = source("candidate_contacts", fresh=fresh)
    applications = source("candidate_applications", fresh=fresh)
    conversion_sql = f"""
        WITH firsts AS (
            SELECT {{group}} candidate_id, min(first_sent_at) AS first_at
            FROM {contacts}
            WHERE facility_id = ANY(%(ids)s) AND sent_date BETWEEN %(start)s AND %(end)s
            GROUP BY {{group}} candidate_id
        )
        SELECT {{group}} count(*), count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM {applications} a
            WHERE a.candidate_id = f.candidate_id AND a.facility_id = ANY({{apply_scope}})
              AND a.applied_at >= f.first_at AND a.applied_at <= f.first_at + interval '30 days'
        ))
        FROM firsts f
        {{group_by}}
    """  # noqa: S608
    overall = fetch(conversion_sql.format(group="", apply_scope="%(ids)s", group_by=""), scope)
    per_facility = []
    if by_facility:  # each facility's own candidates and applications, only when rows are asked for
        per_facility = fetch(
            conversion_sql.format(
                group="facility_id,", apply_scope="ARRAY[f.facility_id]", group_by="GROUP BY facility_id"
            ),
            scope,
        )
    conversion = {OVERALL: overall[0], **{row[0]: row[1:] for row in per_facility}}

    def build(key) -> dict:
        channels = {channel: [0, 0] for channel in Channel.values}
        for channel, sent, replied in counts.get(key, []):
            channels[channel] = [int(sent), int(replied)]
        sent = sum(s for s, _ in channels.values())
        replied = sum(r for _, r in channels.values())
        replies, median = (medians.get(key) or [(0, None)])[0]
        messaged, applied = conversion.get(key, (0, 0))
        return {
            "sent": Count(sent),
            "replied": Count(replied),
            "response_rate": Rate(replied, sent),
            "median_response_hours": Mean(None if median is None else round2(median / 3600), int(replies)),
            "by_channel": Breakdown(
                {
                    c: {"sent": Count(s), "replied": Count(r), "response_rate": Rate(r, s)}
                    for c, (s, r) in channels.items()
                }
            ),
            "outreach_to_application_rate": Rate(int(applied), int(messaged)),
        }

    return _each(facility_ids, build)


# --- skills -----------------------------------------------------------------------------------


def kpi_skills(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> dict:
    ids = list(facility_ids)
    jobs = source("jobs", fresh=fresh)
    skills_rows = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), skill, count(*)
            FROM {jobs}, unnest(skills) AS skill
            WHERE facility_id = ANY(%(ids)s) AND opened_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id, skill), (skill))
            """,  # noqa: S608
            {"ids": ids, "start": start, "end": end},
        )
    )
    candidate_rows = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), skill, sum(candidates)
            FROM {source("candidate_skills", fresh=fresh)}
            WHERE facility_id = ANY(%(ids)s) AND registered_date <= %(end)s
            GROUP BY GROUPING SETS ((facility_id, skill), (skill))
            """,  # noqa: S608
            {"ids": ids, "end": end},
        )
    )
    specialty_rows = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), specialty, count(*), avg(bill_rate)
            FROM {jobs}
            WHERE facility_id = ANY(%(ids)s) AND opened_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id, specialty), (specialty))
            """,  # noqa: S608
            {"ids": ids, "start": start, "end": end},
        )
    )

    def build(key) -> dict:
        candidates = {skill: int(n) for skill, n in candidate_rows.get(key, [])}
        top = sorted(((int(n), skill) for skill, n in skills_rows.get(key, [])), key=lambda p: (-p[0], p[1]))[:20]
        specialties = sorted(specialty_rows.get(key, []), key=lambda row: (-row[1], row[0]))
        return {
            "demand": [
                {
                    "skill": skill,
                    "jobs": Count(jobs_count),
                    "candidates": Count(candidates.get(skill, 0)),
                    "gap_ratio": Rate(jobs_count, candidates.get(skill, 0)),
                }
                for jobs_count, skill in top
            ],
            "bill_rate_by_specialty": [
                {
                    "specialty": specialty,
                    "jobs": Count(int(count)),
                    "mean_bill_rate": Mean(round2(mean) if mean is not None else None, int(count)),
                }
                for specialty, count, mean in specialties
            ],
        }

    return _each(facility_ids, build)


# --- engagement -------------------------------------------------------------------------------


def kpi_engagement(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> dict:
    """Actors of events with no facility or one in scope; a row (group_by) counts only that
    facility's events. Distinct counts are exact: the view keeps one row per actor and day.

    Distinct actors are counted per day (a small sort per day) and over short windows, which is
    far cheaper than one distinct count over a year of actor-days."""
    ids = list(facility_ids)
    actor_days = source("actor_days", fresh=fresh)
    scope = {"ids": ids, "start": start, "end": end, "week": end - timedelta(days=6), "month": end - timedelta(days=29)}
    where = "(facility_id IS NULL OR facility_id = ANY(%(ids)s))"

    def activity(group: str, facility_filter: str) -> dict:
        """{key: (actor-days in the period, actors in the period, wau, mau)}; ``group`` is ''
        (overall) or 'facility_id' (rows)."""
        select, group_by = (f"{group},", f"GROUP BY {group}") if group else ("", "")
        in_period = f"{facility_filter} AND local_date BETWEEN %(start)s AND %(end)s"
        queries = [
            # distinct actors per day, summed: the actor-days behind the DAU mean
            f"SELECT {select} sum(actors) FROM (SELECT {select} local_date, count(DISTINCT actor) AS actors "  # noqa: S608
            f"FROM {actor_days} WHERE {in_period} GROUP BY {select} local_date) daily {group_by}",
            f"SELECT {select} count(*) FROM (SELECT DISTINCT {select} actor FROM {actor_days} WHERE {in_period}) a "  # noqa: S608
            f"{group_by}",
            f"SELECT {select} count(DISTINCT actor) FILTER (WHERE local_date >= %(week)s), count(DISTINCT actor) "  # noqa: S608
            f"FROM {actor_days} WHERE {facility_filter} AND local_date BETWEEN %(month)s AND %(end)s {group_by}",
        ]
        figures: dict = defaultdict(lambda: [0, 0, 0, 0])
        for position, sql in enumerate(queries):
            for row in fetch(sql, scope):
                key, values = (row[0], row[1:]) if group else (OVERALL, row)
                for offset, value in enumerate(values):
                    figures[key][position + offset] = int(value or 0)
        return {key: tuple(values) for key, values in figures.items()}

    counts = activity("", where)
    if by_facility:
        counts.update(activity("facility_id", "facility_id = ANY(%(ids)s)"))
    types = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), type, sum(events)
            FROM {source("event_types_daily", fresh=fresh)}
            WHERE {where} AND local_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id, type), (type))
            """,  # noqa: S608
            scope,
        )
    )
    retention = _retention(actor_days, where, scope, start, end)
    period_days = days_in(start, end)

    def build(key) -> dict:
        actor_day_count, period_actors, wau, mau = counts.get(key, (0, 0, 0, 0))
        dau = actor_day_count / period_days
        type_counts = sorted(((int(n), t) for t, n in types.get(key, [])), key=lambda p: (-p[0], p[1]))[:20]
        return {
            # A mean of daily distinct actors; hidden when the period's actors are too few.
            "dau": Mean(round2(dau), period_actors),
            "wau": Count(wau),
            "mau": Count(mau),
            "stickiness": Mean(round4(dau / mau) if mau else None, mau),
            "events_by_type": {event_type: Count(n) for n, event_type in type_counts},
            "retention": retention if key is OVERALL else [],
        }

    return _each(facility_ids if by_facility else [], build)


def _retention(actor_days: str, where: str, scope: dict, start: date, end: date) -> list[dict]:
    """Weekly cohorts by the ISO week of each actor's first event ever, for weeks starting in
    the period; r_k = the share of the cohort active in week +k."""
    params = {**scope, "week0": week_start(start), "last": end + timedelta(weeks=5)}
    firsts = fetch(
        f"""
        SELECT actor, date_trunc('week', min(local_date))::date FROM {actor_days}
        WHERE {where} GROUP BY actor
        HAVING date_trunc('week', min(local_date))::date BETWEEN %(start)s AND %(end)s
        """,  # noqa: S608
        params,
    )
    if not firsts:
        return []
    weeks = fetch(
        f"""
        SELECT DISTINCT actor, date_trunc('week', local_date)::date FROM {actor_days}
        WHERE {where} AND actor = ANY(%(actors)s) AND local_date BETWEEN %(week0)s AND %(last)s
        """,  # noqa: S608
        {**params, "actors": [actor for actor, _ in firsts]},
    )
    active = defaultdict(set)
    for actor, week in weeks:
        active[actor].add(week)
    cohorts = defaultdict(set)
    for actor, week in firsts:
        cohorts[week].add(actor)
    result = []
    for week in sorted(cohorts):
        members = cohorts[week]
        iso = week.isocalendar()
        result.append(
            {
                "week": f"{iso.year}-W{iso.week:02d}",
                "size": Count(len(members)),
                "retained": [
                    Rate(sum(1 for a in members if week + timedelta(weeks=k) in active[a]), len(members))
                    for k in range(1, 5)
                ],
            }
        )
    return result


# --- performance --------------------------------------------------------------------------------


def kpi_performance(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> dict:
    ids = list(facility_ids)
    scope = {"ids": ids, "start": start, "end": end}
    cohort = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), source, sum(applications),
                   coalesce(sum(applications) FILTER (WHERE furthest_stage = 4), 0)
            FROM {source("pipeline_cohort", fresh=fresh)}
            WHERE facility_id = ANY(%(ids)s) AND applied_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id, source), (source))
            """,  # noqa: S608
            scope,
        )
    )
    speed = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), source, count(*), avg(seconds_to_hire)
            FROM {source("hires", fresh=fresh)}
            WHERE facility_id = ANY(%(ids)s) AND applied_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id, source), (source))
            """,  # noqa: S608
            scope,
        )
    )
    recruiters = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), actor, sum(status_changes), sum(hires), sum(seconds_to_hire_sum)
            FROM {source("recruiter_daily", fresh=fresh)}
            WHERE facility_id = ANY(%(ids)s) AND occurred_date BETWEEN %(start)s AND %(end)s
            GROUP BY GROUPING SETS ((facility_id, actor), (actor))
            """,  # noqa: S608
            scope,
        )
    )

    def build(key) -> dict:
        mean_by_source = {src: (int(n), mean) for src, n, mean in speed.get(key, [])}
        by_source = []
        for src, applications, hires in cohort.get(key, []):
            n, mean = mean_by_source.get(src, (0, None))
            by_source.append(
                {
                    "source": src,
                    "applications": Count(int(applications)),
                    "hires": Count(int(hires)),
                    "hire_rate": Rate(int(hires), int(applications)),
                    "time_to_hire_days": Mean(None if mean is None else round2(float(mean) / SECONDS_PER_DAY), n),
                }
            )
        by_source.sort(key=lambda row: (-row["hires"].value, row["source"]))
        by_recruiter = [
            {
                "recruiter": actor,
                "status_changes": Count(int(changes)),
                "hires": Count(int(hires)),
                "time_to_hire_days": Mean(
                    round2(float(seconds) / int(hires) / SECONDS_PER_DAY) if hires else None, int(hires)
                ),
            }
            for actor, changes, hires, seconds in recruiters.get(key, [])
        ]
        by_recruiter.sort(key=lambda row: (-row["hires"].value, row["recruiter"]))
        return {"by_source": by_source, "by_recruiter": by_recruiter}

    return _each(facility_ids, build)
