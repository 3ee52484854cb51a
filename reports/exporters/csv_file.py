"""UTF-8 CSV, written in chunks."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from .columns import TEXT_KINDS, Column, Kind, neutralise


def _csv_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return ""
    if kind in TEXT_KINDS:
        return neutralise(str(value))
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


def export_csv(path: Path, columns: Sequence[Column], rows: Iterable[dict], *, chunk: int = 10_000) -> int:
    """UTF-8 CSV with a header row. Returns the number of data rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([column.title for column in columns])
        buffer = []
        for row in rows:
            buffer.append([_csv_value(row.get(column.key), column.kind) for column in columns])
            if len(buffer) >= chunk:
                writer.writerows(buffer)
                count += len(buffer)
                buffer.clear()
        writer.writerows(buffer)
        count += len(buffer)
    return count
