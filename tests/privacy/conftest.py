"""Data for the attacks: many small daily cells (1..10 applications a day) at two facilities,
inserted in one statement per facility, with the views refreshed for real."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from django.db import connection

from accounts.models import Role
from tests.factories import make_candidate, make_job, make_user
from tests.kpi_data import refresh_all

FIRST_DAY = date(2026, 3, 1)
DAYS = 60  # the attacked days: each one a hidden cell of 1..10


class Truth:
    """The true applications per facility and day, to score what an attacker recovers."""

    def __init__(self) -> None:
        self.daily: dict[int, dict[date, int]] = {}

    def between(self, facility_id: int, start: date, end: date) -> int:
        return sum(n for day, n in self.daily[facility_id].items() if start <= day <= end)


def insert_applications(facility, *, seed: int, truth: Truth) -> None:
    """A base of 200 applications on the day before FIRST_DAY (so every period's total is large and
    shown), then 1..10 a day for DAYS days; statuses vary so breakdowns have cells."""
    generator = random.Random(seed)
    job, candidate = make_job(facility), make_candidate(facility)
    counts = {FIRST_DAY - timedelta(days=1): 200}
    counts.update({FIRST_DAY + timedelta(days=n): generator.randint(1, 10) for n in range(DAYS)})
    truth.daily[facility.id] = {day: n for day, n in counts.items() if day >= FIRST_DAY}
    rows = list(counts.items())
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_application (external_id, facility_id, job_id, candidate_id, source, status,
                furthest_stage, applied_at, applied_date, created_at, updated_at)
            SELECT %(prefix)s || d.day || '-' || k, %(facility)s, %(job)s, %(candidate)s, 'referral',
                   (ARRAY['applied', 'screening', 'interviewing', 'rejected'])[1 + k %% 4], k %% 3,
                   d.day + time '12:00', d.day, now(), now()
            FROM unnest(%(days)s::date[], %(counts)s::int[]) AS d(day, n), generate_series(1, d.n) AS k
            """,
            {"prefix": f"ATK-{facility.code}-", "facility": facility.id, "job": job.id, "candidate": candidate.id,
             "days": [day for day, _ in rows], "counts": [n for _, n in rows]},
        )  # fmt: skip


@pytest.fixture
def truth(facility_a, facility_b) -> Truth:
    found = Truth()
    insert_applications(facility_a, seed=1, truth=found)
    insert_applications(facility_b, seed=2, truth=found)
    refresh_all()
    return found


@pytest.fixture
def valerie(facility_a, facility_b):
    """A Viewer of both facilities: the attacker who holds a subset's complement."""
    return make_user("valerie", Role.VIEWER, [facility_a, facility_b])
