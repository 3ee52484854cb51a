"""An event's content hash does not depend on how its JSON was spelled, and is the one every
stored event was given: an event sent again after an upgrade is still a duplicate."""

import hashlib
import json
from datetime import UTC, datetime

import pytest

from events.schema import canonical_json, content_hash, validate_event

NOW = datetime(2026, 3, 1, 15, tzinfo=UTC)
ENVELOPES = [
    ("application.status_changed", "MERCY-01", "recruiter-7", {"application_id": "A-1", "status": "hired"}),
    ("user.login", None, None, {}),
    ("note.added", "STJ-02", "ü-actor", {"text": "café ✓", "nested": {"b": [1, 2.5, None], "a": True}}),
]


def stored_formula(event_type, occurred_at, facility, actor, data) -> bytes:
    """How the hash of every stored event was computed: one JSON list, sorted keys, no spaces."""
    text = json.dumps([event_type, occurred_at.isoformat(), facility, actor, data], sort_keys=True,
                      separators=(",", ":"))  # fmt: skip
    return hashlib.sha256(text.encode()).digest()


@pytest.mark.parametrize(("event_type", "facility", "actor", "data"), ENVELOPES)
def test_the_hash_is_the_stored_one(event_type, facility, actor, data):
    expected = stored_formula(event_type, NOW, facility, actor, data)

    assert content_hash(event_type=event_type, occurred_at=NOW, facility=facility, actor=actor, data=data) == expected
    assert content_hash(event_type=event_type, occurred_at=NOW, facility=facility, actor=actor,
                        data_json=canonical_json(data)) == expected  # fmt: skip


def test_a_validated_event_keeps_its_data_as_canonical_json():
    item = {"id": "0b6f4f1e-8d0c-4c55-9d6c-0f3c2a8f6a10", "type": "note.added", "occurred_at": "2026-03-01T14:05:00Z",
            "facility": "STJ-02", "data": {"z": 1, "a": {"y": [1, 2], "b": "é"}}}  # fmt: skip
    event, errors = validate_event(item, now=NOW)

    assert errors == {}
    assert event.data_json == '{"a":{"b":"\\u00e9","y":[1,2]},"z":1}'
    assert json.loads(event.data_json) == item["data"]
    assert event.content_hash == stored_formula("note.added", event.occurred_at, "STJ-02", None, item["data"])
