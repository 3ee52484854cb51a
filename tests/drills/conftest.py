"""One copy of the app for the whole drill run, a fresh tag and traffic record per drill, and the
figures each drill measured, printed before pytest's closing line."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from tests.drills.app import DRILLS_DIR, DrillApp, free_port
from tests.drills.traffic import Api, Ledger, Traffic

FIGURES: list[str] = []
T = TypeVar("T")


@dataclass
class Drill:
    """What one drill works with: its events' tag, the answers it got, the APIs it sends through."""

    name: str
    ledger: Ledger
    traffic: Traffic
    sender: Api  # an API key, as an upstream system sends events
    admin: Api  # the admin account (JWT), for refreshes and reports
    figures: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def figure(self, text: str) -> None:
        self.figures.append(text)

    def expect(self, what: str, check: Callable[..., T], *args, **kwargs) -> T | None:
        """Run one check; a failure is kept, not raised, so the drill's other checks still run
        and the report says everything that went wrong. ``conclude`` fails the drill."""
        try:
            return check(*args, **kwargs)
        except AssertionError as failure:
            self.failures.append(f"{what}: {failure}")
            return None

    def conclude(self) -> None:
        assert not self.failures, f"{len(self.failures)} of the drill's checks failed:\n- " + "\n- ".join(self.failures)


@pytest.fixture(scope="session")
def app() -> Iterator[DrillApp]:
    copy = DrillApp(var_dir=DRILLS_DIR / "app", port=free_port())
    try:
        copy.start()
        FIGURES.append(f"start: healthy {copy.started_in:.0f}s after `make run` (fresh VAR_DIR, migrations, seed)")
        yield copy
    finally:
        copy.shutdown()


@pytest.fixture
def drill(app: DrillApp, request: pytest.FixtureRequest) -> Iterator[Drill]:
    name = request.node.name.removeprefix("test_")
    traffic = Traffic()
    tag = f"{name.replace('_', '')[:12]}{secrets.token_hex(2)}"
    context = Drill(name, Ledger(tag), traffic, app.sender.with_traffic(traffic), app.admin.with_traffic(traffic))
    offset = app.log_size()
    try:
        yield context
    finally:
        FIGURES.append(f"{name}: " + "; ".join([*context.figures, traffic.summary()]))
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(f"\n--- app log during {name} (last 80 lines) ---")
            print("\n".join(app.log_since(offset).splitlines()[-80:]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# The simplest faults first; Ctrl-C ends the copy, so it goes last.
ORDER = ["test_worker_kills", "test_kill_mid_run", "test_outages", "test_concurrent_bulk", "test_second_beat",
         "test_stop_with_sigint"]  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: ORDER.index(item.module.__name__.rsplit(".", 1)[-1]))


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("drill figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
