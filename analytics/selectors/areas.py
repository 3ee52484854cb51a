"""KPIs of kpis.md other than the pipeline: compliance, revenue, outreach, skills, engagement,
performance. Each selector returns {facility_id or None (overall): metrics}, the metrics
described with the privacy types, read from the materialized views (or, fresh, from their
definitions over the base tables)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from psycopg import sql

from analytics.privacy import Breakdown, Count, Mean, Money, Ranked, Tally, round2, round4
from analytics.selectors.base import (
    OVERALL,
    SECONDS_PER_DAY,
    ByFacility,
    covers_every_facility,
    fetch,
    group_by,
    grouping,
    keyed,
    month_split,
    month_start,
    next_month,
    source,
)
from analytics.selectors.engagement import ENGAGEMENT_VIEWS, engagement_headline, kpi_engagement
from analytics.selectors.outreach import OUTREACH_VIEWS, kpi_outreach, outreach_response_rate
from events.models.records import ComplianceSeverity, ComplianceStatus

__all__ = [
    "COMPLIANCE_VIEWS",
    "ENGAGEMENT_VIEWS",
    "OUTREACH_VIEWS",
    "PERFORMANCE_VIEWS",
    "REVENUE_VIEWS",
    "SKILLS_VIEWS",
    "engagement_headline",
    "kpi_compliance",
    "kpi_engagement",
    "kpi_outreach",
    "kpi_performance",
    "kpi_revenue",
    "kpi_skills",
    "outreach_response_rate",
    "revenue_total",
]  # fmt: skip

COMPLIANCE_VIEWS = ["compliance_daily"]
REVENUE_VIEWS = ["revenue_daily", "revenue_days", "placements"]
SKILLS_VIEWS = ["jobs", "candidate_skills"]
PERFORMANCE_VIEWS = ["pipeline_cohort", "hires", "recruiter_daily", "recruiter_totals"]


# --- compliance ---------------------------------------------------------------------------


def kpi_compliance(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> ByFacility:
    def figures(by_facility: bool) -> dict[Any, Any]:
        key, group = grouping(by_facility)
        return keyed(
            fetch(
                sql.SQL("""
                SELECT {key}, status, severity, sum(checks), sum(score_sum),
                       coalesce(sum(checks) FILTER (WHERE expires_on > %(end)s AND expires_on <= %(end)s + 30), 0),
                       sum(checks_keys),
                       coalesce(sum(checks_keys) FILTER (WHERE expires_on > %(end)s AND expires_on <= %(end)s + 30), 0)
                FROM {compliance_daily}
                WHERE facility_id = ANY(%(ids)s) AND checked_date BETWEEN %(start)s AND %(end)s
                GROUP BY {group} status, severity
                """).format(key=key, compliance_daily=source("compliance_daily", fresh=fresh), group=group),
                {"ids": list(facility_ids), "start": start, "end": end},
            )
        )

    def rows() -> dict[Any, Any]:
        found = figures(by_facility=True)
        return {key: compliance_metrics(found.get(key, [])) for key in facility_ids}

    return ByFacility(compliance_metrics(figures(by_facility=False).get(OVERALL, [])), rows)


def compliance_metrics(rows: list[Any]) -> dict[Any, Any]:
    by_status = {status: Tally() for status in ComplianceStatus.values}
    violations = {severity: Tally() for severity in ComplianceSeverity.values if severity != "none"}
    checks, expiring = Tally(), Tally()
    score = 0
    for status, severity, count, score_sum, expiring_count, keys, expiring_keys in rows:
        by_status[status].add(int(count), int(keys))
        checks.add(int(count), int(keys))
        score += int(score_sum or 0)
        expiring.add(int(expiring_count), int(expiring_keys))
        if status == ComplianceStatus.VIOLATION and severity in violations:
            violations[severity].add(int(count), int(keys))
    return {
        "checks": checks.count(),
        "compliant": by_status["compliant"].count(),
        "compliance_rate": by_status["compliant"].rate_of(checks),
        "violations": by_status["violation"].count(),
        "violations_by_severity": Breakdown({severity: tally.count() for severity, tally in violations.items()}),
        "avg_score": checks.mean(round2(score / checks.n) if checks.n else None),
        "by_status": Breakdown({status: tally.count() for status, tally in by_status.items()}),
        "expiring_within_30_days": expiring.count(),
    }


# --- revenue --------------------------------------------------------------------------------


def kpi_revenue(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> ByFacility:
    """Read from ``revenue_days`` (facility, day, the placement's previous invoice day): sums, and
    distinct placements as the rows in the period whose previous invoice day is before it."""
    first_month = month_start(start)
    previous_month = month_start(first_month - timedelta(days=1))
    params = {"ids": list(facility_ids), "start": start, "end": end, "previous": previous_month, "first": first_month}
    months = []
    month = first_month
    while month <= end:
        months.append(month)
        month = next_month(month)

    def figures(by_facility: bool) -> dict[Any, Any]:
        key, group = grouping(by_facility)
        revenue = source("revenue_days", fresh=fresh)
        totals = keyed(
            fetch(
                sql.SQL("""
                SELECT {key}, coalesce(sum(revenue), 0), coalesce(sum(invoices), 0),
                       coalesce(sum(placements) FILTER (WHERE prev_date IS NULL OR prev_date < %(start)s), 0),
                       coalesce(sum(invoices_keys), 0),
                       coalesce(sum(placements_keys) FILTER (WHERE prev_date IS NULL OR prev_date < %(start)s), 0)
                FROM {revenue}
                WHERE facility_id = ANY(%(ids)s) AND issued_date BETWEEN %(start)s AND %(end)s
                {group_by}
                """).format(key=key, revenue=revenue, group_by=group_by(by_facility)),
                params,
            )
        )
        # Revenue per month inside the period, plus the whole month before it (for the first growth).
        monthly = keyed(
            fetch(
                sql.SQL("""
                SELECT {key}, date_trunc('month', issued_date)::date, sum(revenue)
                FROM {revenue}
                WHERE facility_id = ANY(%(ids)s)
                  AND ((issued_date BETWEEN %(start)s AND %(end)s)
                       OR (issued_date >= %(previous)s AND issued_date < %(first)s))
                GROUP BY {group} date_trunc('month', issued_date)
                """).format(key=key, revenue=revenue, group=group),
                params,
            )
        )
        active = keyed(
            fetch(
                sql.SQL("""
                SELECT {key}, count(*), sum(privacy_key)
                FROM {placements}
                WHERE facility_id = ANY(%(ids)s) AND start_date <= %(end)s
                  AND (end_date IS NULL OR end_date >= %(start)s)
                {group_by}
                """).format(key=key, placements=source("placements", fresh=fresh), group_by=group_by(by_facility)),
                params,
            )
        )
        return {"totals": totals, "monthly": monthly, "active": active}

    def build(found: dict[Any, Any], key: Any) -> dict[Any, Any]:
        total, invoices, placements, invoices_keys, placements_keys = (found["totals"].get(key) or [(0,) * 5])[0]
        active, active_keys = (found["active"].get(key) or [(0, 0)])[0]
        invoiced = Tally(int(placements), int(placements_keys))
        by_month = {row[0]: Decimal(row[1]) for row in found["monthly"].get(key, [])}
        series, previous = [], by_month.get(previous_month)
        for month in months:
            value = by_month.get(month, Decimal(0))
            growth = round4(float(value / previous) - 1) if previous else None
            series.append({"month": month.strftime("%Y-%m"), "revenue": Money(value), "growth": growth})
            previous = value
        return {
            "total_revenue": Money(Decimal(total)),
            "invoices": Count(int(invoices), int(invoices_keys)),
            "placements_invoiced": invoiced.count(),
            "avg_revenue_per_placement": invoiced.mean(round2(Decimal(total) / invoiced.n) if invoiced.n else None),
            "by_month": series,
            "active_placements": Count(int(active), int(active_keys or 0)),
        }

    def rows() -> dict[Any, Any]:
        found = figures(by_facility=True)
        return {key: build(found, key) for key in facility_ids}

    return ByFacility(build(figures(by_facility=False), OVERALL), rows)


def revenue_total(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> Money:
    """The overall ``total_revenue`` of kpi_revenue alone (the headline needs no more)."""
    total = fetch(
        sql.SQL("""
        SELECT coalesce(sum(revenue), 0) FROM {revenue_days}
        WHERE facility_id = ANY(%(ids)s) AND issued_date BETWEEN %(start)s AND %(end)s
        """).format(revenue_days=source("revenue_days", fresh=fresh)),
        {"ids": list(facility_ids), "start": start, "end": end},
    )[0][0]
    return Money(Decimal(total))


# --- skills -----------------------------------------------------------------------------------


def kpi_skills(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> ByFacility:
    ids = list(facility_ids)
    jobs = source("jobs", fresh=fresh)

    def figures(by_facility: bool) -> dict[Any, Any]:
        key, group = grouping(by_facility)
        params = {"ids": ids, "start": start, "end": end}
        return {
            "skills": keyed(
                fetch(
                    sql.SQL("""
                    SELECT {key}, skill, count(*), sum(privacy_key)
                    FROM {jobs}, unnest(skills) AS skill
                    WHERE facility_id = ANY(%(ids)s) AND opened_date BETWEEN %(start)s AND %(end)s
                    GROUP BY {group} skill
                    """).format(key=key, jobs=jobs, group=group),
                    params,
                )
            ),
            "candidates": keyed(
                fetch(
                    sql.SQL("""
                    SELECT {key}, skill, sum(candidates), sum(candidates_keys)
                    FROM {candidate_skills}
                    WHERE facility_id = ANY(%(ids)s) AND registered_date <= %(end)s
                    GROUP BY {group} skill
                    """).format(key=key, candidate_skills=source("candidate_skills", fresh=fresh), group=group),
                    params,
                )
            ),
            "specialties": keyed(
                fetch(
                    sql.SQL("""
                    SELECT {key}, specialty, count(*), avg(bill_rate), sum(privacy_key)
                    FROM {jobs}
                    WHERE facility_id = ANY(%(ids)s) AND opened_date BETWEEN %(start)s AND %(end)s
                    GROUP BY {group} specialty
                    """).format(key=key, jobs=jobs, group=group),
                    params,
                )
            ),
        }

    def build(found: dict[Any, Any], key: Any) -> dict[Any, Any]:
        candidates = {skill: Tally(int(n), int(keys)) for skill, n, keys in found["candidates"].get(key, [])}
        demand = []
        for skill, n, keys in found["skills"].get(key, []):
            jobs_count, supply = Tally(int(n), int(keys)), candidates.get(skill, Tally())
            row = {"skill": skill, "jobs": jobs_count.count(), "candidates": supply.count(),
                   "gap_ratio": jobs_count.rate_of(supply)}  # fmt: skip
            demand.append((skill, row))
        specialties = [
            (specialty, {
                "specialty": specialty,
                "jobs": Count(int(count), int(keys)),
                "mean_bill_rate": Mean(round2(mean) if mean is not None else None, int(count), int(keys)),
            })
            for specialty, count, mean, keys in found["specialties"].get(key, [])
        ]  # fmt: skip
        return {
            "demand": Ranked(demand, by="jobs", limit=20),
            "bill_rate_by_specialty": Ranked(specialties, by="jobs"),
        }

    def rows() -> dict[Any, Any]:
        found = figures(by_facility=True)
        return {key: build(found, key) for key in ids}

    return ByFacility(build(figures(by_facility=False), OVERALL), rows)


# --- performance --------------------------------------------------------------------------------


def kpi_performance(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> ByFacility:
    """By source from the cohort and the hires; by recruiter from ``recruiter_totals`` over every
    facility (whole months, then the days of the partial months at the edges), else from
    ``recruiter_daily``. Every figure is a sum, so both give the same numbers."""
    ids = list(facility_ids)
    scope = {"ids": ids, "start": start, "end": end}

    def figures(by_facility: bool) -> dict[Any, Any]:
        key, group = grouping(by_facility)
        cohort = keyed(
            fetch(
                sql.SQL("""
                SELECT {key}, source, sum(applications),
                       coalesce(sum(applications) FILTER (WHERE furthest_stage = 4), 0),
                       sum(applications_keys), coalesce(sum(applications_keys) FILTER (WHERE furthest_stage = 4), 0)
                FROM {pipeline_cohort}
                WHERE facility_id = ANY(%(ids)s) AND applied_date BETWEEN %(start)s AND %(end)s
                GROUP BY {group} source
                """).format(key=key, pipeline_cohort=source("pipeline_cohort", fresh=fresh), group=group),
                scope,
            )
        )
        speed = keyed(
            fetch(
                sql.SQL("""
                SELECT {key}, source, count(*), avg(seconds_to_hire), sum(privacy_key)
                FROM {hires}
                WHERE facility_id = ANY(%(ids)s) AND applied_date BETWEEN %(start)s AND %(end)s
                GROUP BY {group} source
                """).format(key=key, hires=source("hires", fresh=fresh), group=group),
                scope,
            )
        )
        if not by_facility and covers_every_facility(ids):
            recruiters = _recruiters_everywhere(start, end, fresh=fresh)
        else:
            recruiters = keyed(
                fetch(
                    sql.SQL("""
                    SELECT {key}, actor, sum(status_changes), sum(hires), sum(seconds_to_hire_sum),
                           sum(status_changes_keys), sum(hires_keys)
                    FROM {recruiter_daily}
                    WHERE facility_id = ANY(%(ids)s) AND occurred_date BETWEEN %(start)s AND %(end)s
                    GROUP BY {group} actor
                    """).format(key=key, recruiter_daily=source("recruiter_daily", fresh=fresh), group=group),
                    scope,
                )
            )
        return {"cohort": cohort, "speed": speed, "recruiters": recruiters}

    def rows() -> dict[Any, Any]:
        found = figures(by_facility=True)
        return {key: _performance_metrics(found, key) for key in ids}

    return ByFacility(_performance_metrics(figures(by_facility=False), OVERALL), rows)


def _recruiters_everywhere(start: date, end: date, *, fresh: bool) -> dict[Any, Any]:
    first, after, edges = month_split(start, end)
    conditions = [sql.SQL("(grain = 'month' AND bucket >= %s AND bucket < %s)")]
    params: list[Any] = [first, after]
    for edge_start, edge_end in edges:
        conditions.append(sql.SQL("(grain = 'day' AND bucket BETWEEN %s AND %s)"))
        params += [edge_start, edge_end]
    return keyed(
        fetch(
            sql.SQL("""
            SELECT NULL::bigint, 1, actor, sum(status_changes), sum(hires), sum(seconds_to_hire_sum),
                   sum(status_changes_keys), sum(hires_keys)
            FROM {recruiter_totals}
            WHERE {conditions}
            GROUP BY actor
            """).format(
                recruiter_totals=source("recruiter_totals", fresh=fresh), conditions=sql.SQL(" OR ").join(conditions)
            ),
            params,
        )
    )


def _performance_metrics(found: dict[Any, Any], key: Any) -> dict[Any, Any]:
    mean_by_source = {src: (Tally(int(n), int(keys)), mean) for src, n, mean, keys in found["speed"].get(key, [])}
    by_source = []
    for src, applications, hires, applications_keys, hires_keys in found["cohort"].get(key, []):
        hired, mean = mean_by_source.get(src, (Tally(), None))
        applied, reached = Tally(int(applications), int(applications_keys)), Tally(int(hires), int(hires_keys))
        row = {
            "source": src,
            "applications": applied.count(),
            "hires": reached.count(),
            "hire_rate": reached.rate_of(applied),
            "time_to_hire_days": hired.mean(None if mean is None else round2(float(mean) / SECONDS_PER_DAY)),
        }
        by_source.append((src, row))
    by_recruiter = [
        (actor, {
            "recruiter": actor,
            "status_changes": Count(int(changes), int(changes_keys)),
            "hires": Count(int(hires), int(hires_keys)),
            "time_to_hire_days": Mean(
                round2(float(seconds) / int(hires) / SECONDS_PER_DAY) if hires else None, int(hires), int(hires_keys)
            ),
        })
        for actor, changes, hires, seconds, changes_keys, hires_keys in found["recruiters"].get(key, [])
    ]  # fmt: skip
    return {"by_source": Ranked(by_source, by="hires"), "by_recruiter": Ranked(by_recruiter, by="hires")}
