"""One boundary for hostile input: what PostgreSQL cannot store or a parser cannot take is a 4xx
that names the field, on every route, and in a bulk request only its own item is rejected."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from api.boundary import MAX_JSON_DEPTH, canonical_json_problem, json_problem
from events.models import Event
from events.schema import canonical_json
from tests.accounts.test_permission_walk import api_routes, methods_of, walk
from tests.events.helpers import Stream
from tests.factories import jwt_client, key_client, make_api_key

pytestmark = pytest.mark.django_db

NUL = "\x00"
LONE_HIGH = "\ud800"
LONE_LOW = "\udc00"


def raw_json(value) -> bytes:
    """JSON as a hostile client writes it: json.dumps spells NUL and lone surrogates as escapes."""
    return json.dumps(value).encode()


@pytest.fixture
def sender(facility_a):
    return key_client(make_api_key("ats", [facility_a]))


# --- the checks themselves ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"name": "ok", "nested": [1, "two", {"three": 3.0}]}, None),
        ({"emoji": "\U0001f600 paired surrogates are fine"}, None),
        ({"escaped": "\\u0000 and \\ud800 spelt with a backslash are text"}, None),
        ({"name": f"a{NUL}b"}, "NUL"),
        ({"name": f"a{LONE_HIGH}"}, "surrogate"),
        ({"name": f"{LONE_LOW}a"}, "surrogate"),
        ({"name": f"{LONE_LOW}{LONE_HIGH}"}, "surrogate"),  # reversed pair
        ({f"key{NUL}": 1}, "NUL"),
        ({"deep": json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))}, "Nested"),
    ],
)
def test_parsed_and_canonical_checks_agree(value, problem):
    """The parsed walk (API bodies) and the text scan (events' canonical data) find the same."""
    found = json_problem(value)
    scanned = canonical_json_problem(canonical_json(value))
    if problem is None:
        assert found is None and scanned is None
    else:
        assert found is not None and problem in found[1]
        assert scanned is not None and problem in scanned


def test_the_path_names_the_field():
    assert json_problem({"options": {"columns": ["a", f"b{NUL}"]}}) == (
        "options.columns[1]",
        "Must not contain the NUL character (\\u0000).",
    )


# --- events: one bad item is that item's rejection ----------------------------------------------


def test_a_bulk_request_stores_the_good_items_and_rejects_each_bad_one(sender):
    stream = Stream("MERCY-01")
    good = [stream.job("J-1"), stream.job("J-2")]
    nul_actor = {**stream.job("J-3"), "actor": f"recruiter{NUL}"}
    nul_data = stream.job("J-4", title=f"Nurse{NUL}")
    lone_surrogate = stream.event("activity-1", "page.viewed", 0, page=f"home{LONE_HIGH}")
    nul_key = stream.event("activity-2", "page.viewed", 0, **{f"pa{NUL}ge": "home"})
    deep = stream.event("activity-3", "page.viewed", 0, tree=json.loads("[" * 40 + "]" * 40))
    nul_facility = {**stream.job("J-5"), "facility": f"MERCY-01{NUL}"}
    items = [good[0], nul_actor, nul_data, lone_surrogate, nul_key, deep, nul_facility, good[1]]

    response = sender.post("/api/v1/events/bulk/", data=raw_json(items), content_type="application/json")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created"] + ["rejected"] * 6 + ["created"]
    assert "NUL" in results[1]["errors"]["actor"][0]
    assert "NUL" in results[2]["errors"]["data"][0]
    assert "surrogate" in results[3]["errors"]["data"][0]
    assert "NUL" in results[4]["errors"]["data"][0]
    assert "Nested too deeply" in results[5]["errors"]["data"][0]
    assert "NUL" in results[6]["errors"]["facility"][0]
    assert {str(i) for i in Event.objects.values_list("id", flat=True)} == {item["id"] for item in good}
    assert Event.objects.count() == 2


def test_one_event_with_a_nul_is_a_400_naming_the_field(sender):
    event = Stream("MERCY-01").job("J-1", title=f"Nurse{NUL}")

    response = sender.post("/api/v1/events/", data=raw_json(event), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["results"][0]["errors"] == {"data": ["Must not contain the NUL character (\\u0000)."]}
    assert not Event.objects.exists()


def test_items_no_parser_can_read_are_rejected_on_their_own(sender):
    """Nesting past the parser's own limit, or a number no double can hold, makes the whole body
    unreadable to the parser; the body is then split into its elements and only those fail."""
    stream = Stream("MERCY-01")
    good = [stream.job("J-1"), stream.job("J-2"), stream.job("J-3")]
    too_deep = b"[" * 5000 + b"]" * 5000
    huge_number = raw_json(stream.event("activity-1", "page.viewed", 0, amount=1)).replace(b"1}", b"1e400}")
    body = b"[ %s,%s ,\n%s, %s,%s]" % (raw_json(good[0]), too_deep, raw_json(good[1]), huge_number, raw_json(good[2]))

    response = sender.post("/api/v1/events/bulk/", data=body, content_type="application/json")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created", "rejected", "created"]
    assert "depth limit" in results[1]["errors"]["non_field_errors"][0]
    assert "infinity" in results[3]["errors"]["non_field_errors"][0]
    assert {str(i) for i in Event.objects.values_list("id", flat=True)} == {item["id"] for item in good}


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 4999,  # brackets that do not balance
        b'[{"id": "unterminated}, ' + b"[" * 2000 + b"]" * 2000 + b"]",
        b"[1e400,]",  # a trailing comma
        b'{"events": 1e400}',  # not an array
    ],
    ids=["unbalanced", "unterminated-string", "trailing-comma", "object"],
)
def test_a_body_that_cannot_be_split_into_items_is_a_400_not_a_500(sender, body):
    response = sender.post("/api/v1/events/bulk/", data=body, content_type="application/json")

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert not Event.objects.exists()


def test_one_event_nested_beyond_what_a_parser_takes_is_a_400(sender):
    response = sender.post("/api/v1/events/", data=b"[" * 5000 + b"]" * 5000, content_type="application/json")

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


# --- every route: paths, query strings, headers --------------------------------------------------


DETAIL_ROUTES = [r for r in api_routes() if r.is_detail and not r.numeric]


@pytest.mark.parametrize("route", DETAIL_ROUTES, ids=[r.path for r in DETAIL_ROUTES])
def test_a_nul_in_a_path_id_is_a_400_on_every_route(route, ada):
    client = jwt_client(ada)
    for method in methods_of(route) or ["GET"]:
        response = getattr(client, method.lower())(route.url(quote(f"A{NUL}1")))
        assert response.status_code == 400, (route.path, method, response.status_code)
        assert "NUL" in json.dumps(response.json())


@pytest.mark.parametrize("path", sorted({r.url("1") for r in walk() if r.path.startswith("/api/v1/")}))
def test_a_nul_in_the_query_string_is_a_400_on_every_route(path, ada):
    response = jwt_client(ada).get(path, {"search": f"x{NUL}"})

    assert response.status_code == 400
    assert response.json() == {"search": ["Must not contain the NUL character (\\u0000)."]}


def test_an_over_long_query_value_is_a_400(ada):
    response = jwt_client(ada).get("/api/v1/jobs/", {"search": "x" * 5000})

    assert response.status_code == 400
    assert "At most 1000 characters" in response.json()["search"][0]


def test_a_nul_in_a_header_is_a_400(ada):
    response = jwt_client(ada).get("/api/v1/auth/me/", HTTP_X_CLIENT_NOTE=f"a{NUL}b")

    assert response.status_code == 400


def test_the_console_gets_a_plain_400_too(admin_client):
    response = admin_client.get(f"/admin/events/job/?q=x{NUL}")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


# --- JSON bodies of every other route -------------------------------------------------------------


def test_a_nul_facility_code_in_a_body_is_a_400_naming_the_field(ada, facility_a):
    client = jwt_client(ada)

    key = client.post(
        "/api/v1/api-keys/",
        data=raw_json({"name": "x", "facilities": [f"MERCY-01{NUL}"]}),
        content_type="application/json",
    )
    user = client.post(
        "/api/v1/users/",
        data=raw_json({"username": "newbie", "password": "a-long-passphrase-1", "facilities": [f"M{NUL}"]}),
        content_type="application/json",
    )

    assert key.status_code == 400 and key.json() == {"facilities[0]": ["Must not contain the NUL character (\\u0000)."]}
    assert user.status_code == 400 and "facilities[0]" in user.json()


def test_a_deeply_nested_report_body_is_a_400(alice):
    body = b'{"name": "deep", "options": ' + b"[" * 1000 + b"]" * 1000 + b"}"

    response = jwt_client(alice).post("/api/v1/reports/", data=body, content_type="application/json")

    assert response.status_code == 400
    assert "Nested too deeply" in json.dumps(response.json())


def test_a_lone_surrogate_in_a_body_is_a_400_naming_the_field(alice):
    body = b'{"name": "bad \\ud800 name", "kpi": "pipeline"}'

    response = jwt_client(alice).post("/api/v1/reports/", data=body, content_type="application/json")

    assert response.status_code == 400
    assert "surrogate" in response.json()["name"][0]


def test_a_form_encoded_body_is_a_415(alice):
    response = jwt_client(alice).post(
        "/api/v1/reports/", data="options=null&name=x", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415


def test_nan_is_not_json(alice):
    response = jwt_client(alice).post("/api/v1/reports/", data=b'{"name": NaN}', content_type="application/json")

    assert response.status_code == 400


def test_an_over_long_username_on_sign_in_is_a_400(ada):
    response = jwt_client(ada).post(
        "/api/v1/auth/token/", {"username": "u" * 256, "password": "whatever"}, format="json"
    )

    assert response.status_code == 400
    assert "username" in response.json()


# --- query values out of range ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "-18:34",
        "2026-03-01T10:00:00-18:34",  # an offset PostgreSQL does not take
        "0001-01-01T00:00:00+05:00",  # no UTC date-time
        "9999-12-31T23:59:59-05:00",
        "2026-13-45T99:99:99Z",
    ],
)
def test_a_date_time_filter_out_of_range_is_never_a_500(value, alice):
    response = jwt_client(alice).get("/api/v1/events/", {"occurred_before": value})

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert "occurred_before" in response.json()


def test_an_offset_past_fifteen_hours_is_converted_not_refused(alice, facility_a):
    response = jwt_client(alice).get("/api/v1/events/", {"occurred_before": "2026-03-01T10:00:00-18:34"})

    assert response.status_code == 200


def test_a_number_out_of_range_in_a_filter_is_a_400(ada):
    response = jwt_client(ada).get("/api/v1/report-runs/", {"report": str(10**30)})

    assert response.status_code == 400
