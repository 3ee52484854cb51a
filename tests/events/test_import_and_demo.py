"""import_events and the demo history."""

import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.demo import DemoHistory, DemoSize
from events.models import Application, Event
from events.schema import validate_event
from events.seeding import demo_history_load
from tests.events.helpers import Stream

pytestmark = pytest.mark.django_db

TINY = 0.01


def test_import_events_streams_a_file_and_reports(tmp_path, facility_a):
    s = Stream("MERCY-01")
    lines = [json.dumps(e) for e in (s.job("J-1"), s.candidate("C-1"), s.application("A-1", "J-1", "C-1"))]
    lines.insert(1, '{"id": "broken"')
    lines.insert(2, json.dumps({**s.job("J-2"), "facility": "NOPE"}))
    lines.insert(3, json.dumps(s.event("e", "user.login", 0, score=0)).replace('"score": 0', '"score": NaN'))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    out, err = io.StringIO(), io.StringIO()

    call_command("import_events", str(path), "--process", stdout=out, stderr=err)

    assert "created 3, duplicate 0, rejected 3" in out.getvalue()
    assert "applied 3, waiting 0, failed 0" in out.getvalue()
    assert "line 2: rejected: not JSON" in err.getvalue()
    assert "line 3: rejected" in err.getvalue() and "facility" in err.getvalue()
    assert "line 4: rejected: not JSON" in err.getvalue()
    assert Application.objects.filter(external_id="A-1").exists()

    again = io.StringIO()
    call_command("import_events", str(path), stdout=again, stderr=io.StringIO())
    assert "created 0, duplicate 3, rejected 3" in again.getvalue()


def test_the_demo_history_is_deterministic_and_valid():
    facilities = ["MERCY-01", "STJ-02"]
    first = list(DemoHistory(facilities, seed=3, size=DemoSize().scaled(TINY), today=date(2026, 6, 1)).events())
    second = list(DemoHistory(facilities, seed=3, size=DemoSize().scaled(TINY), today=date(2026, 6, 1)).events())

    assert first == second
    now = timezone.now()
    invalid = [(e["type"], errors) for e in first if (errors := validate_event(e, now=now)[1])]
    assert invalid == []
    assert {"job.opened", "candidate.created", "application.created", "application.status_changed",
            "placement.started", "invoice.issued", "outreach.sent", "compliance.checked", "user.login"} <= {
        e["type"] for e in first
    }  # fmt: skip


def test_the_demo_history_applies_cleanly_and_loads_once(facility_a, facility_b):
    loaded = demo_history_load(scale=TINY, progress=lambda _: None)

    assert loaded["created"] == loaded["sent"] > 100
    assert loaded["failed"] == 0
    assert loaded["waiting"] == 0
    assert Event.objects.with_status("processed").count() == Event.objects.count()
    assert demo_history_load(scale=TINY, progress=lambda _: None) is None
