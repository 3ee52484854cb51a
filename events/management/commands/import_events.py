"""Back-fill history: stream a JSON Lines file of events through the ingestion service."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.principals import Actor, SystemPrincipal
from events.schema import parse_events_json
from events.services.ingestion import REJECTED, events_ingest
from events.services.processing import events_process_pending


class Command(BaseCommand):
    help = (
        "Import events from a JSON Lines file (one event per line; '-' reads standard input). Events go "
        "through the same validation and idempotency as the API: a re-run reports duplicates, not copies."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="path to a .jsonl file, or - for standard input")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--process", action="store_true", help="apply the events to records before exiting")
        parser.add_argument("--show-rejected", type=int, default=10, help="print the first N rejections")

    def handle(self, *args, file: str, batch_size: int, process: bool, show_rejected: int, **options) -> None:
        if not 1 <= batch_size <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000")
        stream = sys.stdin if file == "-" else self._open(file)
        total_bytes = Path(file).stat().st_size if file != "-" else None
        by = Actor(principal=SystemPrincipal("import_events"))
        counts: Counter[str] = Counter()
        shown = 0
        batch: list = []
        line_numbers: list[int] = []

        def flush() -> None:
            nonlocal shown
            for number, result in zip(line_numbers, events_ingest(by=by, items=batch), strict=True):
                counts[result.status] += 1
                if result.status == REJECTED and shown < show_rejected:
                    shown += 1
                    self.stderr.write(f"line {number}: rejected {json.dumps(result.errors)}")
            batch.clear()
            line_numbers.clear()

        with tqdm(total=total_bytes, unit="B", unit_scale=True, disable=None, file=self.stderr) as progress:
            for number, line in enumerate(stream, 1):
                progress.update(len(line.encode()))
                if not line.strip():
                    continue
                try:
                    batch.append(parse_events_json(line))
                except ValueError as exc:
                    counts[REJECTED] += 1
                    if shown < show_rejected:
                        shown += 1
                        self.stderr.write(f"line {number}: rejected: not JSON ({exc})")
                    continue
                line_numbers.append(number)
                if len(batch) >= batch_size:
                    flush()
                    progress.set_postfix(
                        created=counts["created"], duplicate=counts["duplicate"], rejected=counts[REJECTED]
                    )
            if batch:
                flush()

        self.stdout.write(f"created {counts['created']}, duplicate {counts['duplicate']}, rejected {counts[REJECTED]}")
        if process:
            report = events_process_pending(time_budget=float("inf"))
            self.stdout.write(f"applied {report.applied}, waiting {report.waiting}, failed {report.failed}")

    @staticmethod
    def _open(file: str):
        try:
            return open(file, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}") from None
