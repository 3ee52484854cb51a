"""POST /api/v1/events/ and /bulk/: durable, idempotent, per-item answers, clear refusals."""

import json
import uuid

import pytest

from events.models import Event, EventKey
from tests.events.helpers import Stream
from tests.factories import jwt_client, key_client, make_api_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream():
    return Stream("MERCY-01")


@pytest.fixture
def sender(facility_a):
    return key_client(make_api_key("ats", [facility_a]))


def post(client, body, path="/api/v1/events/"):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_an_event_is_stored_before_the_answer(sender, stream):
    event = stream.job("J-1")

    response = post(sender, event)

    assert response.status_code == 201
    assert response.json() == {"results": [{"id": event["id"], "status": "created"}]}
    stored = Event.objects.get(id=event["id"])
    assert stored.status == "pending"
    assert stored.facility.code == "MERCY-01"
    assert stored.sender == "api-key:ats"


def test_the_same_event_again_is_a_duplicate_stored_once(sender, stream):
    event = stream.job("J-1")
    post(sender, event)

    again = post(sender, {**event, "occurred_at": event["occurred_at"].replace("+00:00", "Z")})

    assert again.status_code == 200
    assert again.json()["results"][0]["status"] == "duplicate"
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert EventKey.objects.filter(id=event["id"]).count() == 1


def test_the_same_id_with_other_content_is_rejected(sender, stream):
    event = stream.job("J-1")
    post(sender, event)

    reused = post(sender, {**event, "data": {**event["data"], "title": "Something else"}})

    assert reused.status_code == 400
    assert reused.json()["results"][0] == {
        "id": event["id"],
        "status": "rejected",
        "errors": {"id": ["This id was already used for an event with different content."]},
    }
    assert Event.objects.get(id=event["id"]).data["title"] == "Registered Nurse"


def test_a_bulk_with_bad_items_in_the_middle_keeps_the_good_ones_in_order(sender, stream):
    good_1, good_2 = stream.job("J-1"), stream.candidate("C-1")
    bad = {**stream.job("J-2"), "occurred_at": "yesterday"}
    body = [good_1, bad, "not an object", good_2, good_1]

    response = post(sender, body, "/api/v1/events/bulk/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "rejected", "created", "duplicate"]
    assert [r["id"] for r in results] == [good_1["id"], bad["id"], None, good_2["id"], good_1["id"]]
    assert results[1]["errors"] == {"occurred_at": ["Must be an ISO 8601 date-time with a UTC offset."]}
    assert results[2]["errors"] == {"non_field_errors": ["Each event must be a JSON object."]}
    assert Event.objects.count() == 2


VALID = {
    "id": "0b6f4f1e-8d0c-4c55-9d6c-0f3c2a8f6a10",
    "type": "application.status_changed",
    "occurred_at": "2026-03-01T14:05:00Z",
    "facility": "MERCY-01",
    "actor": "recruiter-17",
    "data": {"application_id": "A-1001", "status": "interviewing"},
}


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"id": None}, {"id": ["This field is required."]}),
        ({"id": "not-a-uuid"}, {"id": ["Must be a UUID."]}),
        ({"type": None}, {"type": ["This field is required."]}),
        (
            {"type": "Job.Opened"},
            {"type": ["Must look like 'subject.verb' in lower case (letters, digits, _ and dots)."]},
        ),
        ({"type": "job"}, {"type": ["Must look like 'subject.verb' in lower case (letters, digits, _ and dots)."]}),
        ({"type": "a." + "b" * 70}, {"type": ["At most 64 characters."]}),
        ({"occurred_at": None}, {"occurred_at": ["This field is required."]}),
        (
            {"occurred_at": "2026-03-01T14:05:00"},
            {"occurred_at": ["Must include a UTC offset (for example 2026-03-01T14:05:00Z)."]},
        ),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, {"occurred_at": ["Must not be more than 5 minutes in the future."]}),
        ({"facility": None}, {"facility": ["This field is required for recruiting events."]}),
        ({"facility": 7}, {"facility": ["Must be a facility code."]}),
        ({"facility": "NOPE-99"}, {"facility": ["Unknown facility, or not one this caller may send events for."]}),
        ({"facility": "STJ-02"}, {"facility": ["Unknown facility, or not one this caller may send events for."]}),
        ({"actor": "x" * 129}, {"actor": ["Must be a string of at most 128 characters."]}),
        ({"data": []}, {"data": ["Must be a JSON object."]}),
        (
            {"data": {"application_id": "A-1", "status": "promoted"}},
            {"data": {"status": ["Must be one of: screening, interviewing, offered, hired, rejected, withdrawn."]}},
        ),
        ({"data": {"status": "hired"}}, {"data": {"application_id": ["This field is required."]}}),
        ({"extra": 1}, {"extra": ["Unknown field."]}),
    ],
)
def test_every_rejection_names_its_field(sender, facility_b, change, errors):
    event = {key: value for key, value in {**VALID, **change}.items() if value is not None or key not in change}
    event = {k: v for k, v in event.items() if not (k in change and change[k] is None)}

    response = post(sender, event)

    assert response.status_code == 400
    assert response.json()["results"][0]["status"] == "rejected"
    assert response.json()["results"][0]["errors"] == errors


@pytest.mark.parametrize(
    ("event_type", "data", "field", "message"),
    [
        ("job.opened", {"job_id": "J", "title": "RN", "specialty": "", "skills": "icu", "bill_rate": 1}, "skills",
         "Must be a list of strings."),
        ("job.opened", {"job_id": "J", "title": "RN", "specialty": "", "skills": [], "bill_rate": -1}, "bill_rate",
         "Must be at least 0."),
        ("job.opened", {"job_id": "J", "title": "RN", "specialty": "", "skills": [], "bill_rate": 1, "positions": 0},
         "positions", "Must be at least 1."),
        ("invoice.issued", {"invoice_id": "I", "placement_id": "P", "amount": "lots"}, "amount",
         "Must be a decimal number."),
        ("placement.started", {"placement_id": "P", "application_id": "A", "start_date": "2026-02-30",
                               "bill_rate": 1}, "start_date", "Must be a date (YYYY-MM-DD)."),
        ("outreach.sent", {"message_id": "M", "candidate_id": "C", "channel": "fax"}, "channel",
         "Must be one of: email, sms, phone, linkedin, whatsapp."),
        ("compliance.checked", {"check_id": "K", "candidate_id": "C", "credential": "BLS", "status": "compliant",
                                "severity": "none", "score": 101}, "score", "Must be at most 100."),
    ],
)  # fmt: skip
def test_data_is_checked_per_type(sender, event_type, data, field, message):
    response = post(sender, {**VALID, "type": event_type, "data": data})

    assert response.json()["results"][0]["errors"] == {"data": {field: [message]}}


def test_other_types_are_stored_and_already_processed(sender):
    event = {"id": str(uuid.uuid4()), "type": "report.downloaded", "occurred_at": "2026-03-01T10:00:00Z",
             "actor": "viewer-3", "data": {"anything": [1, 2]}}  # fmt: skip

    assert post(sender, event).status_code == 201

    stored = Event.objects.get(id=event["id"])
    assert (stored.category, stored.status, stored.facility_id) == ("activity", "processed", None)


def test_too_many_events_is_413_with_the_limits(sender, stream):
    body = [stream.event(f"e{i}", "user.login", 0) for i in range(1001)]

    response = post(sender, body, "/api/v1/events/bulk/")

    assert response.status_code == 413
    assert "at most 1,000 events and 5 MiB" in response.json()["detail"]
    assert Event.objects.count() == 0


def test_too_many_bytes_is_413(sender, stream):
    big = [stream.event(f"e{i}", "user.login", 0, note="x" * 60_000) for i in range(90)]

    response = post(sender, big, "/api/v1/events/bulk/")

    assert response.status_code == 413


def test_a_single_event_over_its_limit_is_413(sender, stream):
    assert post(sender, stream.event("e", "user.login", 0, note="x" * 200_000)).status_code == 413


def test_data_over_64_kib_is_rejected(sender, stream):
    response = post(sender, [stream.event("e", "user.login", 0, note="x" * 70_000)], "/api/v1/events/bulk/")

    assert response.json()["results"][0]["errors"] == {"data": ["At most 64 KiB when serialized."]}


@pytest.mark.parametrize(("body", "path"), [("{nope", "/api/v1/events/bulk/"), ('{"a": 1}', "/api/v1/events/bulk/"),
                                            ("[1]", "/api/v1/events/"), ("{nope", "/api/v1/events/")])  # fmt: skip
def test_a_body_of_the_wrong_shape_is_400(sender, body, path):
    response = sender.post(path, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json() or "non_field_errors" in response.json()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("path", ["/api/v1/events/bulk/", "/api/v1/events/"])
def test_nan_and_infinity_are_not_json(sender, stream, constant, path):
    event = json.dumps(stream.event("e", "user.login", 0, score=0)).replace('"score": 0', f'"score": {constant}')
    body = f"[{event}]" if path.endswith("bulk/") else event

    response = sender.post(path, data=body, content_type="application/json")

    if path.endswith("bulk/"):  # the item is rejected, as any bad item of a bulk request is
        assert response.status_code == 200
        (result,) = response.json()["results"]
        assert result["status"] == "rejected"
        assert "not valid JSON" in result["errors"]["non_field_errors"][0]
    else:
        assert response.status_code == 400
        assert "not valid JSON" in response.json()["detail"]
    assert not Event.objects.exists()


def test_an_id_spelled_another_way_is_the_same_id(sender, stream):
    event = stream.job("J-1")
    assert post(sender, event).status_code == 201

    response = post(sender, {**event, "id": "{" + event["id"].upper() + "}"})

    assert response.status_code == 200
    assert response.json()["results"] == [{"id": event["id"], "status": "duplicate"}]


def test_a_type_with_a_line_break_is_refused(sender, stream):
    response = post(sender, [stream.event("e", "user.login\n", 0)], "/api/v1/events/bulk/")

    assert response.json()["results"][0]["errors"]["type"][0].startswith("Must look like")


@pytest.mark.parametrize("path", ["/api/v1/events/", "/api/v1/events/bulk/"])
@pytest.mark.parametrize("wrong_type", [["job.opened"], {"name": "job.opened"}])
def test_a_type_that_is_not_text_is_refused_not_a_crash(sender, stream, path, wrong_type):
    event = {**stream.job("J-1"), "type": wrong_type}

    response = post(sender, [event] if path.endswith("bulk/") else event, path)

    assert response.status_code == (200 if path.endswith("bulk/") else 400)
    assert response.json()["results"][0]["errors"]["type"][0].startswith("Must look like")
    assert not Event.objects.exists()


def test_a_key_for_a_cannot_write_b(facility_a, facility_b, stream):
    sender = key_client(make_api_key("ats", [facility_a]))

    response = post(sender, Stream("STJ-02").job("J-9"))

    assert response.status_code == 400
    assert Event.objects.count() == 0


def test_recruiters_write_for_their_facilities_viewers_not_at_all(alice, carol, stream):
    assert post(jwt_client(alice), stream.job("J-1")).status_code == 201
    assert post(jwt_client(alice), Stream("STJ-02").job("J-2")).status_code == 400
    assert post(jwt_client(carol), stream.job("J-3")).status_code == 403


def test_stats_count_the_callers_facilities(sender, stream, facility_b, ada):
    post(sender, [stream.job("J-1"), stream.candidate("C-1")], "/api/v1/events/bulk/")
    post(jwt_client(ada), Stream("STJ-02").job("J-2"))

    assert sender.get("/api/v1/events/stats/").json() == {"pending": 2, "processed": 0, "failed": 0, "total": 2}
    assert jwt_client(ada).get("/api/v1/events/stats/").json()["total"] == 3
