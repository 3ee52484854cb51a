"""Crontabs read in a time zone, and the periods a report covers.

The rule for clock changes (docs/decisions.md): a schedule names a local wall-clock time.
Each local day whose date matches runs once, at that local time.

- On the day the clocks go back, a time that occurs twice (01:30 in New York) runs once, at
  its first occurrence.
- On the day the clocks go forward, a time that does not exist (02:30 in New York) runs once,
  at the first local minute after the gap (03:00).
- Any other time, 07:00 for instance, runs at 07:00 local on both days, like every day.

A run's identity is the UTC instant of its slot, so the database's unique key on
(report, slot) makes each slot run at most once, whoever triggers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab as celery_crontab

from reports.models import Period

# A date-restricted crontab (say, 29 February) may skip years; look back this far for a slot.
LOOKBACK_DAYS = 366 * 4 + 1


@dataclass(frozen=True)
class Cron:
    """A five-field crontab expanded to sets (day of week: 0 = Sunday, as in cron)."""

    minute: frozenset[int]
    hour: frozenset[int]
    day_of_month: frozenset[int]
    month: frozenset[int]
    day_of_week: frozenset[int]
    fields: tuple[str, str, str, str, str]

    def matches(self, day: date) -> bool:
        return day.month in self.month and day.day in self.day_of_month and (day.isoweekday() % 7) in self.day_of_week


def cron_parse(expression: str) -> Cron:
    """Raises ValueError with a message fit for a user."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError("Use five fields: minute hour day-of-month month day-of-week (e.g. '0 7 * * 1').")
    minute, hour, day_of_month, month, day_of_week = fields
    try:
        parsed = celery_crontab(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week
        )
    except ValueError as exc:
        raise ValueError(f"Invalid crontab: {exc}") from exc
    return Cron(
        minute=frozenset(parsed.minute),
        hour=frozenset(parsed.hour),
        day_of_month=frozenset(parsed.day_of_month),
        month=frozenset(parsed.month_of_year),
        day_of_week=frozenset(parsed.day_of_week),
        fields=(minute, hour, day_of_month, month, day_of_week),
    )


def zone_parse(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Paris, America/New_York).") from exc


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant a local wall-clock time names, per the rule above."""
    naive = datetime.combine(day, at)
    while True:
        aware = naive.replace(tzinfo=zone, fold=0)  # fold=0: the first of two occurrences
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
            return aware.astimezone(UTC)
        naive += timedelta(minutes=1)  # inside a spring-forward gap: move to its end


def latest_slot(cron: Cron, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The last slot at or before ``now`` (UTC), or None if there is none in the look-back."""
    day = now.astimezone(zone).date()
    minutes = sorted(cron.minute, reverse=True)
    hours = sorted(cron.hour, reverse=True)
    for _ in range(LOOKBACK_DAYS):
        if cron.matches(day):
            for hour in hours:
                for minute in minutes:
                    slot = local_instant(day, time(hour, minute), zone)
                    if slot <= now:
                        return slot
        day -= timedelta(days=1)
    return None


def next_slot(cron: Cron, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (shown to users as "next run")."""
    day = after.astimezone(zone).date()
    minutes, hours = sorted(cron.minute), sorted(cron.hour)
    for _ in range(LOOKBACK_DAYS):
        if cron.matches(day):
            for hour in hours:
                for minute in minutes:
                    slot = local_instant(day, time(hour, minute), zone)
                    if slot > after:
                        return slot
        day += timedelta(days=1)
    return None


def period_bounds(period: str, *, today: date, start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The first and last day a period covers, for a report running on local day ``today``.
    Rolling periods end yesterday (complete days); month to date includes today."""
    yesterday = today - timedelta(days=1)
    if period == Period.YESTERDAY:
        return yesterday, yesterday
    if period == Period.LAST_7_DAYS:
        return today - timedelta(days=7), yesterday
    if period == Period.LAST_30_DAYS:
        return today - timedelta(days=30), yesterday
    if period == Period.PREVIOUS_WEEK:
        monday = today - timedelta(days=today.weekday()) - timedelta(days=7)
        return monday, monday + timedelta(days=6)
    if period == Period.PREVIOUS_MONTH:
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if period == Period.MONTH_TO_DATE:
        return today.replace(day=1), today
    if period == Period.CUSTOM and start and end:
        return start, end
    raise ValueError(f"Unknown period {period!r}")
