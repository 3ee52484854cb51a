"""The Excel workbook: openpyxl builds it, our writer streams the data sheet's rows into it.

1. openpyxl's write-only workbook gets everything but the data rows: the data sheet with its
   bold header, widths, frozen pane, autofilter and chart, the Summary and Definitions sheets,
   and the cell styles the rows refer to (asked of openpyxl, so their indexes exist in
   styles.xml).
2. ``sheet_xml`` writes the rows into a temporary file beside the output, so memory stays flat.
   They wait there because the sheet's ``<dimension>`` comes before them and the row count is
   known only at the end (XlsxWriter's constant-memory mode works the same way).
3. The package is written once: openpyxl's parts are copied as they are, except the data
   sheet's, which becomes openpyxl's part with ``<dimension>`` added and the rows in its
   ``<sheetData>`` after the header.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .columns import FORMULA_PREFIXES, NUMBER_FORMATS, TEXT_KINDS, Column, Kind
from .sheet_xml import CellStyles, ooxml_text, write_rows

OTHER_SHEETS = ("summary", "definitions", "history")  # ours, and the one name Excel reserves
_TITLE_FORBIDDEN = re.compile(r"[\\/*?:\[\]\x00-\x1f]")


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
    sheet = workbook.create_sheet(safe_sheet_title(sheet_title))
    styles = _cell_styles(sheet)
    with tempfile.TemporaryFile(dir=path.parent, prefix=f".{path.stem}-", suffix=".rows") as spool:
        count = write_rows(spool, columns, rows, styles)
        _data_sheet(sheet, columns, count, chart)
        if summary:
            _summary_sheet(workbook.create_sheet("Summary"), summary)
        _definitions_sheet(workbook.create_sheet("Definitions"), definitions)
        skeleton = io.BytesIO()
        workbook.save(skeleton)
        dimension = f"A1:{get_column_letter(max(len(columns), 1))}{count + 1}"
        try:
            _package(path, skeleton, sheet.path.lstrip("/"), spool, dimension)
        except BaseException:
            path.unlink(missing_ok=True)  # never half a workbook
            raise
    return count


def safe_sheet_title(title: str) -> str:
    """A sheet name Excel accepts: no ``\\ / * ? : [ ]`` or controls, no apostrophe at either
    end, at most 31 characters, and none of the workbook's other sheet names."""
    title = _TITLE_FORBIDDEN.sub("-", title).strip().strip("'")[:31].strip() or "Data"
    return f"{title[:26]} data" if title.lower() in OTHER_SHEETS else title


def _cell_styles(sheet: WriteOnlyWorksheet) -> CellStyles:
    def style(**attributes: Any) -> int:
        cell = WriteOnlyCell(sheet)
        for name, value in attributes.items():
            setattr(cell, name, value)
        return cell.style_id  # registers the style with the workbook

    kinds = {kind: style(number_format=number_format) for kind, number_format in NUMBER_FORMATS.items()}
    return CellStyles(quote=style(quotePrefix=True), kinds=kinds)


def _data_sheet(sheet: WriteOnlyWorksheet, columns: Sequence[Column], count: int, chart: ChartSpec | None) -> None:
    for index, column in enumerate(columns, 1):
        width = column.width or max(10, min(40, len(column.title) + 4))
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_bold(sheet, column.title) for column in columns])
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{count + 1}"
    if chart is not None and count:
        sheet.add_chart(_line_chart(sheet, columns, chart, count), f"{get_column_letter(len(columns) + 2)}2")


def _summary_sheet(sheet: WriteOnlyWorksheet, summary: Sequence[tuple[str, Any, Kind]]) -> None:
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 36, 18
    sheet.append([_bold(sheet, "Metric"), _bold(sheet, "Value")])
    for label, value, kind in summary:
        sheet.append([_cell(sheet, label, Kind.TEXT), _cell(sheet, value, kind)])


def _definitions_sheet(sheet: WriteOnlyWorksheet, definitions: Sequence[tuple[str, str]]) -> None:
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 100
    for term, meaning in definitions:
        sheet.append([_bold(sheet, term), _cell(sheet, meaning, Kind.TEXT)])


def _cell(sheet: WriteOnlyWorksheet, value: Any, kind: Kind) -> WriteOnlyCell:
    """A cell of the small sheets, through openpyxl, by the same rules as the data rows."""
    if value is None:
        return WriteOnlyCell(sheet, value=None)
    if kind in TEXT_KINDS or isinstance(value, str):
        text = ooxml_text(str(value))
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # never a formula, whatever it starts with
        if text.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
        return cell
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones; the Definitions sheet names it
    if isinstance(value, Decimal):
        value = float(value)
    cell = WriteOnlyCell(sheet, value=value)
    if kind in NUMBER_FORMATS:
        cell.number_format = NUMBER_FORMATS[kind]
    return cell


def _bold(sheet: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    cell = _cell(sheet, text, Kind.TEXT)
    cell.font = Font(bold=True)
    return cell


def _line_chart(sheet: WriteOnlyWorksheet, columns: Sequence[Column], spec: ChartSpec, count: int) -> LineChart:
    chart = LineChart()
    chart.title = spec.title
    chart.height, chart.width = 9, 18
    keys = [column.key for column in columns]
    for key in spec.value_keys:
        index = keys.index(key) + 1
        chart.add_data(Reference(sheet, min_col=index, min_row=1, max_row=count + 1), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=count + 1))
    return chart


def _package(path: Path, skeleton: io.BytesIO, sheet_part: str, rows: io.BufferedRandom, dimension: str) -> None:
    """openpyxl's package with the streamed rows put into the data sheet's part."""
    rows_size = rows.tell()
    rows.seek(0)
    with (
        zipfile.ZipFile(skeleton) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename != sheet_part:
                target.writestr(info, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
                continue
            head, tail = _split_sheet(source.read(info).decode(), dimension)
            size = len(head) + rows_size + len(tail)
            streamed = zipfile.ZipInfo(sheet_part, date_time=info.date_time)
            streamed.compress_type = zipfile.ZIP_DEFLATED
            with target.open(streamed, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as part:
                part.write(head)
                shutil.copyfileobj(rows, part, 1 << 20)
                part.write(tail)


def _split_sheet(xml: str, dimension: str) -> tuple[bytes, bytes]:
    """openpyxl's sheet XML cut where the rows go (after the header row), with a ``<dimension>``:
    write-only sheets have none, and readers size the sheet by it."""
    head, end, tail = xml.partition("</sheetData>")
    if not end or "<dimension" in head:
        raise ValueError("unexpected worksheet XML from openpyxl")
    # <dimension> follows <sheetPr> and precedes everything else (CT_Worksheet's order).
    anchor = re.search("<sheetViews|<sheetFormatPr|<cols|<sheetData", head)
    if anchor is None:
        raise ValueError("unexpected worksheet XML from openpyxl")
    head = f'{head[: anchor.start()]}<dimension ref="{dimension}"/>{head[anchor.start() :]}'
    return head.encode(), (end + tail).encode()
