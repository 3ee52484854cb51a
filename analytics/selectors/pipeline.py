"""Pipeline KPIs (kpis.md, "Pipeline"), read from the materialized views.

The overall figures come from queries over the whole scope, each facility's (for
``group_by=facility``) from the same queries grouped by facility, so medians are computed over
the exact durations (never combined from per-facility medians).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from psycopg import sql

from analytics.privacy import Breakdown, Count, Rate, Tally, round2
from analytics.registry import BY_KEY
from analytics.selectors.base import OVERALL, SECONDS_PER_DAY, ByFacility, covers_every_facility, fetch, keyed
from events.models.records import STAGES, ApplicationStatus

PIPELINE_VIEWS = ["pipeline_cohort", "hires", "hire_histogram", "offers", "jobs"]


def _days(seconds: Any) -> float | None:
    return None if seconds is None else round2(float(seconds) / SECONDS_PER_DAY)


def _grouped(query: sql.Composable, params: list[Any]) -> dict[Any, Any]:
    """One row per key of a query keyed like keyed() reads it (None: the overall row)."""
    return {key: rows[0] for key, rows in keyed(fetch(query, params)).items()}


def kpi_pipeline(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> ByFacility:
    """{facility_id or None: metrics} for the overall answer and each facility with data (the
    facilities' part computed when first read)."""
    ids = list(facility_ids)
    source = {key: BY_KEY[key].source(fresh=fresh) for key in PIPELINE_VIEWS}
    scope = [ids, start, end]

    def figures(by_facility: bool) -> dict[Any, Any]:
        if by_facility:
            key, group, facility = sql.SQL("facility_id, 0"), sql.SQL("GROUP BY facility_id"), sql.SQL("facility_id,")
        else:
            key, group, facility = sql.SQL("NULL::bigint, 1"), sql.SQL(""), sql.SQL("")
        cohort: dict[Any, Any] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        for facility_id, status, stage, count, keys in fetch(
            sql.SQL("""
            SELECT {select} status, furthest_stage, sum(applications), sum(applications_keys)
            FROM {cohort}
            WHERE facility_id = ANY(%s) AND applied_date BETWEEN %s AND %s
            GROUP BY {facility} status, furthest_stage
            """).format(
                select=sql.SQL("facility_id," if by_facility else "NULL::bigint,"),
                facility=facility,
                cohort=source["pipeline_cohort"],
            ),
            scope,
        ):
            tally = cohort[facility_id][(status, stage)]
            tally[0] += int(count)
            tally[1] += int(keys)
        if not by_facility and covers_every_facility(ids):
            hires = {OVERALL: _hires_everywhere(start, end, fresh=fresh)}
        else:
            hires = _grouped(
                sql.SQL("""
                SELECT {key}, count(*), sum(privacy_key), avg(seconds_to_hire),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_hire)
                FROM {source}
                WHERE facility_id = ANY(%s) AND hired_date BETWEEN %s AND %s
                {group}
                """).format(key=key, source=source["hires"], group=group),
                scope,
            )
        offers = _grouped(
            sql.SQL("""
            SELECT {key}, sum(offers) FILTER (WHERE accepted), sum(offers_keys) FILTER (WHERE accepted),
                   sum(offers), sum(offers_keys)
            FROM {source}
            WHERE facility_id = ANY(%s) AND offered_date BETWEEN %s AND %s
            {group}
            """).format(key=key, source=source["offers"], group=group),
            scope,
        )
        opened = _grouped(
            sql.SQL("""
            SELECT {key}, count(*), sum(privacy_key), sum(positions), sum(least(positions, hires))
            FROM {source}
            WHERE facility_id = ANY(%s) AND opened_date BETWEEN %s AND %s
            {group}
            """).format(key=key, source=source["jobs"], group=group),
            scope,
        )
        filled = _grouped(
            sql.SQL("""
            SELECT {key}, count(*), sum(privacy_key), avg(seconds_to_fill),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_fill)
            FROM {source}
            WHERE facility_id = ANY(%s) AND filled_date BETWEEN %s AND %s
            {group}
            """).format(key=key, source=source["jobs"], group=group),
            scope,
        )
        keys = {*cohort, *hires, *offers, *opened, *filled} if by_facility else {OVERALL}
        return {
            key: _metrics(cohort.get(key, {}), hires.get(key), offers.get(key), opened.get(key), filled.get(key))
            for key in keys
        }

    return ByFacility(figures(by_facility=False)[OVERALL], lambda: figures(by_facility=True))


def _metrics(cohort: dict[Any, Any], hires: Any, offers: Any, opened: Any, filled: Any) -> dict[Any, Any]:
    """Counts come with the sums of their records' privacy keys (analytics.privacy): a stage's
    count is a sum of cohort cells, and so is its key. Positions are keyed by their jobs."""
    applications = Tally.total(cohort.values())
    by_status = {status: Tally() for status in ApplicationStatus.values}
    reached = {name: Tally() for name in STAGES}
    for (status, stage), (count, keys) in cohort.items():
        by_status[status].add(count, keys)
        for name, order in STAGES.items():
            if stage >= order:
                reached[name].add(count, keys)
    funnel, previous = [], None
    for name in STAGES:
        funnel.append(
            {
                "stage": name,
                "count": reached[name].count(),
                "conversion": None if previous is None else reached[name].rate_of(previous),
            }
        )
        previous = reached[name]

    hire_count, hire_keys, hire_mean, hire_median = hires or (0, 0, None, None)
    accepted, accepted_keys, offered, offered_keys = offers or (0, 0, 0, 0)
    jobs_opened, opened_keys, positions, filled_positions = opened or (0, 0, 0, 0)
    jobs_filled, filled_keys, fill_mean, fill_median = filled or (0, 0, None, None)
    hired = Tally(int(hire_count), int(hire_keys or 0))
    done = Tally(int(jobs_filled), int(filled_keys or 0))
    opened_jobs_keys = int(opened_keys or 0)
    return {
        "applications": applications.count(),
        "by_status": Breakdown({status: tally.count() for status, tally in by_status.items()}),
        "funnel": funnel,
        "hire_rate": reached["hired"].rate_of(applications),
        "hires": hired.count(),
        "time_to_hire_days": {"mean": hired.mean(_days(hire_mean)), "median": hired.mean(_days(hire_median))},
        "offer_acceptance_rate": Tally(int(accepted or 0), int(accepted_keys or 0)).rate_of(
            Tally(int(offered or 0), int(offered_keys or 0))
        ),
        "jobs_opened": Count(int(jobs_opened), opened_jobs_keys),
        "positions_opened": Count(int(positions or 0), opened_jobs_keys),
        "jobs_filled": done.count(),
        "fill_rate": Rate(int(filled_positions or 0), int(positions or 0), opened_jobs_keys, opened_jobs_keys),
        "time_to_fill_days": {"mean": done.mean(_days(fill_mean)), "median": done.mean(_days(fill_median))},
    }


def empty_pipeline() -> dict[Any, Any]:
    return _metrics({}, None, None, None, None)


def _hires_everywhere(start: date, end: date, *, fresh: bool) -> tuple[int, int, Decimal | None, float | None]:
    """(hires, their keys, mean and exact median seconds to hire) of every hire in the period,
    as the per-hire query over ``hires`` answers them, from ``hire_histogram``: the mean is the
    sum over the count, the median the values at the two middle ranks (as percentile_cont takes
    them), each found in its bucket through the ``(seconds_to_hire, hired_date)`` index."""
    buckets = fetch(
        sql.SQL("""
        SELECT bucket, sum(hires), sum(hires_keys), sum(seconds_sum), min(low), max(high)
        FROM {histogram}
        WHERE hired_date BETWEEN %(start)s AND %(end)s GROUP BY bucket ORDER BY bucket
        """).format(histogram=BY_KEY["hire_histogram"].source(fresh=fresh)),
        {"start": start, "end": end},
    )
    total = sum(int(row[1]) for row in buckets)
    if not total:
        return 0, 0, None, None
    keys = sum(int(row[2]) for row in buckets)
    mean = Decimal(sum(int(row[3]) for row in buckets)) / total
    lower, upper = (total - 1) // 2, total // 2  # 0-based ranks around the middle
    low, high = (_hire_seconds_at(rank, buckets, start, end, fresh=fresh) for rank in (lower, upper))
    return total, keys, mean, low + (high - low) * ((total - 1) / 2 - lower)


def _hire_seconds_at(rank: int, buckets: list[tuple[Any, ...]], start: date, end: date, *, fresh: bool) -> float:
    """The seconds to hire at ``rank`` (0-based, ascending) among the period's hires."""
    before = 0
    for _, hires, _keys, _seconds, low, high in buckets:
        if rank < before + int(hires):
            if low == high:  # one value fills the bucket
                return float(low)
            found = fetch(
                sql.SQL("""
                SELECT seconds_to_hire FROM {hires}
                WHERE seconds_to_hire BETWEEN %(low)s AND %(high)s AND hired_date BETWEEN %(start)s AND %(end)s
                ORDER BY seconds_to_hire OFFSET %(offset)s LIMIT 1
                """).format(hires=BY_KEY["hires"].source(fresh=fresh)),
                {"low": low, "high": high, "start": start, "end": end, "offset": rank - before},
            )
            return float(found[0][0])
        before += int(hires)
    raise AssertionError("rank beyond the hires counted")
