"""CSV and Excel files for reports: typed cells, safe text, bounded memory.

Rows arrive as an iterable (a generator over a query, or a pandas frame's records) and are
written as they come: the CSV in chunks, the workbook's data rows as XML into a temporary file
(``sheet_xml``) that goes into openpyxl's package at the end (``workbook``), so a million-row
export never holds the whole file in memory.

Every text cell that a spreadsheet would read as a formula (it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is neutralised: in CSV by a leading apostrophe, in
Excel by storing it as a string with Excel's quote prefix. Numbers keep their sign; ids and
codes are always text, so ``0012`` stays ``0012``. In Excel, dates are dates and numbers are
numbers, each with its number format.
"""

from .columns import FORMULA_PREFIXES, NUMBER_FORMATS, Column, Kind, neutralise
from .csv_file import export_csv
from .workbook import ChartSpec, export_xlsx

__all__ = [
    "FORMULA_PREFIXES",
    "NUMBER_FORMATS",
    "ChartSpec",
    "Column",
    "Kind",
    "export_csv",
    "export_xlsx",
    "neutralise",
]
