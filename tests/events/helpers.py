"""Building events for tests: a tiny, readable stream builder."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta


class Stream:
    """Events of one facility, with ids that are stable per name so a test can replay them."""

    def __init__(self, facility: str = "MERCY-01", start: datetime | None = None) -> None:
        self.facility = facility
        self.start = start or datetime(2026, 3, 1, 9, 0, tzinfo=datetime.now().astimezone().tzinfo)
        self.namespace = uuid.uuid4()

    def at(self, day: float) -> str:
        return (self.start + timedelta(days=day)).isoformat()

    def event(self, name: str, event_type: str, day: float, actor: str | None = "recruiter-1", **data) -> dict:
        return {
            "id": str(uuid.uuid5(self.namespace, name)),
            "type": event_type,
            "occurred_at": self.at(day),
            "facility": self.facility,
            "actor": actor,
            "data": data,
        }

    def job(self, job_id: str, day: float = 0, **data) -> dict:
        fields = {"job_id": job_id, "title": "Registered Nurse", "specialty": "ICU", "skills": ["ICU", "BLS"],
                  "positions": 1, "bill_rate": "85.00", **data}  # fmt: skip
        return self.event(f"job:{job_id}", "job.opened", day, **fields)

    def candidate(self, candidate_id: str, day: float = 0, **data) -> dict:
        fields = {"candidate_id": candidate_id, "first_name": "Jane", "last_name": "Doe",
                  "email": "jane.doe@example.com", "phone": "+1 555 010 1234", "skills": ["icu"],
                  "source": "referral", **data}  # fmt: skip
        return self.event(f"candidate:{candidate_id}", "candidate.created", day, **fields)

    def application(self, application_id: str, job_id: str, candidate_id: str, day: float = 1, **data) -> dict:
        fields = {"application_id": application_id, "job_id": job_id, "candidate_id": candidate_id,
                  "source": "referral", **data}  # fmt: skip
        return self.event(f"application:{application_id}", "application.created", day, **fields)

    def status(self, application_id: str, status: str, day: float, actor: str = "recruiter-1") -> dict:
        return self.event(
            f"status:{application_id}:{status}:{day}", "application.status_changed", day, actor=actor,
            application_id=application_id, status=status,
        )  # fmt: skip
