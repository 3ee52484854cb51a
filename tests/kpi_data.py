"""Hand-built data for KPI tests: records placed exactly, views refreshed for real (the fixtures
``build_a``/``build_b`` in tests/conftest.py hand out a Builder per facility)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.core.cache import cache

from analytics.cache import WARM_KEY
from analytics.services.refresh import refresh_request, refresh_runs_execute
from tests.factories import make_application, make_candidate, make_job


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def refresh_all() -> None:
    cache.delete(WARM_KEY)  # the questions earlier tests asked are not warmed (their data is gone)
    runs = refresh_request(views=None, by=None, trigger="tests", enqueue=False)
    assert {run.status for run in refresh_runs_execute(run_ids=[run.pk for run in runs])} == {"succeeded"}


class Builder:
    """Shortcuts that set the stored columns the views read (dates in UTC, the default zone)."""

    def __init__(self, facility) -> None:
        self.facility = facility

    def job(self, opened: str, *, positions: int = 1, filled: str | None = None, **fields):
        return make_job(
            self.facility, opened_at=at(opened), opened_date=date.fromisoformat(opened), positions=positions,
            filled_at=at(filled) if filled else None, filled_date=date.fromisoformat(filled) if filled else None,
            status="filled" if filled else "open", **fields,
        )  # fmt: skip

    def application(self, job, applied: str, *, status: str = "applied", stage: int = 0, offered: str | None = None,
                    hired: str | None = None, source: str = "referral"):  # fmt: skip
        return make_application(
            self.facility, job=job, candidate=make_candidate(self.facility), applied_at=at(applied),
            applied_date=date.fromisoformat(applied), status=status, furthest_stage=stage, source=source,
            offered_at=at(offered) if offered else None, offered_date=date.fromisoformat(offered) if offered else None,
            hired_at=at(hired) if hired else None, hired_date=date.fromisoformat(hired) if hired else None,
        )  # fmt: skip
