"""A realistic, deterministic history of a staffing business, as events.

Used by `seed_demo` (through the ingestion service, like any sender) and by the benchmarks.
The same seed and the same anchor day give the same events and the same ids.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

NAMESPACE = uuid.UUID("4f1d7c2e-5a55-4d8e-9d7a-3b1f0c6e2a90")

SPECIALTIES: dict[str, tuple[list[str], float]] = {
    # specialty: (skills, typical bill rate per hour)
    "ICU": (["icu", "acls", "bls", "ventilator management", "critical care"], 92.0),
    "Emergency": (["er", "acls", "bls", "triage", "pals"], 88.0),
    "Med-Surg": (["med-surg", "bls", "telemetry", "wound care"], 72.0),
    "Operating Room": (["or", "bls", "surgical assist", "sterile technique"], 95.0),
    "Labor & Delivery": (["l&d", "nrp", "bls", "fetal monitoring"], 90.0),
    "Pediatrics": (["pediatrics", "pals", "bls"], 78.0),
    "Oncology": (["oncology", "chemotherapy", "bls", "iv therapy"], 85.0),
    "Telemetry": (["telemetry", "acls", "bls", "cardiac monitoring"], 76.0),
    "Respiratory Therapy": (["respiratory", "ventilator management", "bls"], 70.0),
    "Physical Therapy": (["physical therapy", "rehabilitation", "cpr"], 68.0),
}
TITLES = {"Respiratory Therapy": "Respiratory Therapist", "Physical Therapy": "Physical Therapist"}
SOURCES = ["referral", "job_board", "linkedin", "agency", "website", "career_fair"]
CHANNEL_REPLY = {"email": 0.2, "sms": 0.35, "phone": 0.4, "linkedin": 0.15, "whatsapp": 0.45}
CREDENTIALS = ["BLS", "ACLS", "RN License", "TB Test", "Flu Vaccination", "Background Check"]
FIRST = ["Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Ivy", "Lucas", "Nora", "Owen", "Ruby", "Caleb", "Aria",
         "Mateo", "Lena", "Isaac", "Chloe", "Elias", "Hazel", "Jonah", "Priya", "Wei", "Fatima", "Diego"]  # fmt: skip
LAST = ["Nguyen", "Garcia", "Smith", "Johnson", "Patel", "Kim", "Brown", "Lopez", "Okafor", "Rossi", "Cohen",
        "Silva", "Müller", "Dubois", "Haddad", "Tanaka", "Walker", "Reyes", "Novak", "Ahmed"]  # fmt: skip
ACTIVITY = ["user.login", "dashboard.viewed", "job.viewed", "candidate.viewed", "report.downloaded"]


@dataclass(frozen=True)
class DemoSize:
    jobs: int = 2_000
    candidates: int = 20_000
    applications: int = 60_000
    months: int = 18
    actors: int = 60

    def scaled(self, factor: float) -> DemoSize:
        return DemoSize(
            jobs=int(self.jobs * factor),
            candidates=int(self.candidates * factor),
            applications=int(self.applications * factor),
            months=self.months,
            actors=max(10, int(self.actors * factor)),
        )


class DemoHistory:
    def __init__(self, facilities: list[str], *, seed: int = 7, size: DemoSize = DemoSize(), today: date | None = None):
        self.facilities = facilities
        self.seed = seed
        self.size = size
        anchor = today or datetime.now(UTC).date()
        self.now = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
        self.start = self.now - timedelta(days=30 * size.months)
        self.random = random.Random(seed)  # noqa: S311 - demo data, not secrets
        self.serial = 0

    def first_id(self) -> str:
        """The id of the first event generated: its presence means this history was loaded."""
        return str(uuid.uuid5(NAMESPACE, f"{self.seed}:{self.now.date()}:1"))

    # --- helpers -----------------------------------------------------------------------

    def _event(self, event_type: str, when: datetime, facility: str | None, actor: str | None, **data) -> dict:
        self.serial += 1
        return {
            "id": str(uuid.uuid5(NAMESPACE, f"{self.seed}:{self.now.date()}:{self.serial}")),
            "type": event_type,
            "occurred_at": when.isoformat(),
            "facility": facility,
            "actor": actor,
            "data": data,
        }

    def _when(self, start: datetime | None = None, end: datetime | None = None) -> datetime:
        start, end = start or self.start, end or self.now
        seconds = max(1, int((end - start).total_seconds()))
        moment = start + timedelta(seconds=self.random.randrange(seconds))
        return moment.replace(microsecond=0)

    def _later(self, when: datetime, min_days: float, max_days: float) -> datetime:
        return (when + timedelta(days=self.random.uniform(min_days, max_days))).replace(microsecond=0)

    def recruiters(self, facility: str) -> list[str]:
        index = self.facilities.index(facility)
        return [f"recruiter-{(index * 3 + k) % self.size.actors + 1:03d}" for k in range(3)]

    # --- the history ----------------------------------------------------------------------

    def events(self) -> Iterator[dict]:
        """All events, roughly in the order a sender would emit them."""
        rnd = self.random
        weights = [rnd.uniform(0.3, 1.7) for _ in self.facilities]
        jobs: list[tuple[str, str, datetime, int, str, float]] = []
        for n in range(1, self.size.jobs + 1):
            facility = rnd.choices(self.facilities, weights)[0]
            specialty = rnd.choice(list(SPECIALTIES))
            skills, rate = SPECIALTIES[specialty]
            opened = self._when(end=self.now - timedelta(days=3))
            positions = rnd.choices([1, 2, 3], [0.7, 0.2, 0.1])[0]
            bill_rate = round(rate * rnd.uniform(0.85, 1.25), 2)
            job_id = f"J-{n:06d}"
            jobs.append((job_id, facility, opened, positions, specialty, bill_rate))
            yield self._event(
                "job.opened", opened, facility, rnd.choice(self.recruiters(facility)), job_id=job_id,
                title=f"{TITLES.get(specialty, 'Registered Nurse')} — {specialty}", specialty=specialty,
                skills=rnd.sample(skills, k=min(len(skills), rnd.randint(2, 4))), positions=positions,
                bill_rate=f"{bill_rate:.2f}",
            )  # fmt: skip

        candidates: list[tuple[str, str, datetime]] = []
        for n in range(1, self.size.candidates + 1):
            facility = rnd.choices(self.facilities, weights)[0]
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            registered = self._when(end=self.now - timedelta(days=1))
            candidate_id = f"C-{n:06d}"
            candidates.append((candidate_id, facility, registered))
            specialty_skills = SPECIALTIES[rnd.choice(list(SPECIALTIES))][0]
            yield self._event(
                "candidate.created", registered, facility, None, candidate_id=candidate_id, first_name=first,
                last_name=last, email=f"{first}.{last}.{n}@example.com".lower(),
                phone=f"+1 555 {rnd.randint(100, 999)} {n % 10_000:04d}",
                skills=rnd.sample(specialty_skills, k=min(len(specialty_skills), rnd.randint(1, 4))),
                source=rnd.choice(SOURCES),
            )  # fmt: skip

        yield from self._outreach(candidates)
        hires_per_job: dict[str, list[datetime]] = {}
        hired_candidates: list[tuple[str, str, datetime, str, float]] = []
        for n in range(1, self.size.applications + 1):
            job_id, facility, opened, positions, specialty, bill_rate = rnd.choice(jobs)
            candidate_id, _, registered = rnd.choice(candidates)
            applied = self._later(max(opened, registered), 0, 45)
            if applied >= self.now:
                continue
            application_id = f"A-{n:07d}"
            recruiter = rnd.choice(self.recruiters(facility))
            yield self._event(
                "application.created", applied, facility, recruiter, application_id=application_id, job_id=job_id,
                candidate_id=candidate_id, source=rnd.choice(SOURCES),
            )  # fmt: skip
            when, filled = applied, len(hires_per_job.get(job_id, [])) >= positions
            steps = [("screening", 0.6, (0.5, 5)), ("interviewing", 0.5, (2, 10)),
                     ("offered", 0.05 if filled else 0.45, (3, 14)), ("hired", 0.8, (1, 7))]  # fmt: skip
            for status, advance, gap in steps:
                next_when = self._later(when, *gap)
                if next_when >= self.now:
                    break
                if rnd.random() > advance:
                    if rnd.random() < 0.85:
                        outcome = rnd.choices(["rejected", "withdrawn"], [0.75, 0.25])[0]
                        yield self._event("application.status_changed", next_when, facility, recruiter,
                                          application_id=application_id, status=outcome)  # fmt: skip
                    break
                when = next_when
                yield self._event("application.status_changed", when, facility, recruiter,
                                  application_id=application_id, status=status)  # fmt: skip
                if status == "hired":
                    hires_per_job.setdefault(job_id, []).append(when)
                    hired_candidates.append((application_id, facility, when, candidate_id, bill_rate))

        for job_id, facility, opened, positions, _, _ in jobs:
            hires = sorted(hires_per_job.get(job_id, []))
            if len(hires) >= positions:
                yield self._event("job.filled", hires[positions - 1], facility, None, job_id=job_id)
            elif rnd.random() < 0.05:
                cancelled = self._later(opened, 10, 90)
                if cancelled < self.now:
                    yield self._event("job.cancelled", cancelled, facility, None, job_id=job_id)

        yield from self._placements(hired_candidates)
        yield from self._compliance(candidates, hired_candidates)
        yield from self._activity()

    def _outreach(self, candidates) -> Iterator[dict]:
        rnd = self.random
        n = 0
        for candidate_id, facility, registered in candidates:
            if rnd.random() > 0.6:
                continue
            for _ in range(rnd.randint(1, 4)):
                n += 1
                channel = rnd.choice(list(CHANNEL_REPLY))
                sent = self._later(registered, 0, 120)
                if sent >= self.now:
                    continue
                message_id = f"M-{n:07d}"
                yield self._event("outreach.sent", sent, facility, rnd.choice(self.recruiters(facility)),
                                  message_id=message_id, candidate_id=candidate_id, channel=channel)  # fmt: skip
                if rnd.random() < CHANNEL_REPLY[channel]:
                    replied = sent + timedelta(hours=rnd.uniform(0.2, 72))
                    if replied < self.now:
                        yield self._event("outreach.replied", replied.replace(microsecond=0), facility, None,
                                          message_id=message_id)  # fmt: skip

    def _placements(self, hired) -> Iterator[dict]:
        rnd = self.random
        for n, (application_id, facility, hired_at, _, bill_rate) in enumerate(hired, 1):
            start = (hired_at + timedelta(days=rnd.randint(7, 21))).date()
            started_at = datetime(start.year, start.month, start.day, 7, tzinfo=UTC)
            if started_at >= self.now:
                continue
            end = start + timedelta(weeks=13) if rnd.random() < 0.7 else None
            placement_id = f"P-{n:06d}"
            yield self._event("placement.started", started_at, facility, None, placement_id=placement_id,
                              application_id=application_id, start_date=start.isoformat(),
                              end_date=end.isoformat() if end else None, bill_rate=f"{bill_rate:.2f}")  # fmt: skip
            invoice_day, k = start + timedelta(weeks=4), 0
            while invoice_day <= (end or self.now.date()) and invoice_day < self.now.date():
                k += 1
                amount = bill_rate * 36 * 4 * rnd.uniform(0.9, 1.1)
                issued = datetime(invoice_day.year, invoice_day.month, invoice_day.day, 12, tzinfo=UTC)
                yield self._event("invoice.issued", issued, facility, None, invoice_id=f"I-{n:06d}-{k:02d}",
                                  placement_id=placement_id, amount=f"{amount:.2f}")  # fmt: skip
                invoice_day += timedelta(weeks=4)

    def _compliance(self, candidates, hired) -> Iterator[dict]:
        rnd = self.random
        pool = [(c, f, when) for _, f, when, c, _ in hired]
        pool += [(c, f, when) for c, f, when in rnd.sample(candidates, len(candidates) // 3)]
        for n, (candidate_id, facility, known_since) in enumerate(pool, 1):
            checked = self._when(start=known_since)
            status = rnd.choices(["compliant", "expiring", "expired", "missing", "violation"],
                                 [0.7, 0.1, 0.07, 0.08, 0.05])[0]  # fmt: skip
            severity = "none" if status == "compliant" else rnd.choice(["low", "medium", "high"])
            expires = (checked + timedelta(days=rnd.randint(-30, 720))).date()
            yield self._event("compliance.checked", checked, facility, None, check_id=f"K-{n:07d}",
                              candidate_id=candidate_id, credential=rnd.choice(CREDENTIALS), status=status,
                              severity=severity,
                              score=rnd.randint(80, 100) if status == "compliant" else rnd.randint(20, 85),
                              expires_on=expires.isoformat() if status != "missing" else None)  # fmt: skip

    def _activity(self) -> Iterator[dict]:
        rnd = self.random
        actors = [f"recruiter-{k:03d}" for k in range(1, self.size.actors + 1)]
        actors += [f"viewer-{k:03d}" for k in range(1, self.size.actors // 3 + 1)]
        joined = {actor: self.start + timedelta(days=rnd.randint(0, 30 * self.size.months - 7)) for actor in actors}
        day = self.start
        while day < self.now - timedelta(hours=1):
            for actor in actors:
                if joined[actor] <= day and rnd.random() < (0.45 if day.weekday() < 5 else 0.08):
                    facility = rnd.choice(self.facilities) if rnd.random() < 0.7 else None
                    for _ in range(rnd.randint(1, 3)):
                        when = day + timedelta(hours=rnd.uniform(7, 19))
                        if when < self.now:
                            yield self._event(rnd.choice(ACTIVITY), when.replace(microsecond=0), facility, actor)
            day += timedelta(days=1)
