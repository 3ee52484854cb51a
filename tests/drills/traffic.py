"""What the drills send and what they got back: an HTTP client that records every answer, and a
sender of tagged events that remembers which ones the app acknowledged.

Standard library only (plus nothing from the project): the drills talk to the app from outside,
as an upstream system and an operator would.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Answers after which a sender tries again with the same ids: no answer (None), too many
# requests, and any server error (a 500 is still a failure of the drill, but the events must
# get in all the same).
RETRYABLE = {None, 429, 500, 502, 503, 504}
# A bulk request is retried for this long before the drill gives up on it (the events then
# count as never acknowledged, which is allowed; the drill reports how many).
SEND_DEADLINE_SECONDS = 90


@dataclass
class Answer:
    method: str
    path: str
    status: int | None  # None: no HTTP answer at all (refused, reset, timed out)
    body: Any = None
    retry_after: str | None = None
    error: str = ""
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        what = f"{self.status}" if self.status is not None else f"no answer ({self.error})"
        text = json.dumps(self.body)[:300] if self.body is not None else ""
        return f"{time.strftime('%H:%M:%S', time.localtime(self.at))} {self.method} {self.path} -> {what} {text}"


class Traffic:
    """Every answer of one drill. The rules: no 500 ever; a 503 only with Retry-After (a database
    outage); a connection error only while a process restarts (allowed, but counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.answers: list[Answer] = []

    def record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def server_errors(self) -> list[Answer]:
        """5xx answers the rules forbid. /health/ says 503 by design while the database is down."""
        return [
            a for a in self.answers
            if a.status is not None and a.status >= 500
            and not (a.status == 503 and (a.retry_after or a.path == "/health/"))
        ]  # fmt: skip

    def connection_errors(self) -> list[Answer]:
        return [a for a in self.answers if a.status is None]

    def summary(self) -> str:
        counts = Counter(a.status if a.status is not None else "no answer" for a in self.answers)
        parts = ", ".join(f"{count} x {status}" for status, count in sorted(counts.items(), key=str))
        return f"{len(self.answers)} requests ({parts})"


class Api:
    """JSON over HTTP to the app, every answer recorded in ``traffic``."""

    def __init__(self, base: str, traffic: Traffic, *, api_key: str = "", login: tuple[str, str] | None = None):
        self.base = base.rstrip("/")
        self.traffic = traffic
        self.api_key = api_key
        self.login = login
        self._access = ""

    def with_traffic(self, traffic: Traffic) -> Api:
        other = Api(self.base, traffic, api_key=self.api_key, login=self.login)
        other._access = self._access
        return other

    def call(self, method: str, path: str, body: Any = None, *, timeout: float = 30) -> Answer:
        answer = self._send(method, path, body, timeout=timeout)
        if answer.status == 401 and self.login:  # an access token lasts 15 minutes: sign in again
            self._access = ""
            answer = self._send(method, path, body, timeout=timeout)
        return answer

    def get(self, path: str, **kwargs) -> Answer:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> Answer:
        return self.call("POST", path, {} if body is None else body, **kwargs)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Api-Key {self.api_key}"
        elif self.login:
            if not self._access:
                token = self._send("POST", "/api/v1/auth/token/", dict(zip(("username", "password"), self.login, strict=True)),
                                   timeout=30, auth=False)  # fmt: skip
                if not token.ok:
                    return headers  # the call answers 401 and says why
                self._access = token.body["access"]
            headers["Authorization"] = f"Bearer {self._access}"
        return headers

    def _send(self, method: str, path: str, body: Any, *, timeout: float, auth: bool = True) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        headers = self._headers() if auth else {"Content-Type": "application/json"}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = Answer(
                    method, path, response.status, _json(response.read()), response.headers.get("Retry-After")
                )
        except urllib.error.HTTPError as error:
            answer = Answer(method, path, error.code, _json(error.read()), error.headers.get("Retry-After"))
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            answer = Answer(method, path, None, error=f"{type(reason).__name__}: {reason}")
        self.traffic.record(answer)
        return answer


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return {"non_json": raw[:200].decode(errors="replace")}


# --- tagged events ---------------------------------------------------------------------------


class Ledger:
    """Which of a drill's events were sent, and which the app acknowledged (``created`` or
    ``duplicate`` in a 200 answer: stored, the app says)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.actor = f"drill:{tag}"
        self._lock = threading.Lock()
        self.sent: set[str] = set()
        self.acked: set[str] = set()
        self.applications: set[str] = set()  # external ids of acknowledged application.created events
        self.rejected: list[dict] = []
        self.gave_up = 0  # events never acknowledged (their request kept failing until the deadline)
        self._batches = 0

    def batch(self, triplets: int, *, facility: str = "MERCY-01") -> list[dict]:
        """``triplets`` times (a job, a candidate, an application of the one to the other): recruiting
        events that all apply in one processing batch, whatever order they arrive in."""
        with self._lock:
            self._batches += 1
            number = self._batches
        occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        events = []
        for i in range(triplets):
            job, candidate, application = (f"{self.tag}-{kind}{number}-{i}" for kind in "JCA")
            events += [
                self._event("job.opened", occurred, facility, job_id=job, title="Registered Nurse", specialty="ICU",
                            skills=["ICU"], positions=1, bill_rate="80.00"),
                self._event("candidate.created", occurred, facility, candidate_id=candidate, first_name="Dana",
                            last_name="Drill", email=f"{candidate.lower()}@example.com", phone="+1 555 010 0000",
                            skills=["icu"], source="referral"),
                self._event("application.created", occurred, facility, application_id=application, job_id=job,
                            candidate_id=candidate, source="referral"),
            ]  # fmt: skip
        return events

    def _event(self, event_type: str, occurred: str, facility: str, **data) -> dict:
        return {"id": str(uuid.uuid4()), "type": event_type, "occurred_at": occurred, "facility": facility,
                "actor": self.actor, "data": data}  # fmt: skip

    def settle(self, events: list[dict], answer: Answer) -> bool:
        """Record a 200 bulk answer; False if the request must be sent again."""
        if answer.status != 200 or not isinstance(answer.body, dict):
            return False
        with self._lock:
            for event, result in zip(events, answer.body.get("results", []), strict=False):
                if result.get("status") in ("created", "duplicate"):
                    self.acked.add(event["id"])
                    if event["type"] == "application.created":
                        self.applications.add(event["data"]["application_id"])
                else:
                    self.rejected.append(result)
        return True


def send(api: Api, ledger: Ledger, events: list[dict], *, patience: float = SEND_DEADLINE_SECONDS) -> Answer:
    """POST one bulk request, again with the same ids while the app cannot take it (RETRYABLE),
    as a careful upstream system does, for at most ``patience`` seconds."""
    with ledger._lock:
        ledger.sent.update(event["id"] for event in events)
    deadline = time.monotonic() + patience
    while True:
        answer = api.post("/api/v1/events/bulk/", events, timeout=60)
        if ledger.settle(events, answer):
            return answer
        if answer.status not in RETRYABLE or time.monotonic() > deadline:
            ledger.gave_up += len(events)
            return answer
        time.sleep(0.5)


class BackgroundSender(threading.Thread):
    """Sends a batch every ``interval`` seconds until stopped, each one retried like ``send``:
    steady traffic through a fault."""

    def __init__(self, api: Api, ledger: Ledger, *, triplets: int = 20, interval: float = 0.5,
                 patience: float = SEND_DEADLINE_SECONDS) -> None:  # fmt: skip
        super().__init__(daemon=True, name=f"sender-{ledger.tag}")
        self.api, self.ledger, self.triplets, self.interval, self.patience = api, ledger, triplets, interval, patience
        self._halt = threading.Event()
        self.requests = 0

    def run(self) -> None:
        while not self._halt.is_set():
            send(self.api, self.ledger, self.ledger.batch(self.triplets), patience=self.patience)
            self.requests += 1
            self._halt.wait(self.interval)

    def stop(self, timeout: float = SEND_DEADLINE_SECONDS + 30) -> None:
        self._halt.set()
        self.join(timeout)
