"""Outreach (kpis.md, "Outreach"): messages, replies, response time, conversion to applications.

Over every facility the two per-message figures come from coarse views and stay exact: the
median response time from ``reply_histogram`` (the bucket holding the middle replies, then those
replies' exact values), and conversion from ``contact_firsts`` (each candidate's first contact
in the period is a contact day whose previous one is before it). A narrower scope, and the rows
of ``group_by=facility``, read the per-message views.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import sql

from analytics.privacy import Breakdown, Rate, Tally, round2
from analytics.selectors.base import (
    OVERALL,
    ByFacility,
    covers_every_facility,
    fetch,
    group_by,
    grouping,
    keyed,
    source,
)
from events.models.records import Channel

OUTREACH_VIEWS = ["outreach_daily", "outreach_replies", "reply_histogram", "candidate_applications",
                  "candidate_contacts", "contact_firsts"]  # fmt: skip


def kpi_outreach(
    *, facility_ids: list[int], start: date, end: date, fresh: bool = False, by_facility: bool = True
) -> ByFacility:
    ids = list(facility_ids)
    scope = {"ids": ids, "start": start, "end": end}
    everywhere = covers_every_facility(ids)
    counts = _counts(scope, fresh=fresh, by_facility=False)
    if everywhere:
        replies, median = _median_everywhere(scope, fresh=fresh)
        conversion = _conversion_everywhere(scope, fresh=fresh)
    else:
        replies, median = _medians(scope, fresh=fresh, by_facility=False).get(OVERALL, (Tally(), None))
        conversion = _conversion(scope, fresh=fresh, by_facility=False).get(OVERALL, (Tally(), Tally()))
    overall = _metrics(counts.get(OVERALL, []), (replies, median), conversion)

    def rows() -> dict[Any, Any]:
        if not by_facility:
            return {}
        counts = _counts(scope, fresh=fresh, by_facility=True)
        medians = _medians(scope, fresh=fresh, by_facility=True)
        conversion = _conversion(scope, fresh=fresh, by_facility=True)
        return {
            key: _metrics(
                counts.get(key, []), medians.get(key, (Tally(), None)), conversion.get(key, (Tally(), Tally()))
            )
            for key in ids
        }

    return ByFacility(overall, rows)


def outreach_response_rate(*, facility_ids: list[int], start: date, end: date, fresh: bool = False) -> Rate:
    """The overall ``response_rate`` of kpi_outreach alone (the headline needs no more)."""
    scope = {"ids": list(facility_ids), "start": start, "end": end}
    rows = _counts(scope, fresh=fresh, by_facility=False).get(OVERALL, [])
    sent = Tally.total((int(row[1]), int(row[3])) for row in rows)
    replied = Tally.total((int(row[2]), int(row[4])) for row in rows)
    return replied.rate_of(sent)


def _metrics(channel_rows: list[Any], reply_median: tuple[Any, ...], conversion: tuple[Any, ...]) -> dict[Any, Any]:
    channels = {channel: (Tally(), Tally()) for channel in Channel.values}
    for channel, sent, replied, sent_keys, replied_keys in channel_rows:
        channels[channel] = (Tally(int(sent), int(sent_keys)), Tally(int(replied), int(replied_keys)))
    sent = Tally.total((s.n, s.keys) for s, _ in channels.values())
    replied = Tally.total((r.n, r.keys) for _, r in channels.values())
    replies, median = reply_median
    messaged, applied = conversion
    return {
        "sent": sent.count(),
        "replied": replied.count(),
        "response_rate": replied.rate_of(sent),
        "median_response_hours": replies.mean(None if median is None else round2(median / 3600)),
        "by_channel": Breakdown(
            {
                c: {"sent": s.count(), "replied": r.count(), "response_rate": r.rate_of(s)}
                for c, (s, r) in channels.items()
            }
        ),
        "outreach_to_application_rate": applied.rate_of(messaged),
    }


def _counts(scope: dict[Any, Any], *, fresh: bool, by_facility: bool) -> dict[Any, Any]:
    key, group = grouping(by_facility)
    return keyed(
        fetch(
            sql.SQL("""
            SELECT {key}, channel, sum(sent), sum(replied), sum(sent_keys), sum(replied_keys)
            FROM {outreach_daily}
            WHERE facility_id = ANY(%(ids)s) AND sent_date BETWEEN %(start)s AND %(end)s
            GROUP BY {group} channel
            """).format(key=key, outreach_daily=source("outreach_daily", fresh=fresh), group=group),
            scope,
        )
    )


def _medians(scope: dict[Any, Any], *, fresh: bool, by_facility: bool) -> dict[Any, Any]:
    """{key: (replies, median seconds)} over the replied messages themselves."""
    key, _ = grouping(by_facility)
    rows = fetch(
        sql.SQL("""
        SELECT {key}, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_reply), sum(privacy_key)
        FROM {outreach_replies}
        WHERE facility_id = ANY(%(ids)s) AND sent_date BETWEEN %(start)s AND %(end)s
        {group_by}
        """).format(key=key, outreach_replies=source("outreach_replies", fresh=fresh), group_by=group_by(by_facility)),
        scope,
    )
    return {k: (Tally(int(n), int(keys)), median) for k, [(n, median, keys)] in keyed(rows).items() if n}


def _median_everywhere(scope: dict[Any, Any], *, fresh: bool) -> tuple[Tally, float | None]:
    """The exact median response (seconds) of every reply to a message sent in the period, as
    percentile_cont(0.5) computes it: the values at the two middle ranks, interpolated."""
    buckets = fetch(
        sql.SQL("""
        SELECT bucket, sum(replies), min(low), max(high), sum(replies_keys)
        FROM {reply_histogram}
        WHERE sent_date BETWEEN %(start)s AND %(end)s GROUP BY bucket ORDER BY bucket
        """).format(reply_histogram=source("reply_histogram", fresh=fresh)),
        scope,
    )
    total = sum(int(row[1]) for row in buckets)
    keys = sum(int(row[4]) for row in buckets)
    if not total:
        return Tally(), None
    lower_rank, upper_rank = (total - 1) // 2, total // 2  # 0-based ranks around the middle
    values = [_value_at(rank, buckets, scope, fresh=fresh) for rank in (lower_rank, upper_rank)]
    fraction = (total - 1) / 2 - lower_rank
    return Tally(total, keys), float(values[0]) + (float(values[1]) - float(values[0])) * fraction


def _value_at(rank: int, buckets: list[Any], scope: dict[Any, Any], *, fresh: bool) -> int:
    """The reply time at ``rank`` (0-based, ascending) among the period's replies."""
    before = 0
    for _, replies, low, high, _keys in buckets:
        if rank < before + int(replies):
            if low == high:  # one value fills the bucket
                return int(low)
            return int(
                fetch(
                    sql.SQL("""
                SELECT seconds_to_reply FROM {outreach_replies}
                WHERE seconds_to_reply BETWEEN %(low)s AND %(high)s AND sent_date BETWEEN %(start)s AND %(end)s
                ORDER BY seconds_to_reply OFFSET %(offset)s LIMIT 1
                """).format(outreach_replies=source("outreach_replies", fresh=fresh)),
                    {**scope, "low": low, "high": high, "offset": rank - before},
                )[0][0]
            )
        before += int(replies)
    raise AssertionError("rank beyond the replies counted")


def _conversion_everywhere(scope: dict[Any, Any], *, fresh: bool) -> tuple[Tally, Tally]:
    """(candidates messaged in the period, those who applied within 30 days of their first
    message in it): each candidate's first contact day in the period has its previous one before."""
    messaged, applied, messaged_keys, applied_keys = fetch(
        sql.SQL("""
        SELECT coalesce(sum(candidates), 0), coalesce(sum(candidates) FILTER (WHERE converted), 0),
               coalesce(sum(candidates_keys), 0), coalesce(sum(candidates_keys) FILTER (WHERE converted), 0)
        FROM {contact_firsts}
        WHERE sent_date BETWEEN %(start)s AND %(end)s AND (prev_date IS NULL OR prev_date < %(start)s)
        """).format(contact_firsts=source("contact_firsts", fresh=fresh)),
        scope,
    )[0]
    return Tally(int(messaged), int(messaged_keys)), Tally(int(applied), int(applied_keys))


def _conversion(scope: dict[Any, Any], *, fresh: bool, by_facility: bool) -> dict[Any, Any]:
    """{key: (candidates messaged, converted)}: each candidate's first contact row in the scope's
    messages of the period, converted when the candidate applied in the scope within 30 days of it
    (``applied_facilities``); per facility, each facility's own messages and applications."""
    if by_facility:
        group, applied_in = sql.SQL("facility_id,"), sql.SQL("facility_id = ANY(applied_facilities)")
    else:
        group, applied_in = sql.SQL(""), sql.SQL("applied_facilities && %(ids)s::bigint[]")
    rows = fetch(
        sql.SQL("""
        SELECT {group} count(*), count(*) FILTER (WHERE {applied_in}), coalesce(sum(candidate_key), 0),
               coalesce(sum(candidate_key) FILTER (WHERE {applied_in}), 0)
        FROM (
            SELECT DISTINCT ON ({group} candidate_id) {group} candidate_key, applied_facilities
            FROM {candidate_contacts}
            WHERE facility_id = ANY(%(ids)s) AND sent_date BETWEEN %(start)s AND %(end)s
            ORDER BY {group} candidate_id, first_sent_at
        ) firsts
        {group_by}
        """).format(
            group=group,
            applied_in=applied_in,
            candidate_contacts=source("candidate_contacts", fresh=fresh),
            group_by=group_by(by_facility),
        ),
        scope,
    )

    def tallies(messaged: Any, converted: Any, messaged_keys: Any, converted_keys: Any) -> tuple[Tally, Tally]:
        return Tally(int(messaged), int(messaged_keys)), Tally(int(converted), int(converted_keys))

    if by_facility:
        return {row[0]: tallies(*row[1:]) for row in rows}
    return {OVERALL: tallies(*rows[0])}
