"""A lost database is a 503 with Retry-After, never a 500 or a traceback, and the next request
after it returns works without restarting anything. The real web server reaches the real
PostgreSQL through a link the test cuts (tests/faults.py)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Role
from events.models import Event
from tests.conftest import WebProcess, wait_for
from tests.factories import make_api_key, make_user
from tests.faults import CuttableLink

pytestmark = pytest.mark.django_db(transaction=True)


def database_target() -> tuple[str, int] | str:
    settings = connection.settings_dict
    port = int(settings["PORT"] or 5432)
    if str(settings["HOST"]).startswith("/"):
        return f"{settings['HOST']}/.s.PGSQL.{port}"
    return (settings["HOST"] or "127.0.0.1", port)


@pytest.fixture
def link():
    link = CuttableLink(database_target())
    yield link
    link.close()


@pytest.fixture
def web(link, tmp_path):
    user = connection.settings_dict["USER"] or "postgres"
    password = f":{connection.settings_dict['PASSWORD']}" if connection.settings_dict.get("PASSWORD") else ""
    url = f"postgres://{user}{password}@127.0.0.1:{link.port}/{connection.settings_dict['NAME']}"
    server = WebProcess(tmp_path / "gunicorn.log", env={"DATABASE_URL": url, "DB_CONN_MAX_AGE": "60"})
    try:
        wait_for(server.up, timeout=60, what="gunicorn to answer")
    except BaseException:
        server.stop()
        print(server.log_path.read_text())
        raise
    yield server
    server.stop()


def send(url: str, *, headers: dict | None = None, body: bytes | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def events(tag: str, count: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {"id": str(uuid.uuid4()), "type": "page.viewed", "occurred_at": now, "actor": tag, "data": {"n": n}}
        for n in range(count)
    ]


def test_the_api_answers_503_while_the_database_is_gone_and_recovers_by_itself(web, link, facility_a):
    key = make_api_key("ats", [facility_a])
    auth = {"Authorization": f"Api-Key {key}"}
    bulk = f"{web.url}/api/v1/events/bulk/"
    assert send(bulk, headers=auth, body=json.dumps(events("before", 3)).encode())[0] == 200

    link.cut()
    status, headers, body = send(bulk, headers=auth, body=json.dumps(events("during", 3)).encode())
    health = send(f"{web.url}/health/")

    assert status == 503, body[:500]
    assert headers["Retry-After"] == "5"
    assert json.loads(body) == {
        "detail": "The service is briefly unavailable (its database cannot be reached). Try again shortly."
    }
    assert health[0] == 503

    link.restore()
    wait_for(lambda: send(f"{web.url}/health/")[0] == 200, timeout=30, what="health after the database returned")
    status, _, body = send(bulk, headers=auth, body=json.dumps(events("after", 3)).encode())

    assert status == 200, body[:500]
    assert [r["status"] for r in json.loads(body)["results"]] == ["created"] * 3
    assert sorted(set(Event.objects.values_list("actor", flat=True))) == ["after", "before"]
    assert "database unavailable" in web.log_path.read_text()  # logged, as a warning without a traceback


def test_a_signed_in_operator_gets_a_plain_503_page(web, link):
    browser = Client()
    browser.force_login(make_user("ops", Role.ADMIN, is_staff=True))
    cookie = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    assert send(f"{web.url}/admin/", headers=cookie)[0] == 200

    link.cut()
    status, headers, body = send(f"{web.url}/admin/", headers=cookie)

    assert status == 503
    assert headers["Retry-After"] == "5"
    assert headers["Content-Type"].startswith("text/html")
    assert b"briefly unavailable" in body and b"Traceback" not in body

    link.restore()
    wait_for(lambda: send(f"{web.url}/admin/", headers=cookie)[0] == 200, timeout=30, what="the console again")
