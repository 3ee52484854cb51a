"""Pipeline KPIs (kpis.md, "Pipeline"), read from the materialized views.

The overall figures come from queries over the whole scope, each facility's (for
``group_by=facility``) from the same queries grouped by facility, so medians are computed over
the exact durations (never combined from per-facility medians).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from analytics.privacy import Breakdown, Count, Mean, Rate, round2
from analytics.registry import BY_KEY
from analytics.selectors.base import OVERALL, SECONDS_PER_DAY, ByFacility, fetch, keyed
from events.models.records import STAGES, ApplicationStatus

PIPELINE_VIEWS = ["pipeline_cohort", "hires", "offers", "jobs"]


def _days(seconds) -> float | None:
    return None if seconds is None else round2(float(seconds) / SECONDS_PER_DAY)


def _grouped(sql: str, params: list) -> dict:
    """One row per key of a query keyed like keyed() reads it (None: the overall row)."""
    return {key: rows[0] for key, rows in keyed(fetch(sql, params)).items()}


def kpi_pipeline(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> dict:
    """{facility_id or None: metrics} for the overall answer and each facility with data (the
    facilities' part computed when first read)."""
    ids = list(facility_ids)
    source = {key: BY_KEY[key].source(fresh=fresh) for key in PIPELINE_VIEWS}
    scope = [ids, start, end]

    def figures(by_facility: bool) -> dict:
        key, group = ("facility_id, 0", "GROUP BY facility_id") if by_facility else ("NULL::bigint, 1", "")
        cohort: dict = defaultdict(lambda: defaultdict(int))
        for facility_id, status, stage, count in fetch(
            f"""
            SELECT {"facility_id" if by_facility else "NULL::bigint"}, status, furthest_stage, sum(applications)
            FROM {source["pipeline_cohort"]}
            WHERE facility_id = ANY(%s) AND applied_date BETWEEN %s AND %s
            GROUP BY {"facility_id," if by_facility else ""} status, furthest_stage
            """,  # noqa: S608 - view names come from the registry
            scope,
        ):
            cohort[facility_id][(status, stage)] += int(count)
        hires = _grouped(
            f"""
            SELECT {key}, count(*), avg(seconds_to_hire),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_hire)
            FROM {source["hires"]}
            WHERE facility_id = ANY(%s) AND hired_date BETWEEN %s AND %s
            {group}
            """,  # noqa: S608
            scope,
        )
        offers = _grouped(
            f"""
            SELECT {key}, sum(offers) FILTER (WHERE accepted), sum(offers)
            FROM {source["offers"]}
            WHERE facility_id = ANY(%s) AND offered_date BETWEEN %s AND %s
            {group}
            """,  # noqa: S608
            scope,
        )
        opened = _grouped(
            f"""
            SELECT {key}, count(*), sum(positions), sum(least(positions, hires))
            FROM {source["jobs"]}
            WHERE facility_id = ANY(%s) AND opened_date BETWEEN %s AND %s
            {group}
            """,  # noqa: S608
            scope,
        )
        filled = _grouped(
            f"""
            SELECT {key}, count(*), avg(seconds_to_fill),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_fill)
            FROM {source["jobs"]}
            WHERE facility_id = ANY(%s) AND filled_date BETWEEN %s AND %s
            {group}
            """,  # noqa: S608
            scope,
        )
        keys = {*cohort, *hires, *offers, *opened, *filled} if by_facility else {OVERALL}
        return {
            key: _metrics(cohort.get(key, {}), hires.get(key), offers.get(key), opened.get(key), filled.get(key))
            for key in keys
        }

    return ByFacility(figures(by_facility=False)[OVERALL], lambda: figures(by_facility=True))


def _metrics(cohort: dict, hires, offers, opened, filled) -> dict:
    applications = sum(cohort.values())
    by_status = dict.fromkeys(ApplicationStatus.values, 0)
    reached = dict.fromkeys(STAGES, 0)
    for (status, stage), count in cohort.items():
        by_status[status] += count
        for name, order in STAGES.items():
            if stage >= order:
                reached[name] += count
    funnel, previous = [], None
    for name in STAGES:
        funnel.append(
            {
                "stage": name,
                "count": Count(reached[name]),
                "conversion": None if previous is None else Rate(reached[name], previous),
            }
        )
        previous = reached[name]

    hire_count, hire_mean, hire_median = hires or (0, None, None)
    accepted, offered = offers or (0, 0)
    jobs_opened, positions, filled_positions = opened or (0, 0, 0)
    jobs_filled, fill_mean, fill_median = filled or (0, None, None)
    return {
        "applications": Count(applications),
        "by_status": Breakdown({status: Count(count) for status, count in by_status.items()}),
        "funnel": funnel,
        "hire_rate": Rate(reached["hired"], applications),
        "hires": Count(int(hire_count)),
        "time_to_hire_days": {
            "mean": Mean(_days(hire_mean), int(hire_count)),
            "median": Mean(_days(hire_median), int(hire_count)),
        },
        "offer_acceptance_rate": Rate(int(accepted or 0), int(offered or 0)),
        "jobs_opened": Count(int(jobs_opened)),
        "positions_opened": Count(int(positions or 0)),
        "jobs_filled": Count(int(jobs_filled)),
        "fill_rate": Rate(int(filled_positions or 0), int(positions or 0)),
        "time_to_fill_days": {
            "mean": Mean(_days(fill_mean), int(jobs_filled)),
            "median": Mean(_days(fill_median), int(jobs_filled)),
        },
    }


def empty_pipeline() -> dict:
    return _metrics({}, None, None, None, None)
