"""The data sheet's rows as SpreadsheetML ``<row>`` elements, written by us rather than by openpyxl.

openpyxl spends about 10 µs on each cell (a cell object, its style lookup, an XML element);
a million-row export has 13 million cells. Here a cell is one formatted string, about a tenth
of that, and the rest of the workbook (styles, header, widths, chart, other sheets) is still
openpyxl's: see ``workbook.py`` for how the two are put together.

What a cell becomes:

- text (and every value of a text or id column): an inline string, ``<c t="inlineStr">``.
  ``& < >`` are escaped, a carriage return is written as ``&#13;`` (an XML parser would turn a
  raw one into a line feed), and characters XML 1.0 cannot hold at all (controls, lone
  surrogates, U+FFFE/U+FFFF) are written as Excel's own ``_xHHHH_`` escape; a text that
  already looks like such an escape has its underscore escaped (``_x005F_``) so Excel shows it
  as typed. Leading or trailing white space is kept (``xml:space="preserve"``). A text that
  starts like a formula gets the quote-prefix style and stays a string.
- numbers: ``<v>`` with the column's number format; NaN and infinities, which a cell cannot
  hold, are left empty. Decimals are written as floats, as Excel stores them.
- dates and datetimes: serial days since 1899-12-30 with a date style (time zones dropped,
  the Definitions sheet names the zone). Days before 1900-03-01, where Excel's calendar has a
  29 February 1900 that never was, are written as ISO text instead of a wrong date.
- ``None`` and ``""``: no cell.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from openpyxl.utils import get_column_letter

from .columns import FORMULA_PREFIXES, TEXT_KINDS, Column, Kind

_EPOCH = date(1899, 12, 30).toordinal()  # serial 0 of Excel's 1900 date system
_FIRST_REAL_SERIAL = 61  # 1900-03-01

_ILLEGAL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"  # allowed nowhere in XML 1.0
_ILLEGAL = re.compile(f"[{_ILLEGAL_CHARS}]")
_ESCAPE_LOOKALIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
# Anything that needs more than copying the text between <t> and </t>...
_NEEDS_WORK = re.compile(rf"[&<>\r{_ILLEGAL_CHARS}]|_x[0-9A-Fa-f]{{4}}_|^\s|\s$")
# ... or a style: a text that starts like a formula (a leading tab or CR is caught above).
_NOT_PLAIN = re.compile(rf"{_NEEDS_WORK.pattern}|^[=+\-@]")

CellEncoder = Callable[[Any, str], str]


def ooxml_text(text: str) -> str:
    """Text as Excel's string type (ST_Xstring) holds it: characters XML cannot carry become
    ``_xHHHH_``, and a literal ``_xHHHH_`` is protected so it is not decoded."""
    if "_x" in text:
        text = _ESCAPE_LOOKALIKE.sub(r"_x005F_\1", text)
    return _ILLEGAL.sub(lambda match: f"_x{ord(match.group()):04X}_", text)


def _xml_text(text: str) -> str:
    text = ooxml_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")


def _text_cell(ref: str, text: str, quote_style: int) -> str:
    if not text:
        return ""
    style = f' s="{quote_style}"' if text.startswith(FORMULA_PREFIXES) else ""
    if _NEEDS_WORK.search(text) is None:
        return f'<c r="{ref}"{style} t="inlineStr"><is><t>{text}</t></is></c>'
    space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>'


def excel_serial(value: date) -> int | float | None:
    """Days since 1899-12-30, with the time of day as a fraction; None before 1900-03-01."""
    days = value.toordinal() - _EPOCH
    if days < _FIRST_REAL_SERIAL:
        return None
    if not isinstance(value, datetime):
        return days
    # to the millisecond, as Excel keeps it (23:59:59.9999 must not round up to the next day)
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond // 1000 / 1000
    return days + seconds / 86400 if seconds else days


class CellStyles:
    """Style indexes (in styles.xml's cellXfs) that the cells refer to."""

    def __init__(self, *, quote: int, kinds: dict[Kind, int]) -> None:
        self.quote = quote
        self.kinds = kinds
        self.dates = {kinds[Kind.DATE], kinds[Kind.DATETIME]}


def _value_cell(value: Any, ref: str, style: int, styles: CellStyles) -> str:
    """A value of a typed (number or date) column, whatever Python type it turned out to be."""
    kind = type(value)
    if kind is int:
        return f'<c r="{ref}" s="{style}"><v>{value}</v></c>'
    if kind is float:
        return f'<c r="{ref}" s="{style}"><v>{value!r}</v></c>' if math.isfinite(value) else ""
    if kind is bool:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, str):
        return _text_cell(ref, value, styles.quote)
    if isinstance(value, date):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # Excel has no time zones; the Definitions sheet names it
        serial = excel_serial(value)
        if serial is None:
            return _text_cell(ref, value.isoformat(), styles.quote)
        if style not in styles.dates:  # a date in a number column still shows as a date
            style = styles.kinds[Kind.DATETIME if isinstance(value, datetime) else Kind.DATE]
        return f'<c r="{ref}" s="{style}"><v>{serial!r}</v></c>'
    if isinstance(value, Decimal | numbers.Real):  # Decimal, numpy scalars
        return _value_cell(int(value) if isinstance(value, numbers.Integral) else float(value), ref, style, styles)
    return _text_cell(ref, str(value), styles.quote)


def _encoder(kind: Kind, styles: CellStyles) -> CellEncoder:
    quote = styles.quote
    if kind in TEXT_KINDS:

        def text(value: Any, ref: str) -> str:
            if type(value) is not str:
                value = str(value)
            if value and _NOT_PLAIN.search(value) is None:  # the common case, inline
                return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
            return _text_cell(ref, value, quote)

        return text
    style = styles.kinds[kind]
    if kind == Kind.DATE:

        def day(value: Any, ref: str) -> str:
            if type(value) is date:  # the common case, inline
                days = value.toordinal() - _EPOCH
                if days >= _FIRST_REAL_SERIAL:
                    return f'<c r="{ref}" s="{style}"><v>{days}</v></c>'
            return _value_cell(value, ref, style, styles)

        return day

    def typed(value: Any, ref: str) -> str:
        return _value_cell(value, ref, style, styles)

    return typed


#: Excel's sheet holds 1,048,576 rows; one is the header.
MAX_DATA_ROWS = 1_048_575


class SheetTooLarge(ValueError):
    """More rows than one Excel sheet holds: Excel would open the file cut short."""


def write_rows(out: BinaryIO, columns: Sequence[Column], rows: Iterable[dict], styles: CellStyles) -> int:
    """``<row>`` elements for ``rows`` from row 2 on (row 1 is the header), UTF-8, into ``out``.
    Returns the number of rows."""
    encoders = [
        (column.key, get_column_letter(index), _encoder(column.kind, styles)) for index, column in enumerate(columns, 1)
    ]
    buffer: list[str] = []
    count = 0
    for row in rows:
        count += 1
        if count > MAX_DATA_ROWS:
            raise SheetTooLarge(
                f"An Excel sheet holds at most {MAX_DATA_ROWS:,} data rows and this report has more: "
                "send it as CSV, or narrow its period or facilities."
            )
        number = str(count + 1)
        cells = "".join([
            encode(value, letter + number) for key, letter, encode in encoders if (value := row.get(key)) is not None
        ])  # fmt: skip
        buffer.append(f'<row r="{number}">{cells}</row>')
        if len(buffer) == 2000:
            out.write("".join(buffer).encode())
            buffer.clear()
    out.write("".join(buffer).encode())
    return count
