"""Liveness of work claimed by a process: who holds it, and a heartbeat that proves it is alive.

Refresh runs and report runs are claimed by one executor (a conditional UPDATE records
``executor_name()``); while it works, a ``Heartbeat`` thread refreshes the claimed rows'
``heartbeat_at``. A sweep takes a row whose heartbeat is older than its stale limit for lost
(docs/decisions.md, "Claims, liveness and beat slots"). Nothing here holds session state, so it
works through a transaction-pooling connection pooler.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


def heartbeat_every(stale: float) -> float:
    """A heartbeat interval that leaves an executor several beats to miss before it is stale."""
    return max(0.5, min(10.0, stale / 6))


def executor_name() -> str:
    """Who executes: recorded on what it claims, so an operator can find the process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    """While an executor works, a thread with a database session of its own calls ``beat`` (an
    UPDATE of the claimed rows' heartbeat) every ``every`` seconds, until the block ends.

    Each beat is one short statement in a transaction of its own: nothing is held between
    beats (no session lock, no session state), so a beat can go through any pooled connection.
    Inside a transaction there is no thread: the claim is not committed, so no other session can
    see it nor take it for lost, and a beat would only wait for this very transaction.
    """

    def __init__(self, beat: Callable[[], int], *, every: float, name: str) -> None:
        self.beat, self.every, self.name = beat, every, name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        from django.db import connection as own  # this thread's session

        try:
            while not self._stop.wait(self.every):
                try:
                    self.beat()
                except DatabaseError:  # the database is away: the next beat tries a new session
                    logger.warning("%s: could not record a heartbeat", self.name, exc_info=True)
                    own.close()
        finally:
            own.close()
