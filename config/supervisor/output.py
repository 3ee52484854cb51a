"""supervisord event listener: the programs' output on the terminal, each line with its name in front.

supervisord reads what web, worker and beat write and hands it to this listener as PROCESS_LOG
events (``stdout_events_enabled`` in supervisord.conf). Each complete line is written to stderr,
which supervisord sends to its own standard output, as ``HH:MM:SS web    | the line``.

The listener protocol (supervisord's documentation, "Events"): write READY, read one header line
and the payload it announces, answer ``RESULT 2\\nOK``; stdout carries only the protocol.
Standard library only: it starts before, and must not depend on, the Django project.
"""

from __future__ import annotations

import io
import signal
import sys
import time
from typing import cast

WIDTH = 6  # "worker", the longest program name


def _headers(line: str) -> dict[str, str]:
    return dict(token.split(":", 1) for token in line.split())


def _write(name: str, lines: list[str]) -> None:
    stamp = time.strftime("%H:%M:%S")
    sys.stderr.write("".join(f"{stamp} {name:<{WIDTH}} | {line}\n" for line in lines))
    sys.stderr.flush()


def main() -> None:
    events, answers = sys.stdin, sys.stdout
    partial: dict[str, str] = {}  # a line a program has begun but not ended yet
    # supervisord stops the listener last, with SIGTERM: a normal end, not a failure.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        _relay(events, answers, partial)
    finally:
        for name, rest in partial.items():
            _write(name, [rest])


def _relay(events, answers, partial: dict[str, str]) -> None:
    while True:
        answers.write("READY\n")
        answers.flush()
        header = events.readline()
        if not header:  # supervisord is gone
            break
        payload = events.read(int(_headers(header)["len"]))
        meta, _, data = payload.partition("\n")
        name = _headers(meta).get("processname", "?")
        *complete, rest = (partial.pop(name, "") + data).split("\n")
        if rest:
            partial[name] = rest
        if complete:
            _write(name, complete)
        answers.write("RESULT 2\nOK")
        answers.flush()


if __name__ == "__main__":
    # supervisord counts the payload's length in characters of its text; read it as that text.
    cast(io.TextIOWrapper, sys.stdin).reconfigure(encoding="utf-8", errors="replace")
    cast(io.TextIOWrapper, sys.stderr).reconfigure(encoding="utf-8", errors="replace")
    main()
