"""Engagement (kpis.md, "Engagement"): active users by actor, events by type, retention.

Distinct actors are exact. The daily counts come from ``actor_day_sets`` (actors per day by the
set of facilities they were active at), so the DAU of any scope is a sum over a few thousand
rows. Over every facility, the distinct actors of a window (the period, WAU, MAU) are the
actor-days in it whose previous active day is before it, also a sum; a narrower scope counts
them over ``actor_days``. Retention starts from ``actor_first_seen``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from analytics.privacy import Count, PerUnit, Ranked, Tally
from analytics.selectors.base import (
    OVERALL,
    ByFacility,
    covers_every_facility,
    days_in,
    fetch,
    keyed,
    source,
    week_start,
)

ENGAGEMENT_VIEWS = ["actor_days", "actor_day_sets", "actor_first_seen", "event_types_daily"]
IN_SCOPE = "(facility_id IS NULL OR facility_id = ANY(%(ids)s))"  # an event's facility, or none


def kpi_engagement(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> dict:
    """Actors of events with no facility or one in scope; a row (group_by) counts only that
    facility's events."""
    ids = list(facility_ids)
    scope = {"ids": ids, "start": start, "end": end, "week": end - timedelta(days=6), "month": end - timedelta(days=29)}
    overall = _overall_activity(scope, fresh=fresh)
    types = _event_types(scope, fresh=fresh, by_facility=False)
    retention = _retention(scope, fresh=fresh)
    period_days = days_in(start, end)

    def build(activity: tuple, type_rows: list, cohorts: list) -> dict:
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

    def rows() -> dict:
        if not by_facility:
            return {}
        activity = _facility_activity(scope, fresh=fresh)
        facility_types = _event_types(scope, fresh=fresh, by_facility=True)
        nothing = (Tally(), Tally(), Tally(), Tally())
        return {key: build(activity.get(key, nothing), facility_types.get(key, []), []) for key in ids}

    return ByFacility(build(overall, types.get(OVERALL, []), retention), rows)


def engagement_headline(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> dict:
    """The overall ``dau`` and ``mau`` of kpi_engagement alone (the headline needs no more)."""
    scope = {"ids": list(facility_ids), "start": start, "end": end, "week": end - timedelta(days=6),
             "month": end - timedelta(days=29)}  # fmt: skip
    actor_days, period_actors, _, mau = _overall_activity(scope, fresh=fresh)
    return {
        "dau": PerUnit(actor_days.n, actor_days.keys, days_in(start, end), period_actors.n, period_actors.keys),
        "mau": mau.count(),
    }


def _overall_activity(scope: dict, *, fresh: bool) -> tuple[Tally, Tally, Tally, Tally]:
    """(actor-days in the period, actors in the period, WAU, MAU) over the scope, each with the
    sum of its actors' keys (an actor-day is keyed by its actor)."""
    sets = source("actor_day_sets", fresh=fresh)
    first = min(scope["start"], scope["month"])
    if covers_every_facility(scope["ids"]):
        # Every actor-day is in scope: a window's actors are its actor-days with no earlier one in it.
        row = fetch(
            f"""
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
            """,  # noqa: S608 - view names come from the registry
            {**scope, "first": first},
        )[0]
        values = [int(value) for value in row]
        return tuple(Tally(values[i], values[i + 1]) for i in range(0, 8, 2))  # type: ignore[return-value]
    actor_days = fetch(
        f"""
        SELECT coalesce(sum(actors), 0), coalesce(sum(actors_keys), 0) FROM {sets}
        WHERE local_date BETWEEN %(start)s AND %(end)s AND (unscoped OR facility_ids && %(ids)s::bigint[])
        """,  # noqa: S608
        scope,
    )[0]
    days = source("actor_days", fresh=fresh)
    period_actors = fetch(
        f"""
        SELECT count(*), coalesce(sum(actor_key), 0)
        FROM (SELECT actor, min(actor_key) AS actor_key FROM {days}
              WHERE {IN_SCOPE} AND local_date BETWEEN %(start)s AND %(end)s GROUP BY actor) active
        """,  # noqa: S608
        scope,
    )[0]
    wau, wau_keys, mau, mau_keys = fetch(
        f"""
        SELECT count(*) FILTER (WHERE last_day >= %(week)s),
               coalesce(sum(actor_key) FILTER (WHERE last_day >= %(week)s), 0), count(*), coalesce(sum(actor_key), 0)
        FROM (SELECT actor, max(local_date) AS last_day, min(actor_key) AS actor_key FROM {days}
              WHERE {IN_SCOPE} AND local_date BETWEEN %(month)s AND %(end)s GROUP BY actor) recent
        """,  # noqa: S608
        scope,
    )[0]
    return (
        Tally(int(actor_days[0]), int(actor_days[1])),
        Tally(int(period_actors[0]), int(period_actors[1])),
        Tally(int(wau), int(wau_keys)),
        Tally(int(mau), int(mau_keys)),
    )


def _facility_activity(scope: dict, *, fresh: bool) -> dict:
    """{facility id: (actor-days, actors in the period, WAU, MAU)} counting that facility's events."""
    figures: dict = defaultdict(lambda: [Tally(), Tally(), Tally(), Tally()])
    for facility_id, actor_days, keys in fetch(
        f"""
        SELECT facility_id, sum(actors), sum(actors_keys)
        FROM {source("actor_day_sets", fresh=fresh)}, unnest(facility_ids) AS facility_id
        WHERE local_date BETWEEN %(start)s AND %(end)s AND facility_id = ANY(%(ids)s)
        GROUP BY facility_id
        """,  # noqa: S608
        scope,
    ):
        figures[facility_id][0] = Tally(int(actor_days), int(keys))
    days = source("actor_days", fresh=fresh)
    for facility_id, actors, keys in fetch(
        f"""
        SELECT facility_id, count(*), sum(actor_key)
        FROM (SELECT facility_id, actor, min(actor_key) AS actor_key FROM {days}
              WHERE facility_id = ANY(%(ids)s) AND local_date BETWEEN %(start)s AND %(end)s
              GROUP BY facility_id, actor) a
        GROUP BY facility_id
        """,  # noqa: S608
        scope,
    ):
        figures[facility_id][1] = Tally(int(actors), int(keys))
    for facility_id, wau, wau_keys, mau, mau_keys in fetch(
        f"""
        SELECT facility_id, count(*) FILTER (WHERE last_day >= %(week)s),
               coalesce(sum(actor_key) FILTER (WHERE last_day >= %(week)s), 0), count(*), sum(actor_key)
        FROM (SELECT facility_id, actor, max(local_date) AS last_day, min(actor_key) AS actor_key FROM {days}
              WHERE facility_id = ANY(%(ids)s) AND local_date BETWEEN %(month)s AND %(end)s
              GROUP BY facility_id, actor) recent
        GROUP BY facility_id
        """,  # noqa: S608
        scope,
    ):
        figures[facility_id][2:] = [Tally(int(wau), int(wau_keys)), Tally(int(mau), int(mau_keys))]
    return {key: tuple(values) for key, values in figures.items()}


def _event_types(scope: dict, *, fresh: bool, by_facility: bool) -> dict:
    key, group = ("facility_id, 0", "facility_id, type") if by_facility else ("NULL::bigint, 1", "type")
    facility_filter = "facility_id = ANY(%(ids)s)" if by_facility else IN_SCOPE
    return keyed(
        fetch(
            f"""
            SELECT {key}, type, sum(events), sum(events_keys)
            FROM {source("event_types_daily", fresh=fresh)}
            WHERE {facility_filter} AND local_date BETWEEN %(start)s AND %(end)s
            GROUP BY {group}
            """,  # noqa: S608
            scope,
        )
    )


def _retention(scope: dict, *, fresh: bool) -> list[dict]:
    """Weekly cohorts by the ISO week of each actor's first event ever (in scope), for weeks
    starting in the period; r_k = the share of the cohort active in week +k."""
    start, end = scope["start"], scope["end"]
    params = {**scope, "week0": week_start(start), "last": end + timedelta(weeks=5)}
    firsts = fetch(
        f"""
        SELECT actor, date_trunc('week', min(first_date))::date, min(actor_key)
        FROM {source("actor_first_seen", fresh=fresh)}
        WHERE {IN_SCOPE} GROUP BY actor
        HAVING date_trunc('week', min(first_date))::date BETWEEN %(start)s AND %(end)s
        """,  # noqa: S608
        params,
    )
    if not firsts:
        return []
    weeks = fetch(
        f"""
        SELECT DISTINCT actor, date_trunc('week', local_date)::date FROM {source("actor_days", fresh=fresh)}
        WHERE {IN_SCOPE} AND actor = ANY(%(actors)s) AND local_date BETWEEN %(week0)s AND %(last)s
        """,  # noqa: S608
        {**params, "actors": [actor for actor, _, _ in firsts]},
    )
    active = defaultdict(set)
    for actor, week in weeks:
        active[actor].add(week)
    cohorts = defaultdict(dict)
    for actor, week, actor_key in firsts:
        cohorts[week][actor] = int(actor_key)
    result = []
    for week in sorted(cohorts):
        members = cohorts[week]
        size = Tally.total((1, key) for key in members.values())
        iso = week.isocalendar()
        result.append(
            {
                "week": f"{iso.year}-W{iso.week:02d}",
                "size": size.count(),
                "retained": [
                    Tally.total(
                        (1, key) for a, key in members.items() if week + timedelta(weeks=k) in active[a]
                    ).rate_of(size)
                    for k in range(1, 5)
                ],
            }
        )
    return result
