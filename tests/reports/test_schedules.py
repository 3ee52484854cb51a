"""Crontabs in a time zone: a local 07:00 runs once per local day at 07:00, clock changes included."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reports.schedules import cron_parse, latest_slot, next_slot, period_bounds

NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def slots_between(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    cron, found, cursor = cron_parse(expression), [], start
    while (slot := next_slot(cron, zone, cursor)) and slot <= end:
        found.append(slot)
        cursor = slot
    return found


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        ("2026-03-07", "2026-03-07T12:00"),  # EST, UTC-5
        ("2026-03-08", "2026-03-08T11:00"),  # clocks go forward at 02:00: EDT, UTC-4
        ("2026-10-31", "2026-10-31T11:00"),
        ("2026-11-01", "2026-11-01T12:00"),  # clocks go back at 02:00: EST again
    ],
)
def test_a_local_seven_oclock_runs_at_seven_local_on_clock_change_days(day, expected_utc):
    slots = slots_between("0 7 * * *", NEW_YORK, utc(f"{day}T04:00"), utc(f"{day}T04:00") + timedelta(days=1))

    assert slots == [utc(expected_utc)]
    assert slots[0].astimezone(NEW_YORK).hour == 7


def test_once_per_local_day_across_both_changes_of_2026():
    slots = slots_between("0 7 * * *", NEW_YORK, utc("2026-03-01T00:00"), utc("2026-11-30T00:00"))

    local_days = [slot.astimezone(NEW_YORK).date() for slot in slots]
    assert len(local_days) == len(set(local_days)) == (date(2026, 11, 29) - date(2026, 3, 1)).days + 1
    assert {slot.astimezone(NEW_YORK).strftime("%H:%M") for slot in slots} == {"07:00"}


def test_a_time_skipped_by_the_clock_change_runs_once_at_the_end_of_the_gap():
    slots = slots_between("30 2 * * *", NEW_YORK, utc("2026-03-08T00:00"), utc("2026-03-09T00:00"))

    assert [slot.astimezone(NEW_YORK).strftime("%H:%M %Z") for slot in slots] == ["03:00 EDT"]


def test_a_time_that_happens_twice_runs_once_at_its_first_occurrence():
    slots = slots_between("30 1 * * *", NEW_YORK, utc("2026-11-01T00:00"), utc("2026-11-02T00:00"))

    assert slots == [utc("2026-11-01T05:30")]  # 01:30 EDT, not 01:30 EST an hour later


def test_latest_slot_is_the_last_at_or_before_now():
    cron = cron_parse("0 7 * * 1")  # Mondays 07:00
    monday_7am_ny = utc("2026-11-23T12:00")

    assert latest_slot(cron, NEW_YORK, monday_7am_ny) == monday_7am_ny
    assert latest_slot(cron, NEW_YORK, monday_7am_ny - timedelta(seconds=1)) == utc("2026-11-16T12:00")


def test_day_of_week_follows_cron_sunday_is_zero():
    cron = cron_parse("0 9 * * 0")

    assert latest_slot(cron, ZoneInfo("UTC"), utc("2026-11-22T10:00")) == utc("2026-11-22T09:00")  # a Sunday


@pytest.mark.parametrize(
    ("expression", "message"),
    [("0 7 * *", "five fields"), ("61 7 * * *", "Invalid crontab"), ("0 7 * * funday", "Invalid crontab")],
)
def test_bad_crontabs_are_refused_with_a_message(expression, message):
    with pytest.raises(ValueError, match=message):
        cron_parse(expression)


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("yesterday", "2026-11-18", "2026-11-18"),
        ("last_7_days", "2026-11-12", "2026-11-18"),
        ("last_30_days", "2026-10-20", "2026-11-18"),
        ("previous_week", "2026-11-09", "2026-11-15"),  # Monday to Sunday
        ("previous_month", "2026-10-01", "2026-10-31"),
        ("month_to_date", "2026-11-01", "2026-11-19"),
    ],
)
def test_periods_for_a_run_on_thursday_19_november(period, first, last):
    assert period_bounds(period, today=date(2026, 11, 19)) == (date.fromisoformat(first), date.fromisoformat(last))


def test_previous_month_in_january_is_december():
    assert period_bounds("previous_month", today=date(2027, 1, 1)) == (date(2026, 12, 1), date(2026, 12, 31))
