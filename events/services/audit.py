"""Reads of personal data, audited the same way wherever they happen (API, console)."""

from __future__ import annotations

from collections.abc import Sequence

from accounts.models import AuditEvent
from accounts.principals import Actor
from accounts.services import audit_record

SHOWN_LIMIT = 500  # candidate ids kept per audit row; ``count`` says how many there were


def personal_data_read(*, by: Actor, candidates: Sequence[str], path: str) -> AuditEvent | None:
    """Record that ``by`` was shown the personal data (names, email, phone) of ``candidates``
    (their external ids) at ``path``: one audit row per page or answer. Nothing when none."""
    if not candidates:
        return None
    return audit_record(
        by=by,
        action="personal_data.read",
        object_repr=f"{len(candidates)} candidate(s)",
        candidates=list(candidates[:SHOWN_LIMIT]),
        count=len(candidates),
        path=path[:500],
    )
