"""What every answer says about itself: a Content-Security-Policy that lets nothing in from
outside, no caching of API answers, and error pages that show neither URLs nor settings."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.conf import settings

from tests.config.test_settings import ROOT, run_with
from tests.factories import jwt_client

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def no_outside_source(directives: dict[str, list[str]]) -> None:
    for name, sources in directives.items():
        for source in sources:
            assert not re.match(r"(https?:|\*|//)", source), f"{name} allows {source}"


@pytest.mark.parametrize("path", ["/admin/", "/admin/status/", "/admin/events/job/"])
def test_the_console_has_a_policy_whose_nonce_its_styles_carry(admin_client, path):
    response = admin_client.get(path)
    directives = policy(response)

    assert response.status_code == 200
    no_outside_source(directives)
    assert directives["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"] + directives["style-src"]
    html = response.content.decode()
    style_tags = re.findall(r"<style[^>]*>", html)
    if style_tags:  # the page's own styles carry the nonce the policy names
        nonce = next(s for s in directives["style-src"] if s.startswith("'nonce-"))[7:-1]
        assert all(f'nonce="{nonce}"' in tag for tag in style_tags)
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html), "an inline script"
    assert ' style="' not in html, "an inline style attribute the policy would block"


def test_the_dashboard_charts_need_no_inline_style(admin_client):
    html = admin_client.get("/admin/").content.decode()

    assert "<svg" in html or "console" in html
    assert ' style="' not in html


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_have_a_policy_and_load_nothing_from_outside(client, path):
    response = client.get(path)
    html = response.content.decode()

    assert response.status_code == 200
    no_outside_source(policy(response))
    assert "googleapis" not in html and "https://" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"


def test_the_swagger_start_up_script_is_a_file_of_its_own(client):
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_api_answers_are_not_stored_by_any_cache(alice):
    for path in ["/api/v1/auth/me/", "/api/v1/candidates/", "/api/v1/nope/"]:
        response = jwt_client(alice).get(path)
        assert "no-store" in response["Cache-Control"], path
        assert "Authorization" in response["Vary"]


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_is_a_plain_404_that_lists_no_urls(client):
    response = client.get("/nope/")

    assert response.status_code == 404
    assert b"admin/" not in response.content.replace(b'href="/admin/"', b"")
    assert b"URLconf" not in response.content


def test_make_run_settings_have_debug_off_unless_asked():
    code = "from django.conf import settings; print(settings.DEBUG)"
    urls = {"DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL}
    off = run_with("config.settings.local", "shell", "-c", code, **urls)
    on = run_with("config.settings.local", "shell", "-c", code, DEBUG="1", **urls)

    assert off.stdout.strip().splitlines()[-1] == "False", off.stderr
    assert on.stdout.strip().splitlines()[-1] == "True", on.stderr


def test_email_links_point_at_the_port_make_run_serves():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)",
        ],
        cwd=ROOT,
        env={
            **_env_without("SITE_URL"),
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "WEB_PORT": "8123",
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip() == "http://127.0.0.1:8123", result.stderr


def _env_without(*names: str) -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in names and k != "HOST"}


@pytest.mark.parametrize(
    "query",
    ["occurred_at__lt=0001-01-01T00:00:00%2B23:59", "occurred_at__year=0", "occurred_at__year=99999999999",
     "occurred_at__iso_year=-1"],
)  # fmt: skip
def test_a_console_list_filter_out_of_range_is_a_400_not_a_500(admin_user, query):
    from django.test import Client

    browser = Client(raise_request_exception=False)  # as the server answers, not as a test raises
    browser.force_login(admin_user)

    response = browser.get(f"/admin/events/event/?{query}")

    assert response.status_code in (200, 302, 400)
    assert response.status_code != 400 or b"out of range" in response.content


def test_a_refused_input_still_carries_the_security_headers(client):
    response = client.get("/api/v1/jobs/?x=%00")

    assert response.status_code == 400
    assert "no-store" in response["Cache-Control"]
    assert "Content-Security-Policy" in response
