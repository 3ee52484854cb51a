"""CSV and Excel files for reports: typed cells, safe text, bounded memory.

Rows arrive as an iterable (a generator over a query, or a pandas frame's records) and are
written as they come: the CSV in chunks, the workbook in openpyxl's write-only mode, so a
million-row export never holds the whole file in memory.

Every text cell that a spreadsheet would read as a formula (it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is neutralised: in CSV by a leading apostrophe, in
Excel by storing it as a string with Excel's quote prefix. Numbers keep their sign; ids and
codes are always text, so ``0012`` stays ``0012``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Kind(StrEnum):
    TEXT = "text"
    ID = "id"  # codes and identifiers: always text
    INTEGER = "integer"
    MONEY = "money"
    RATE = "rate"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"


NUMBER_FORMATS = {
    Kind.INTEGER: "#,##0",
    Kind.MONEY: "#,##0.00",
    Kind.RATE: "0.00%",
    Kind.NUMBER: "#,##0.00",
    Kind.DATE: "yyyy-mm-dd",
    Kind.DATETIME: "yyyy-mm-dd hh:mm",
}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Kind = Kind.TEXT
    width: int | None = None


def neutralise(text: str) -> str:
    """For CSV: a text cell a spreadsheet would evaluate gets a leading apostrophe."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def _csv_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return ""
    if kind in (Kind.TEXT, Kind.ID):
        return neutralise(str(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
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


def _xlsx_cell(sheet, value: Any, kind: Kind) -> WriteOnlyCell:
    if value is None:
        return WriteOnlyCell(sheet, value=None)
    if kind in (Kind.TEXT, Kind.ID):
        text = str(value)
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # never a formula, whatever it starts with
        if text.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
        return cell
    if kind == Kind.DATETIME and isinstance(value, datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones; the Definitions sheet names it
    if isinstance(value, Decimal):
        value = float(value)
    cell = WriteOnlyCell(sheet, value=value)
    if kind in NUMBER_FORMATS:
        cell.number_format = NUMBER_FORMATS[kind]
    return cell


def _fast_value(sheet, value: Any, kind: Kind) -> Any:
    """A plain value where openpyxl types it right by itself (most cells of a large export):
    ordinary text stays text, a date gets openpyxl's own yyyy-mm-dd. Building a styled cell
    per value is what makes big workbooks slow; only cells that need more get one."""
    if value is None:
        return None
    if kind == Kind.DATE:
        if type(value) is date:
            return value
        return _xlsx_cell(sheet, value, kind)
    text = value if type(value) is str else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return _xlsx_cell(sheet, text, kind)
    return text


@dataclass(frozen=True)
class ChartSpec:
    """A native line chart of ``value_keys`` against the first column (the dates or buckets)."""

    title: str
    value_keys: tuple[str, ...]


def export_xlsx(
    path: Path,
    columns: Sequence[Column],
    rows: Iterable[dict],
    *,
    sheet_title: str = "Data",
    definitions: Sequence[tuple[str, str]] = (),
    chart: ChartSpec | None = None,
    summary: Sequence[tuple[str, Any, Kind]] = (),
) -> int:
    """A workbook with a typed data sheet (bold frozen header, autofilter, widths), an optional
    native chart, an optional Summary sheet (one typed value per row) and a Definitions sheet.
    Returns the number of data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    for index, column in enumerate(columns, 1):
        width = column.width or max(10, min(40, len(column.title) + 4))
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    plain = [column.kind in (Kind.TEXT, Kind.ID, Kind.DATE) for column in columns]  # openpyxl types these itself
    writers = [(column.key, column.kind, _fast_value if simple else _xlsx_cell)
               for column, simple in zip(columns, plain, strict=True)]  # fmt: skip
    for row in rows:
        sheet.append([write(sheet, row.get(key), kind) for key, kind, write in writers])
        count += 1
    last_column = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last_column}{count + 1}"
    if chart is not None and count:
        sheet.add_chart(_line_chart(sheet, columns, chart, count), f"{get_column_letter(len(columns) + 2)}2")
    if summary:
        totals = workbook.create_sheet("Summary")
        totals.column_dimensions["A"].width, totals.column_dimensions["B"].width = 36, 18
        totals.append([_bold(totals, "Metric"), _bold(totals, "Value")])
        for label, value, kind in summary:
            totals.append([_xlsx_cell(totals, label, Kind.TEXT), _xlsx_cell(totals, value, kind)])
    notes = workbook.create_sheet("Definitions")
    notes.column_dimensions["A"].width = 28
    notes.column_dimensions["B"].width = 100
    for term, meaning in definitions:
        term_cell = WriteOnlyCell(notes, value=term)
        term_cell.font = Font(bold=True)
        notes.append([term_cell, _xlsx_cell(notes, meaning, Kind.TEXT)])
    workbook.save(path)
    return count


def _bold(sheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.font = Font(bold=True)
    return cell


def _line_chart(sheet, columns: Sequence[Column], spec: ChartSpec, count: int) -> LineChart:
    chart = LineChart()
    chart.title = spec.title
    chart.height, chart.width = 9, 18
    keys = [column.key for column in columns]
    for key in spec.value_keys:
        index = keys.index(key) + 1
        chart.add_data(Reference(sheet, min_col=index, min_row=1, max_row=count + 1), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=count + 1))
    return chart
