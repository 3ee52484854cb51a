"""Engagement (kpis.md, "Engagement"): active users by actor, events by type, retention.

Distinct actors are exact. The daily counts come from ``actor_day_sets`` (actors per day by the
set of facilities they were active at), so the DAU of any scope is a sum over a few thousand
rows. Over every facility, the distinct actors of a window (the period, WAU, MAU) are the
actor-days in it whose previous active day is before it, also a sum. A narrower scope, the rows of
``group_by=facility`` and retention read ``actor_spans``: one row per actor and facility (or none)
whose active days are a multirange, so a window's actors are the rows overlapping it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from psycopg import sql

from analytics.privacy import Count, PerUnit, Ranked, Tally
from analytics.selectors.base import (
    OVERALL,
    ByFacility,
    covers_every_facility,
    days_in,
    fetch,
    keyed,
    source,
)

ENGAGEMENT_VIEWS = ["actor_days", "actor_day_sets", "actor_spans", "event_types_daily"]
IN_SCOPE = sql.SQL("(facility_id IS NULL OR facility_id = ANY(%(ids)s))")  # an event's facility, or none
# Over one actor's active days (a multirange): how many fall in the period, and whether any falls
# in the week and the month ending with it.
_DAYS_IN_PERIOD = sql.SQL("""(SELECT coalesce(sum(upper(span) - lower(span)), 0)
                      FROM unnest(days * datemultirange(daterange(%(start)s, %(end)s, '[]'))) AS span)""")
_WINDOWS = sql.SQL("""count(*) FILTER (WHERE days && daterange(%(week)s, %(end)s, '[]')),
               coalesce(sum(actor_key) FILTER (WHERE days && daterange(%(week)s, %(end)s, '[]')), 0),
               count(*) FILTER (WHERE days && daterange(%(month)s, %(end)s, '[]')),
               coalesce(sum(actor_key) FILTER (WHERE days && daterange(%(month)s, %(end)s, '[]')), 0)""")


def kpi_engagement(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> ByFacility:
    """Actors of events with no facility or one in scope; a row (group_by) counts only that
    facility's events."""
    ids = list(facility_ids)
    scope = {"ids": ids, "start": start, "end": end, "week": end - timedelta(days=6), "month": end - timedelta(days=29)}
    overall = _overall_activity(scope, fresh=fresh)
    types = _event_types(scope, fresh=fresh, by_facility=False)
    retention = _retention(scope, fresh=fresh)
    period_days = days_in(start, end)

    def build(activity: tuple[Any, ...], type_rows: list[Any], cohorts: list[Any]) -> dict[Any, Any]:
        actor_days, period_actors, wau, mau = activity
        return {
            # A mean of daily distinct actors; hidden when the period's actors are too few.
            "dau": PerUnit(actor_days.n, actor_days.keys, period_days, period_actors.n, period_actors.keys),
            "wau": wau.count(),
            "mau": mau.count(),
            "stickiness": PerUnit(actor_days.n, actor_days.keys, period_days, mau.n, mau.keys, per_n=True),
            "events_by_type": Ranked(
                [(event_type, Count(int(n), int(keys))) for event_type, n, keys in type_rows], limit=20, as_dict=True
            ),
            "retention": cohorts,
        }

    def rows() -> dict[Any, Any]:
        if not by_facility:
            return {}
        activity = _facility_activity(scope, fresh=fresh)
        facility_types = _event_types(scope, fresh=fresh, by_facility=True)
        nothing = (Tally(), Tally(), Tally(), Tally())
        return {key: build(activity.get(key, nothing), facility_types.get(key, []), []) for key in ids}

    return ByFacility(build(overall, types.get(OVERALL, []), retention), rows)


def engagement_headline(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> dict[Any, Any]:
    """The overall ``dau`` and ``mau`` of kpi_engagement alone (the headline needs no more)."""
    scope = {
        "ids": list(facility_ids),
        "start": start,
        "end": end,
        "week": end - timedelta(days=6),
        "month": end - timedelta(days=29),
    }
    actor_days, period_actors, _, mau = _overall_activity(scope, fresh=fresh)
    return {
        "dau": PerUnit(actor_days.n, actor_days.keys, days_in(start, end), period_actors.n, period_actors.keys),
        "mau": mau.count(),
    }


def _overall_activity(scope: dict[Any, Any], *, fresh: bool) -> tuple[Tally, Tally, Tally, Tally]:
    """(actor-days in the period, actors in the period, WAU, MAU) over the scope, each with the
    sum of its actors' keys (an actor-day is keyed by its actor)."""
    sets = source("actor_day_sets", fresh=fresh)
    first = min(scope["start"], scope["month"])
    if covers_every_facility(scope["ids"]):
        # Every actor-day is in scope: a window's actors are its actor-days with no earlier one in it.
        row = fetch(
            sql.SQL("""
            SELECT coalesce(sum(actors) FILTER (WHERE local_date >= %(start)s), 0),
                   coalesce(sum(actors_keys) FILTER (WHERE local_date >= %(start)s), 0),
                   coalesce(sum(actors) FILTER (WHERE local_date >= %(start)s
                                                  AND (prev_date IS NULL OR prev_date < %(start)s)), 0),
                   coalesce(sum(actors_keys) FILTER (WHERE local_date >= %(start)s
                                                       AND (prev_date IS NULL OR prev_date < %(start)s)), 0),
                   coalesce(sum(actors) FILTER (WHERE local_date >= %(week)s
                                                  AND (prev_date IS NULL OR prev_date < %(week)s)), 0),
                   coalesce(sum(actors_keys) FILTER (WHERE local_date >= %(week)s
                                                       AND (prev_date IS NULL OR prev_date < %(week)s)), 0),
                   coalesce(sum(actors) FILTER (WHERE local_date >= %(month)s
                                                  AND (prev_date IS NULL OR prev_date < %(month)s)), 0),
                   coalesce(sum(actors_keys) FILTER (WHERE local_date >= %(month)s
                                                       AND (prev_date IS NULL OR prev_date < %(month)s)), 0)
            FROM {sets}
            WHERE local_date BETWEEN %(first)s AND %(end)s
            """).format(sets=sets),
            {**scope, "first": first},
        )[0]
        return _activity(row)
    # A narrower scope: one row per actor and facility (or none), its active days a multirange.
    row = fetch(
        sql.SQL("""
        SELECT coalesce(sum(n), 0), coalesce(sum(n * actor_key), 0),
               count(*) FILTER (WHERE n > 0), coalesce(sum(actor_key) FILTER (WHERE n > 0), 0),
               {windows}
        FROM (
            SELECT {days_in_period} AS n, actor_key, days
            FROM (SELECT actor, min(actor_key) AS actor_key, range_agg(days) AS days
                  FROM {spans}
                  WHERE {in_scope} AND days && daterange(%(first)s, %(end)s, '[]')
                  GROUP BY actor) scoped
        ) actors
        """).format(
            windows=_WINDOWS,
            days_in_period=_DAYS_IN_PERIOD,
            spans=source("actor_spans", fresh=fresh),
            in_scope=IN_SCOPE,
        ),
        {**scope, "first": first},
    )[0]
    return _activity(row)


def _activity(row: Any) -> tuple[Tally, Tally, Tally, Tally]:
    """Four (count, key sum) pairs in a row: actor-days, actors in the period, WAU, MAU."""
    values = [int(value or 0) for value in row]
    return tuple(Tally(values[i], values[i + 1]) for i in range(0, 8, 2))  # type: ignore[return-value]


def _facility_activity(scope: dict[Any, Any], *, fresh: bool) -> dict[Any, Any]:
    """{facility id: (actor-days, actors in the period, WAU, MAU)} counting that facility's events."""
    first = min(scope["start"], scope["month"])
    figures = {}
    for facility_id, *values in fetch(
        sql.SQL("""
        SELECT facility_id, sum(n), sum(n * actor_key), count(*) FILTER (WHERE n > 0),
               coalesce(sum(actor_key) FILTER (WHERE n > 0), 0), {windows}
        FROM (
            SELECT facility_id, {days_in_period} AS n, actor_key, days
            FROM {spans}
            WHERE facility_id = ANY(%(ids)s) AND days && daterange(%(first)s, %(end)s, '[]')
        ) actors
        GROUP BY facility_id
        """).format(windows=_WINDOWS, days_in_period=_DAYS_IN_PERIOD, spans=source("actor_spans", fresh=fresh)),
        {**scope, "first": first},
    ):
        figures[facility_id] = _activity(values)
    return figures


def _event_types(scope: dict[Any, Any], *, fresh: bool, by_facility: bool) -> dict[Any, Any]:
    if by_facility:
        key, group, facility_filter = (
            sql.SQL("facility_id, 0"),
            sql.SQL("facility_id, type"),
            sql.SQL("facility_id = ANY(%(ids)s)"),
        )
    else:
        key, group, facility_filter = sql.SQL("NULL::bigint, 1"), sql.SQL("type"), IN_SCOPE
    return keyed(
        fetch(
            sql.SQL("""
            SELECT {key}, type, sum(events), sum(events_keys)
            FROM {source}
            WHERE {facility_filter} AND local_date BETWEEN %(start)s AND %(end)s
            GROUP BY {group}
            """).format(
                key=key, source=source("event_types_daily", fresh=fresh), facility_filter=facility_filter, group=group
            ),
            scope,
        )
    )


def _retention(scope: dict[Any, Any], *, fresh: bool) -> list[dict[Any, Any]]:
    """Weekly cohorts by the ISO week of each actor's first event ever (in scope), for weeks
    starting in the period; r_k = the share of the cohort active in week +k."""
    later_weeks = sql.SQL(", ").join(
        sql.SQL("days && daterange(week + {}, week + {})").format(sql.Literal(7 * k), sql.Literal(7 * k + 7))
        for k in range(1, 5)
    )
    members = fetch(
        sql.SQL("""
        SELECT week, actor_key, {later_weeks}
        FROM (SELECT actor, date_trunc('week', min(first_date))::date AS week, min(actor_key) AS actor_key,
                     range_agg(days) AS days
              FROM {spans} WHERE {in_scope} GROUP BY actor) actors
        WHERE week BETWEEN %(start)s AND %(end)s
        """).format(later_weeks=later_weeks, spans=source("actor_spans", fresh=fresh), in_scope=IN_SCOPE),
        scope,
    )
    cohorts = defaultdict(list)
    for week, actor_key, *retained in members:
        cohorts[week].append((int(actor_key), retained))
    result = []
    for week in sorted(cohorts):
        members = cohorts[week]
        size = Tally.total((1, key) for key, _ in members)
        iso = week.isocalendar()
        result.append(
            {
                "week": f"{iso.year}-W{iso.week:02d}",
                "size": size.count(),
                "retained": [
                    Tally.total((1, key) for key, retained in members if retained[k]).rate_of(size) for k in range(4)
                ],
            }
        )
    return result
