"""CSV and Excel exports: types survive, formulas never run, ids keep their zeros, and the
workbook is a sound OOXML package that openpyxl and pandas read back as it was written."""

import csv
import re
import tracemalloc
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from xml.etree import ElementTree

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.styles.numbers import is_date_format

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
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def parse(xml: str | bytes) -> ElementTree.Element:
    return ElementTree.fromstring(xml)  # noqa: S314 (our own output)


def sheet_xml(path, part="xl/worksheets/sheet1.xml") -> str:
    with zipfile.ZipFile(path) as package:
        return package.read(part).decode()


def one_cell(tmp_path, value, kind=Kind.TEXT):
    """Write ``value`` as the only data cell; the cell as openpyxl reads it back."""
    path = tmp_path / "one.xlsx"
    export_xlsx(path, [Column("value", "Value", kind)], iter([{"value": value}]))
    return load_workbook(path)["Data"]["A2"]


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
    assert applied.value == datetime(2026, 1, 1, 9, 30) and applied.number_format == "yyyy-mm-dd hh:mm"
    assert sheet.cell(3, 4).value == -3
    assert sheet.cell(3, 3).value == "-5" and sheet.cell(3, 3).quotePrefix  # text, though it looks like a number
    assert sheet.cell(4, 3).value == "@SUM(A1)" and sheet.cell(4, 3).quotePrefix
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    assert len(sheet._charts) == 1
    assert list(book["Definitions"].iter_rows(values_only=True)) == [("Period", "2026-01-01 to 2026-01-03")]


def test_pandas_reads_the_workbook_back_with_the_same_values(tmp_path):
    path = tmp_path / "out.xlsx"
    export_xlsx(path, COLUMNS, iter(ROWS))

    frame = pd.read_excel(path, sheet_name="Data", dtype={"Facility": str})

    assert list(frame["Facility"]) == ["0012", "MERCY-01", "STJ-02"]
    assert list(frame["Applications"]) == [5, -3, 0]
    assert pd.api.types.is_integer_dtype(frame["Applications"])
    assert pd.api.types.is_datetime64_any_dtype(frame["Day"])
    assert list(frame["Day"].dt.date) == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    assert frame["Revenue"].iloc[0] == 1234.5 and pd.isna(frame["Revenue"].iloc[1])
    assert frame["Applied at"].iloc[0] == pd.Timestamp(2026, 1, 1, 9, 30) and pd.isna(frame["Applied at"].iloc[1])
    assert list(frame["Candidate"]) == ['=HYPERLINK("http://x")', "-5", "@SUM(A1)"]


def test_an_empty_export_still_has_its_header(tmp_path):
    assert export_xlsx(tmp_path / "empty.xlsx", COLUMNS, iter([])) == 0
    assert export_csv(tmp_path / "empty.csv", COLUMNS, iter([])) == 0
    sheet = load_workbook(tmp_path / "empty.xlsx")["Data"]
    assert [cell.value for cell in sheet[1]][:2] == ["Day", "Facility"]
    assert sheet.max_row == 1 and sheet.auto_filter.ref == "A1:G1"
    assert '<dimension ref="A1:G1"/>' in sheet_xml(tmp_path / "empty.xlsx")


def test_xml_special_characters_and_white_space_come_back_exactly(tmp_path):
    text = "  <b>Tom & \"Jerry\"</b> 'O''Neil'\ttab\nline\rreturn  "

    cell = one_cell(tmp_path, text)

    assert cell.value == text and cell.data_type == "s" and not cell.quotePrefix
    assert 'xml:space="preserve"' in sheet_xml(tmp_path / "one.xlsx")


def test_characters_xml_cannot_hold_are_written_as_excels_escape(tmp_path):
    """Excel and LibreOffice turn ``_x0001_`` back into the character; openpyxl shows it as is.
    A text that merely looks like such an escape keeps its underscore (``_x005F_``)."""
    cell = one_cell(tmp_path, "bell\x07 nul\x00 unit\x1f fffe\ufffe half\ud800 literal _x0041_")

    assert cell.value == "bell_x0007_ nul_x0000_ unit_x001F_ fffe_xFFFE_ half_xD800_ literal _x005F_x0041_"
    parse(sheet_xml(tmp_path / "one.xlsx"))  # well-formed XML 1.0


def test_a_tab_or_carriage_return_at_the_start_counts_as_a_formula_prefix(tmp_path):
    for text in ("\t=1+1", "\r=1+1", "+1", "=1+1", "@A1"):
        cell = one_cell(tmp_path, text)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)


def test_text_in_a_number_column_is_text_and_never_a_formula(tmp_path):
    cell = one_cell(tmp_path, "=cmd|' /C calc'!A0", Kind.MONEY)

    assert cell.data_type == "s" and cell.value == "=cmd|' /C calc'!A0" and cell.quotePrefix


def test_ids_stay_text_whatever_their_type(tmp_path):
    assert one_cell(tmp_path, "0012", Kind.ID).value == "0012"
    assert one_cell(tmp_path, 12, Kind.ID).value == "12"
    assert one_cell(tmp_path, "00120000000000000000001", Kind.ID).value == "00120000000000000000001"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (-3, Kind.INTEGER, -3),
        (-0.125, Kind.RATE, -0.125),
        (Decimal("-1234.56"), Kind.MONEY, -1234.56),
        (12_345_678_901_234, Kind.INTEGER, 12_345_678_901_234),
        (2**70, Kind.INTEGER, 2**70),  # beyond a double: Excel rounds it, the file holds it whole
        (1e-7, Kind.NUMBER, 1e-7),
        (0, Kind.INTEGER, 0),
        (True, Kind.INTEGER, True),
    ],
)
def test_numbers_keep_their_sign_and_value(tmp_path, value, kind, expected):
    cell = one_cell(tmp_path, value, kind)

    assert cell.value == expected and type(cell.value) is type(expected)
    assert cell.data_type == ("b" if isinstance(expected, bool) else "n")


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), float("-inf"), Decimal("NaN"), ""])
def test_missing_and_impossible_numbers_are_empty_cells(tmp_path, value):
    assert one_cell(tmp_path, value, Kind.NUMBER).value is None


def test_dates_and_datetimes_are_serial_numbers_with_a_date_style(tmp_path):
    path = tmp_path / "dates.xlsx"
    columns = [Column("day", "Day", Kind.DATE), Column("at", "At", Kind.DATETIME)]
    new_york = timezone(timedelta(hours=-5))
    rows = [
        {"day": date(2026, 1, 1), "at": datetime(2026, 1, 1, 9, 30, 15)},
        {"day": datetime(2026, 3, 1, 12, 0), "at": datetime(2026, 1, 1, 23, 59, 59, 999_999)},
        {"day": date(1900, 3, 1), "at": datetime(2026, 6, 1, 7, 0, tzinfo=new_york)},  # wall time, zone named apart
        {"day": date(1900, 2, 28), "at": date(2026, 2, 1)},
    ]

    export_xlsx(path, columns, iter(rows))

    sheet = load_workbook(path)["Data"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert values == [
        [datetime(2026, 1, 1), datetime(2026, 1, 1, 9, 30, 15)],
        [datetime(2026, 3, 1, 12), datetime(2026, 1, 1, 23, 59, 59, 999_000)],  # Excel keeps milliseconds
        [datetime(1900, 3, 1), datetime(2026, 6, 1, 7)],
        ["1900-02-28", datetime(2026, 2, 1)],  # Excel's 1900 calendar is wrong before March 1900
    ]
    assert '<c r="A2" s="' in sheet_xml(path) and "<v>46023</v>" in sheet_xml(path)  # 2026-01-01 as Excel counts
    assert all(is_date_format(cell.number_format) for row in sheet.iter_rows(min_row=2, max_row=4) for cell in row)


def test_the_package_is_sound_ooxml(tmp_path):
    """What Excel checks and openpyxl does not: a <dimension> that matches the cells, elements
    in CT_Worksheet's order, rows and cell references in order, and every style index a cell
    names present in styles.xml."""
    path = tmp_path / "out.xlsx"
    rows = [dict(ROWS[index % 3], applications=index) for index in range(250)]
    export_xlsx(path, COLUMNS, iter(rows), chart=ChartSpec("Applications", ("applications",)))

    root = parse(sheet_xml(path))
    children = [child.tag.removeprefix(MAIN) for child in root]
    assert children[:6] == ["sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData"]
    assert root.find(f"{MAIN}dimension").get("ref") == "A1:G251"
    numbers = [int(row.get("r")) for row in root.iter(f"{MAIN}row")]
    assert numbers == list(range(1, 252))
    for row in root.iter(f"{MAIN}row"):
        columns = [re.fullmatch(r"([A-Z]+)(\d+)", cell.get("r")).groups() for cell in row]
        assert all(number == row.get("r") for _, number in columns)
        assert [letter for letter, _ in columns] == sorted(letter for letter, _ in columns)
    with zipfile.ZipFile(path) as package:
        assert package.testzip() is None
        styles = parse(package.read("xl/styles.xml"))
    defined = len(list(styles.find(f"{MAIN}cellXfs")))
    used = {int(cell.get("s", 0)) for cell in root.iter(f"{MAIN}c")}
    assert used and max(used) < defined
    assert load_workbook(path, read_only=True)["Data"].max_row == 251  # read-only mode sizes by <dimension>


def test_the_chart_covers_every_data_row(tmp_path):
    path = tmp_path / "chart.xlsx"
    export_xlsx(path, COLUMNS, iter(ROWS), sheet_title="Daily", chart=ChartSpec("Applications", ("applications",)))

    with zipfile.ZipFile(path) as package:
        chart = package.read("xl/charts/chart1.xml").decode()
    assert "'Daily'!$D$2:$D$4" in chart and "'Daily'!$A$2:$A$4" in chart  # values, and dates as categories


def test_summary_and_definitions_hold_typed_values_and_odd_text(tmp_path):
    path = tmp_path / "out.xlsx"
    summary = [("Applications", 1200, Kind.INTEGER), ("Hire rate", 0.125, Kind.RATE), ("Note", "=1+1", Kind.TEXT)]

    export_xlsx(path, COLUMNS, iter(ROWS), summary=summary, definitions=[("Report", "Pipeline\x0b (draft)")])

    book = load_workbook(path)
    assert book.sheetnames == ["Data", "Summary", "Definitions"]
    totals = book["Summary"]
    assert [cell.value for cell in totals[1]] == ["Metric", "Value"] and totals["A1"].font.bold
    assert totals["B2"].value == 1200 and totals["B2"].number_format == "#,##0"
    assert totals["B3"].value == 0.125 and totals["B3"].number_format == "0.00%"
    assert totals["B4"].data_type == "s" and totals["B4"].quotePrefix
    assert book["Definitions"]["B1"].value == "Pipeline_x000B_ (draft)"  # no crash on a control character


@pytest.mark.parametrize(
    ("name", "sheet"),
    [("Weekly pipeline", "Weekly pipeline"), ("Q1/Q2: [draft]?", "Q1-Q2- -draft--"), ("'Quoted'", "Quoted"),
     ("Definitions", "Definitions data"), ("A report with a name longer than thirty-one", "A report with a name longer tha")],
)  # fmt: skip
def test_a_report_name_always_makes_a_valid_sheet_name(tmp_path, name, sheet):
    path = tmp_path / "out.xlsx"

    export_xlsx(path, COLUMNS, iter(ROWS), sheet_title=name)

    assert load_workbook(path).sheetnames == [sheet, "Definitions"]


def test_rows_stream_through_a_temporary_file_that_is_removed(tmp_path):
    """40,000 rows are ~11 MB of XML; the export holds 2,000 rows at a time (~2.5 MB at peak)."""
    path = tmp_path / "big.xlsx"
    rows = (dict(ROWS[index % 3], applications=index) for index in range(40_000))

    tracemalloc.start()
    try:
        count = export_xlsx(path, COLUMNS, rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert count == 40_000
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB"
    assert [entry.name for entry in tmp_path.iterdir()] == ["big.xlsx"]
    assert load_workbook(path, read_only=True)["Data"].max_row == 40_001


def test_a_failing_row_source_leaves_no_file_behind(tmp_path):
    def rows():
        yield ROWS[0]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        export_xlsx(tmp_path / "out.xlsx", COLUMNS, rows())

    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_packaging_leaves_no_half_workbook(tmp_path, monkeypatch):
    from reports.exporters import workbook

    def disk_full(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(workbook, "_split_sheet", disk_full)  # after the package is opened for writing

    with pytest.raises(OSError, match="No space"):
        export_xlsx(tmp_path / "out.xlsx", COLUMNS, iter(ROWS))

    assert list(tmp_path.iterdir()) == []


def test_more_rows_than_an_excel_sheet_holds_fail_plainly_and_leave_no_file(tmp_path, monkeypatch):
    from reports.exporters import sheet_xml as writer

    monkeypatch.setattr(writer, "MAX_DATA_ROWS", 2)  # Excel's 1,048,575, made small enough to reach
    path = tmp_path / "big.xlsx"

    with pytest.raises(writer.SheetTooLarge, match="at most 2 data rows"):
        export_xlsx(path, COLUMNS, iter(ROWS))
    assert not path.exists() and not list(tmp_path.iterdir())
    assert export_xlsx(tmp_path / "fits.xlsx", COLUMNS, iter(ROWS[:2])) == 2
