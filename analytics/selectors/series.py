"""Series (trends, the dashboard) and the combined answers (kpis, dashboard, metrics)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from analytics.privacy import Breakdown, Count, Money
from analytics.selectors.areas import kpi_compliance, kpi_engagement, kpi_outreach, kpi_revenue
from analytics.selectors.base import OVERALL, fetch, keyed, month_start, next_month, source, week_start
from analytics.selectors.pipeline import PIPELINE_VIEWS, empty_pipeline, kpi_pipeline

# metric -> (view, date column, value expression, extra condition, is money)
TREND_METRICS: dict[str, tuple[str, str, str, str, bool]] = {
    "applications": ("pipeline_cohort", "applied_date", "sum(applications)", "", False),
    "hires": ("hires", "hired_date", "count(*)", "", False),
    "jobs_opened": ("jobs", "opened_date", "count(*)", "", False),
    "revenue": ("revenue_daily", "issued_date", "sum(revenue)", "", True),
    "sent": ("outreach_daily", "sent_date", "sum(sent)", "", False),
    "replied": ("outreach_daily", "sent_date", "sum(replied)", "", False),
    "checks": ("compliance_daily", "checked_date", "sum(checks)", "", False),
    "violations": ("compliance_daily", "checked_date", "sum(checks)", "AND status = 'violation'", False),
    "active_users": ("actor_days", "local_date", "count(DISTINCT actor)", "", False),
}
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


def kpi_series(
    *, metric: str, facility_ids: list[int], start: date, end: date, granularity: str, fresh: bool = False
) -> dict:
    """{facility_id or None: {bucket day: value}} for one metric, buckets within the period."""
    view, column, value, condition, _ = TREND_METRICS[metric]
    facility_filter = (
        "(facility_id IS NULL OR facility_id = ANY(%(ids)s))" if view == "actor_days" else "facility_id = ANY(%(ids)s)"
    )
    rows = keyed(
        fetch(
            f"""
            SELECT facility_id, GROUPING(facility_id), date_trunc(%(trunc)s, {column})::date AS bucket, {value}
            FROM {source(view, fresh=fresh)}
            WHERE {facility_filter} AND {column} BETWEEN %(start)s AND %(end)s {condition}
            GROUP BY GROUPING SETS ((facility_id, date_trunc(%(trunc)s, {column})), (date_trunc(%(trunc)s, {column})))
            """,  # noqa: S608 - every fragment comes from TREND_METRICS
            {"ids": list(facility_ids), "start": start, "end": end, "trunc": TRUNC[granularity]},
        )
    )
    return {key: dict(values) for key, values in rows.items()}


def series_cells(values: dict, *, metric: str, start: date, end: date, granularity: str) -> Breakdown:
    money = TREND_METRICS[metric][4]
    cells = {}
    for day in buckets(start, end, granularity):
        amount = values.get(day, 0) or 0
        cells[day.isoformat()] = {
            "bucket": bucket_name(day, granularity),
            "value": Money(Decimal(amount)) if money else Count(int(amount)),
        }
    return Breakdown(cells, as_list=True)


def kpi_trends(*, metric: str, facility_ids: list[int], start: date, end: date, granularity: str, fresh=False) -> dict:
    series = kpi_series(
        metric=metric, facility_ids=facility_ids, start=start, end=end, granularity=granularity, fresh=fresh
    )
    keys = {OVERALL, *facility_ids}
    return {
        key: {
            "metric": metric,
            "granularity": granularity,
            "series": series_cells(series.get(key, {}), metric=metric, start=start, end=end, granularity=granularity),
        }
        for key in keys
    }


HEADLINE_VIEWS = [*PIPELINE_VIEWS, "compliance_daily", "revenue_daily", "placements", "outreach_daily",
                  "outreach_replies", "candidate_contacts", "candidate_applications", "actor_days",
                  "event_types_daily"]  # fmt: skip


def kpi_headline(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> dict:
    args = {"facility_ids": facility_ids, "start": start, "end": end, "fresh": fresh}
    pipeline, compliance = kpi_pipeline(**args), kpi_compliance(**args)
    revenue, outreach = kpi_revenue(**args), kpi_outreach(**args, by_facility=by_facility)
    engagement = kpi_engagement(**args, by_facility=by_facility)
    result = {}
    for key in {OVERALL, *facility_ids}:
        p = pipeline.get(key) or empty_pipeline()
        c, r, o, e = (area.get(key) for area in (compliance, revenue, outreach, engagement))
        result[key] = {
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
    return result


DASHBOARD_SERIES = ["applications", "hires", "revenue", "replied"]


def kpi_dashboard(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> dict:
    headline = kpi_headline(facility_ids=facility_ids, start=start, end=end, fresh=fresh, by_facility=by_facility)
    series = {
        metric: kpi_series(
            metric=metric, facility_ids=facility_ids, start=start, end=end, granularity="day", fresh=fresh
        )
        for metric in DASHBOARD_SERIES
    }
    for key, metrics in headline.items():
        cells = {}
        for day in buckets(start, end, "day"):
            cell = {"date": day.isoformat()}
            for metric in DASHBOARD_SERIES:
                amount = series[metric].get(key, {}).get(day, 0) or 0
                name = "replies" if metric == "replied" else metric
                cell[name] = Money(Decimal(amount)) if metric == "revenue" else Count(int(amount))
            cells[day.isoformat()] = cell
        metrics["daily"] = Breakdown(cells, as_list=True)
    return headline


METRIC_TYPES = ("time_to_hire", "fill_rate", "candidate_pipeline")


def kpi_metrics(*, facility_ids: list[int], start: date, end: date, types: list[str], fresh: bool = False) -> dict:
    pipeline = kpi_pipeline(facility_ids=facility_ids, start=start, end=end, fresh=fresh)
    result = {}
    for key in {OVERALL, *facility_ids}:
        p = pipeline.get(key) or empty_pipeline()
        by_status = p["by_status"].cells
        answer = {
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
        result[key] = {name: value for name, value in answer.items() if name in types}
    return result
