"""CSV and Excel exports: types survive, formulas never run, ids keep their zeros."""

import csv
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
from openpyxl import load_workbook

from reports.exporters import ChartSpec, Column, Kind, export_csv, export_xlsx

COLUMNS = [
    Column("day", "Day", Kind.DATE),
    Column("facility", "Facility", Kind.ID),
    Column("candidate", "Candidate", Kind.TEXT),
    Column("applications", "Applications", Kind.INTEGER),
    Column("revenue", "Revenue", Kind.MONEY),
    Column("hire_rate", "Hire rate", Kind.RATE),
    Column("applied_at", "Applied at", Kind.DATETIME),
]
ROWS = [
    {"day": date(2026, 1, 1), "facility": "0012", "candidate": "=HYPERLINK(\"http://x\")", "applications": 5,
     "revenue": Decimal("1234.50"), "hire_rate": 0.25, "applied_at": datetime(2026, 1, 1, 9, 30, tzinfo=UTC)},
    {"day": date(2026, 1, 2), "facility": "MERCY-01", "candidate": "-5", "applications": -3, "revenue": None,
     "hire_rate": None, "applied_at": None},
    {"day": date(2026, 1, 3), "facility": "STJ-02", "candidate": "@SUM(A1)", "applications": 0,
     "revenue": Decimal("0"), "hire_rate": 1.0, "applied_at": datetime(2026, 1, 3, 0, 0, tzinfo=UTC)},
]  # fmt: skip


def test_csv_has_a_header_neutralised_text_and_plain_numbers(tmp_path):
    path = tmp_path / "out.csv"

    assert export_csv(path, COLUMNS, iter(ROWS), chunk=2) == 3

    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["Day", "Facility", "Candidate", "Applications", "Revenue", "Hire rate", "Applied at"]
    assert rows[1][:5] == ["2026-01-01", "0012", '\'=HYPERLINK("http://x")', "5", "1234.50"]
    assert rows[2][2:4] == ["'-5", "-3"]  # text neutralised, the number keeps its sign
    assert rows[3][2] == "'@SUM(A1)"


def test_xlsx_cells_are_typed_and_formulas_never_evaluate(tmp_path):
    path = tmp_path / "out.xlsx"

    export_xlsx(path, COLUMNS, iter(ROWS), definitions=[("Period", "2026-01-01 to 2026-01-03")],
                chart=ChartSpec("Applications", ("applications",)))  # fmt: skip

    book = load_workbook(path)
    sheet = book["Data"]
    header = [cell.value for cell in sheet[1]]
    assert header == ["Day", "Facility", "Candidate", "Applications", "Revenue", "Hire rate", "Applied at"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:G4"
    day, facility, candidate, applications, revenue, rate, applied = (cell for cell in sheet[2])
    assert isinstance(day.value, datetime) and day.value.date() == date(2026, 1, 1)
    assert day.number_format == "yyyy-mm-dd"
    assert facility.value == "0012" and facility.data_type == "s"
    assert candidate.data_type == "s" and candidate.value == '=HYPERLINK("http://x")' and candidate.quotePrefix
    assert applications.value == 5 and applications.data_type == "n"
    assert revenue.value == 1234.5 and revenue.number_format == "#,##0.00"
    assert rate.value == 0.25 and rate.number_format == "0.00%"
    assert applied.value == datetime(2026, 1, 1, 9, 30)
    assert sheet.cell(3, 4).value == -3
    assert len(sheet._charts) == 1
    assert list(book["Definitions"].iter_rows(values_only=True)) == [("Period", "2026-01-01 to 2026-01-03")]


def test_pandas_reads_the_workbook_back_with_the_same_values(tmp_path):
    path = tmp_path / "out.xlsx"
    export_xlsx(path, COLUMNS, iter(ROWS))

    frame = pd.read_excel(path, sheet_name="Data", dtype={"Facility": str})

    assert list(frame["Facility"]) == ["0012", "MERCY-01", "STJ-02"]
    assert list(frame["Applications"]) == [5, -3, 0]


def test_an_empty_export_still_has_its_header(tmp_path):
    assert export_xlsx(tmp_path / "empty.xlsx", COLUMNS, iter([])) == 0
    assert export_csv(tmp_path / "empty.csv", COLUMNS, iter([])) == 0
    assert load_workbook(tmp_path / "empty.xlsx")["Data"]["A1"].value == "Day"
