"""Series (trends, the dashboard) and the combined answers (kpis, dashboard, metrics)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, LiteralString

from django.conf import settings
from psycopg import sql

from analytics.privacy import Breakdown, Count, Money
from analytics.selectors import hourly
from analytics.selectors.areas import (
    ENGAGEMENT_VIEWS,
    OUTREACH_VIEWS,
    REVENUE_VIEWS,
    engagement_headline,
    kpi_compliance,
    kpi_engagement,
    kpi_outreach,
    kpi_revenue,
    outreach_response_rate,
    revenue_total,
)
from analytics.selectors.base import (
    OVERALL,
    ByFacility,
    fetch,
    grouping,
    keyed,
    month_start,
    next_month,
    source,
    week_start,
)
from analytics.selectors.pipeline import PIPELINE_VIEWS, empty_pipeline, kpi_pipeline

# metric -> (view, date column, value expression, extra condition, is money, privacy key expression).
# Distinct actors are keyed by the sum of their distinct keys (a function of the set of actors).
TREND_METRICS: dict[str, tuple[str, str, LiteralString, LiteralString, bool, LiteralString]] = {
    "applications": ("pipeline_cohort", "applied_date", "sum(applications)", "", False, "sum(applications_keys)"),
    "hires": ("hires_daily", "hired_date", "sum(hires)", "", False, "sum(hires_keys)"),
    "jobs_opened": ("jobs", "opened_date", "count(*)", "", False, "sum(privacy_key)"),
    "revenue": ("revenue_days", "issued_date", "sum(revenue)", "", True, "0"),
    "sent": ("outreach_daily", "sent_date", "sum(sent)", "", False, "sum(sent_keys)"),
    "replied": ("outreach_daily", "sent_date", "sum(replied)", "", False, "sum(replied_keys)"),
    "checks": ("compliance_daily", "checked_date", "sum(checks)", "", False, "sum(checks_keys)"),
    "violations": ("compliance_daily", "checked_date", "sum(checks)", "AND status = 'violation'", False,
                   "sum(checks_keys)"),
    "active_users": ("actor_days", "local_date", "count(DISTINCT actor)", "", False, "sum(DISTINCT actor_key)"),
}  # fmt: skip
TRUNC = {"day": "day", "week": "week", "month": "month"}


def buckets(start: date, end: date, granularity: str) -> list[date]:
    """Every bucket the period touches, named by its first day."""
    if granularity == "day":
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]
    if granularity == "week":
        first, step = week_start(start), timedelta(weeks=1)
        return [first + step * n for n in range(((end - first).days // 7) + 1)]
    result, month = [], month_start(start)
    while month <= end:
        result.append(month)
        month = next_month(month)
    return result


def bucket_name(day: date, granularity: str) -> str:
    return day.strftime("%Y-%m") if granularity == "month" else day.isoformat()


def trend_views(metric: str) -> list[str]:
    return [TREND_METRICS[metric][0]]


def _series(
    metric: str, facility_ids: list[int], start: date, end: date, granularity: str, *, fresh: bool, by_facility: bool
) -> dict[Any, Any]:
    """kpi_series, overall only or per facility only: {key: {bucket: (value, privacy key)}}."""
    view, column, value, condition, _, privacy_key = TREND_METRICS[metric]
    facility_filter = sql.SQL("facility_id = ANY(%(ids)s)")
    if view == "actor_days" and not by_facility:
        facility_filter = sql.SQL("(facility_id IS NULL OR facility_id = ANY(%(ids)s))")
    key, group = grouping(by_facility)
    day = sql.Identifier(column)
    bucket = day if granularity == "day" else sql.SQL("date_trunc(%(trunc)s, {})::date").format(day)
    rows = keyed(
        fetch(
            sql.SQL("""
            SELECT {key}, {bucket} AS bucket, {value}, {privacy_key}
            FROM {source}
            WHERE {facility_filter} AND {day} BETWEEN %(start)s AND %(end)s {condition}
            GROUP BY {group} {bucket}
            """).format(
                key=key,
                bucket=bucket,
                value=sql.SQL(value),
                privacy_key=sql.SQL(privacy_key),
                source=source(view, fresh=fresh),
                facility_filter=facility_filter,
                day=day,
                condition=sql.SQL(condition),
                group=group,
            ),
            {"ids": list(facility_ids), "start": start, "end": end, "trunc": TRUNC[granularity]},
        )
    )
    return {key: {bucket: (amount, keys) for bucket, amount, keys in values} for key, values in rows.items()}


def _cell_value(found: tuple[Any, ...] | None, *, money: bool) -> Count | Money:
    amount, keys = found or (0, 0)
    return Money(Decimal(amount or 0)) if money else Count(int(amount or 0), int(keys or 0))


def series_cells(values: dict[Any, Any], *, metric: str, start: date, end: date, granularity: str) -> Breakdown:
    money = TREND_METRICS[metric][4]
    cells = {}
    for day in buckets(start, end, granularity):
        cells[day.isoformat()] = {
            "bucket": bucket_name(day, granularity),
            "value": _cell_value(values.get(day), money=money),
        }
    return Breakdown(cells, as_list=True)


def kpi_trends(
    *,
    metric: str,
    facility_ids: list[int],
    start: date,
    end: date,
    granularity: str,
    fresh: bool = False,
    time_zones: tuple[str, ...] = (),
) -> ByFacility:
    """One metric's series: each facility's local days, ISO weeks or months from the views, or
    hours from the records (analytics.selectors.hourly)."""
    if granularity == "hour":
        return _hourly_trends(metric=metric, facility_ids=facility_ids, start=start, end=end, time_zones=time_zones)
    args: dict[str, Any] = {"metric": metric, "start": start, "end": end, "granularity": granularity}

    def answer(values: dict[Any, Any]) -> dict[Any, Any]:
        return {"metric": metric, "granularity": granularity, "series": series_cells(values, **args)}

    def rows() -> dict[Any, Any]:
        found = _series(metric, facility_ids, start, end, granularity, fresh=fresh, by_facility=True)
        return {key: answer(found.get(key, {})) for key in facility_ids}

    overall = _series(metric, facility_ids, start, end, granularity, fresh=fresh, by_facility=False)
    return ByFacility(answer(overall.get(OVERALL, {})), rows)


def _hourly_trends(
    *, metric: str, facility_ids: list[int], start: date, end: date, time_zones: tuple[str, ...]
) -> ByFacility:
    # No facility asked about: the reporting zone's hours (events of no facility are dated in it).
    zone, starts, after = hourly.hours(start, end, time_zones or (settings.REPORTING_TIME_ZONE,))
    money = TREND_METRICS[metric][4]

    def answer(values: dict[Any, Any]) -> dict[Any, Any]:
        cells = {}
        for hour in starts:
            name = hourly.hour_name(hour)
            cells[name] = {"bucket": name, "value": _cell_value(values.get(hour), money=money)}
        series = Breakdown(cells, as_list=True)
        return {"metric": metric, "granularity": "hour", "time_zone": zone, "series": series}

    def rows() -> dict[Any, Any]:
        found = hourly.hourly(metric, facility_ids, start, end, starts, after, by_facility=True)
        return {key: answer(found.get(key, {})) for key in facility_ids}

    overall = hourly.hourly(metric, facility_ids, start, end, starts, after, by_facility=False)
    return ByFacility(answer(overall.get(OVERALL, {})), rows)


HEADLINE_VIEWS = [*PIPELINE_VIEWS, "compliance_daily", *REVENUE_VIEWS, *OUTREACH_VIEWS, *ENGAGEMENT_VIEWS]
DASHBOARD_VIEWS = [*HEADLINE_VIEWS, "hires_daily"]  # its daily hires series


def kpi_headline(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> ByFacility:
    """The overall figures read only what they need (no medians, conversion, retention or event
    types); each facility's, when read, come from the area selectors themselves."""
    args: dict[str, Any] = {"facility_ids": facility_ids, "start": start, "end": end, "fresh": fresh}
    pipeline, compliance = kpi_pipeline(**args), kpi_compliance(**args)
    engagement = engagement_headline(**args)
    overall = _headline(
        pipeline.get(OVERALL),
        compliance.get(OVERALL),
        {"total_revenue": revenue_total(**args)},
        {"response_rate": outreach_response_rate(**args)},
        engagement,
    )

    def rows() -> dict[Any, Any]:
        revenue, outreach = kpi_revenue(**args), kpi_outreach(**args, by_facility=by_facility)
        engagement = kpi_engagement(**args, by_facility=by_facility)
        areas = (pipeline, compliance, revenue, outreach, engagement)
        return {key: _headline(*(area.get(key) for area in areas)) for key in facility_ids}

    return ByFacility(overall, rows)


def _headline(p: Any, c: Any, r: Any, o: Any, e: Any) -> dict[Any, Any]:
    p = p or empty_pipeline()
    return {
        "applications": p["applications"],
        "hires": p["hires"],
        "hire_rate": p["hire_rate"],
        "time_to_hire_days": p["time_to_hire_days"]["mean"],
        "fill_rate": p["fill_rate"],
        "time_to_fill_days": p["time_to_fill_days"]["mean"],
        "compliance_rate": c["compliance_rate"] if c else None,
        "total_revenue": r["total_revenue"] if r else Money(0),
        "response_rate": o["response_rate"] if o else None,
        "dau": e["dau"] if e else None,
        "mau": e["mau"] if e else Count(0),
    }


DASHBOARD_SERIES = ["applications", "hires", "revenue", "replied"]


def kpi_dashboard(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> ByFacility:
    headline = kpi_headline(facility_ids=facility_ids, start=start, end=end, fresh=fresh, by_facility=by_facility)
    days = buckets(start, end, "day")

    def series(*, by_facility: bool) -> dict[Any, Any]:
        return {
            metric: _series(metric, facility_ids, start, end, "day", fresh=fresh, by_facility=by_facility)
            for metric in DASHBOARD_SERIES
        }

    def daily(found: dict[Any, Any], key: Any) -> Breakdown:
        cells = {}
        for day in days:
            cell: dict[str, Any] = {"date": day.isoformat()}
            for metric in DASHBOARD_SERIES:
                name = "replies" if metric == "replied" else metric
                cell[name] = _cell_value(found[metric].get(key, {}).get(day), money=metric == "revenue")
            cells[day.isoformat()] = cell
        return Breakdown(cells, as_list=True)

    def rows() -> dict[Any, Any]:
        found = series(by_facility=True)
        return {key: {**headline[key], "daily": daily(found, key)} for key in facility_ids}

    return ByFacility({**headline[OVERALL], "daily": daily(series(by_facility=False), OVERALL)}, rows)


METRIC_TYPES = ("time_to_hire", "fill_rate", "candidate_pipeline")


def kpi_metrics(
    *, facility_ids: list[int], start: date, end: date, types: list[str], fresh: bool = False
) -> ByFacility:
    pipeline = kpi_pipeline(facility_ids=facility_ids, start=start, end=end, fresh=fresh)

    def answer(key: Any) -> dict[Any, Any]:
        p = pipeline.get(key) or empty_pipeline()
        by_status = p["by_status"].cells
        metrics = {
            "time_to_hire": p["time_to_hire_days"]["mean"],
            "fill_rate": p["fill_rate"],
            "candidate_pipeline": Breakdown(
                {
                    "new": by_status["applied"],
                    "screening": by_status["screening"],
                    "interviewing": by_status["interviewing"],
                    "offered": by_status["offered"],
                }
            ),
        }
        return {name: value for name, value in metrics.items() if name in types}

    return ByFacility(answer(OVERALL), lambda: {key: answer(key) for key in facility_ids})
