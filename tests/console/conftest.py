"""The operator console in a real browser: Playwright driving Debian's Chromium headless
against pytest-django's live server, with a real Celery worker where an action queues work.

Chromium is found at $CHROMIUM_PATH, else /usr/bin/chromium. Where it is missing the browser
tests are not collected and the run says so at the end; CI sets REQUIRE_BROWSER=1, which
makes a missing browser an error instead.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "var" / "artifacts" / "browser"))


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else None


def pytest_collection_modifyitems(config, items) -> None:
    browser_items = [item for item in items if "page" in getattr(item, "fixturenames", ())]
    if not browser_items or chromium_path():
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("REQUIRE_BROWSER=1 but no Chromium: apt-get install chromium (or set CHROMIUM_PATH)")
    for item in browser_items:  # not run, and not counted as passed: the terminal summary names them
        items.remove(item)
    config._console_browser_missing = len(browser_items)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    missing = getattr(config, "_console_browser_missing", 0)
    if missing:
        terminalreporter.write_line(
            f"BROWSER TESTS NOT RUN: {missing} test(s) need Chromium (apt-get install chromium)", red=True
        )


@pytest.fixture(scope="module")
def browser() -> Iterator:
    # Playwright's sync API runs an event loop in this thread while the browser is open; the ORM
    # calls the tests make between browser steps are synchronous and safe. The permission ends
    # with the browser, so no later test (or process it starts) inherits it.
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save the whole page to the artifacts folder (kept by CI) and return the file."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
