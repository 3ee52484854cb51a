"""Turning a report definition into a file, as its owner would see the data today.

KPI reports ask analytics.catalog the same question the API answers (same selectors, scope,
suppression and cache), then pandas flattens the envelope into a table. The `applications`
list streams rows from a server-side cursor straight into the exporter, masking personal
data row by row, so a million rows never sit in memory at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import connection, transaction

from accounts.models import Facility
from accounts.selectors import FacilityPermission, facilities_without_rows, facility_ids_for
from analytics.catalog import KPIS, kpi_answer_for
from analytics.params import GRANULARITIES, MAX_HOURLY_DAYS, kpi_params_for
from events.masking import mask_email, mask_name
from reports.exporters import ChartSpec, Column, Kind, export_csv, export_xlsx
from reports.models import APPLICATIONS, Report, ReportFormat, ReportKind

# Short statements of kpis.md, for the Definitions sheet.
KPI_DEFINITIONS = {
    "kpis": "Headline metrics of every area, each with its area's definition (below and in the API docs).",
    "dashboard": "Headline metrics, and per day: applications (applied that day), hires (hired that day), "
    "revenue (invoices dated that day) and replies (messages sent that day that were answered).",
    "pipeline": "applications = applied in the period (the cohort); hires = hired in the period; hire_rate = "
    "cohort that reached hired / cohort; fill_rate = sum over jobs opened of min(positions, hires) / positions.",
    "performance": "The pipeline cohort by source, and status changes and hires recorded per recruiter.",
    "compliance": "Credential checks in the period: compliance_rate = compliant / checks; violations by severity; "
    "expiring = expiring within 30 days after the period.",
    "revenue": "Invoices dated in the period; growth = month's revenue / previous month's - 1.",
    "outreach": "Messages sent in the period; response_rate = replied / sent; median response in hours.",
    "skills": "Skills named by jobs opened in the period against candidates listing them; gap_ratio = jobs / "
    "candidates.",
    "engagement": "dau = mean of distinct actors per day; wau / mau = distinct actors in 7 / 30 days ending the "
    "period; stickiness = dau / mau.",
    "trends": "One metric per bucket (local hour, day, ISO week, month), every bucket present, zero when empty.",
    "metrics": "time_to_hire = mean days applied to hired; fill_rate as in pipeline; candidate_pipeline = the "
    "cohort's current statuses.",
    APPLICATIONS: "Every application with its applied date in the period, its current status and the furthest "
    "stage it reached (applied, screening, interviewing, offered, hired).",
}

# Which list in a KPI answer is its main table (the first list of objects otherwise).
MAIN_SERIES = {
    "dashboard": "daily",
    "trends": "series",
    "revenue": "by_month",
    "performance": "by_source",
    "skills": "demand",
    "engagement": "retention",
    "pipeline": "funnel",
}
CHARTED = {"dashboard", "trends", "revenue"}
STAGES = ["applied", "screening", "interviewing", "offered", "hired"]


class ReportDataError(Exception):
    """The report cannot be built as defined (the message says why, for the owner)."""


class RowsRefused(ReportDataError):
    """A row-level report covers facilities whose rows its owner may not see (aggregates only)."""

    def __init__(self, owner, codes: list[str]) -> None:
        self.codes = codes
        places = f"facility {codes[0]}" if len(codes) == 1 else f"facilities {', '.join(codes)}"
        super().__init__(
            f"The report's owner ({owner.username}) no longer may see row-level data of {places}: without the "
            "personal-data permission there it gets aggregates only, so this applications list was neither built "
            "nor sent. Make it a KPI report, or ask an Admin for the permission."
        )


def row_level_codes(*, owner, kind: str, codes: list[str], named: bool) -> list[str]:
    """The facilities of ``codes`` a report of ``kind`` covers. An `applications` list is
    row-level data: it needs the owner's personal-data permission at each facility it names
    (``named``), or, naming none, covers those of the owner's facilities where it holds it;
    RowsRefused otherwise (naming the facilities without it)."""
    if kind != APPLICATIONS or not codes:
        return codes
    refused = facilities_without_rows(owner, codes)
    if refused and (named or len(refused) == len(codes)):
        raise RowsRefused(owner, refused)
    return [code for code in codes if code not in refused]


def definition_rows_refused(*, owner, kind: str, facilities) -> list[str]:
    """The facilities a report definition of ``kind`` over ``facilities`` (empty: all the
    owner's) would give its owner rows of without the personal-data permission there; empty
    when the definition may stand. The API and the console ask this before saving."""
    codes = [facility.code for facility in facilities]
    named = bool(codes)
    if not named:
        codes = list(Facility.objects.filter(id__in=facility_ids_for(owner, FacilityPermission.VIEW_DATA))
                     .values_list("code", flat=True))  # fmt: skip
    try:
        row_level_codes(owner=owner, kind=kind, codes=codes, named=named)
    except RowsRefused as exc:
        return list(exc.codes)
    return []


def run_rows_refused(run) -> list[str]:
    """The facilities of a built row-level run whose rows its report's owner may no longer see:
    its file is then neither sent nor served."""
    report = run.report
    if report.kpi != APPLICATIONS or not run.facilities:
        return []
    return facilities_without_rows(report.owner, run.facilities)


@dataclass
class Built:
    path: Path
    filename: str
    rows: int
    facilities: list[str]
    data_as_of: datetime | None
    headline: list[tuple[str, str]] = field(default_factory=list)
    suppressed: int = 0
    perturbed: bool = False  # counts consistently perturbed for an owner without personal-data access
    unmasked: int = 0  # rows whose personal data is shown (audited)


def report_facility_codes(report: Report) -> list[str]:
    """The facilities a run covers: the report's, limited to those its owner may see now
    (a revoked grant drops out of the next run); all the owner's when the report names none.
    A row-level report also needs the owner's personal-data permission (``row_level_codes``)."""
    queryset = Facility.objects.filter(id__in=facility_ids_for(report.owner, FacilityPermission.VIEW_DATA))
    named = report.facilities.exists()
    if named:
        queryset = queryset.filter(id__in=report.facilities.values("id"))
    codes = list(queryset.order_by("code").values_list("code", flat=True))
    if not codes:
        raise ReportDataError("The report's owner may no longer see any of its facilities.")
    return row_level_codes(owner=report.owner, kind=report.kpi, codes=codes, named=named)


def report_build(*, report: Report, start: date, end: date, directory: Path, stem: str) -> Built:
    if not report.owner.is_active:
        raise ReportDataError("The report's owner is deactivated.")
    codes = report_facility_codes(report)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.{report.format}"
    if report.kpi == APPLICATIONS:
        return _applications(report=report, codes=codes, start=start, end=end, path=path)
    return _kpi(report=report, codes=codes, start=start, end=end, path=path)


# --- KPI reports -------------------------------------------------------------------------


def kpi_options_clean(kpi: str, options: dict) -> tuple[str, dict]:
    """(granularity, extra parameters) from a report's options; ValueError says what is wrong."""
    spec = KPIS[kpi]
    allowed = set(spec.extra_params) | ({"granularity"} if spec.series else set())
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"Unknown option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed)) or 'none'}.")
    granularity = options.get("granularity", "day")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of: {', '.join(GRANULARITIES)}.")
    extra = {name: check(str(options[name])) for name, check in spec.extra_params.items() if name in options}
    return granularity, extra


def _kpi(*, report: Report, codes: list[str], start: date, end: date, path: Path) -> Built:
    try:
        granularity, extra = kpi_options_clean(report.kpi, report.options)
    except ValueError as exc:
        raise ReportDataError(str(exc)) from exc
    if granularity == "hour" and (end - start).days + 1 > MAX_HOURLY_DAYS:
        raise ReportDataError(
            f"Hourly series cover periods of at most {MAX_HOURLY_DAYS} days; this run's period has "
            f"{(end - start).days + 1}. Choose a shorter period or another granularity."
        )
    params = kpi_params_for(
        user=report.owner,
        start=start,
        end=end,
        facility_codes=codes,
        group_by_facility=report.group_by == "facility",
        granularity=granularity,
        extra=extra,
    )
    answer = kpi_answer_for(kpi=report.kpi, params=params)
    frame, chart = kpi_frame(report.kpi, answer)
    columns = [Column(key, _title(key), _kind(key, frame[key])) for key in frame.columns]
    records = (_typed(row, columns) for row in frame.to_dict("records"))
    definitions = _definitions(
        report, answer["period"], codes, answer["data_as_of"], len(answer["suppressed"]), perturbed=answer["perturbed"]
    )
    scalars = _scalars(answer["metrics"])
    summary = [(_title(key), value, _kind(key, [value])) for key, value in scalars.items()]
    rows = _write(report, path, columns, records, definitions, chart if report.group_by != "facility" else None,
                  summary)  # fmt: skip
    headline = [
        (_title(key), _display(key, value))
        for key, value in scalars.items()
        if "." not in key or key.rsplit(".", 1)[1] in ("mean", "median")
    ]
    as_of = answer["data_as_of"]
    return Built(
        path=path,
        filename=path.name,
        rows=rows,
        facilities=list(answer["facilities"]),
        data_as_of=datetime.fromisoformat(as_of.replace("Z", "+00:00")) if as_of and as_of != "now" else None,
        headline=headline[:12],
        suppressed=len(answer["suppressed"]),
        perturbed=answer["perturbed"],
    )


def _scalars(metrics: dict, prefix: str = "") -> dict[str, Any]:
    """Numbers of a metrics dict, nested dicts flattened with dots; lists left out."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_scalars(value, f"{name}."))
        elif not isinstance(value, list):
            flat[name] = value
    return flat


def kpi_frame(kpi: str, answer: dict) -> tuple[pd.DataFrame, ChartSpec | None]:
    """The answer's main table: its main series (per facility when grouped), else its numbers."""
    metrics = answer["metrics"]
    key = MAIN_SERIES.get(kpi) or next(
        (name for name, value in metrics.items() if isinstance(value, list) and value and isinstance(value[0], dict)),
        None,
    )
    grouped = answer.get("rows")
    if grouped is not None:
        parts = []
        for row in grouped:
            if key:
                part = pd.json_normalize(row["metrics"].get(key) or [], sep=".")
            else:
                part = pd.json_normalize([_scalars(row["metrics"])], sep=".")
            part.insert(0, "facility", row["facility"])
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"facility": []})
    elif key:
        frame = pd.json_normalize(metrics.get(key) or [], sep=".")
    else:
        frame = pd.json_normalize([_scalars(metrics)], sep=".")
    frame = frame[[column for column in frame.columns if not _is_list_column(frame[column])]]
    frame = frame.astype(object).where(frame.notna(), None)
    chart = None
    if kpi in CHARTED and key and len(frame.columns) > 1:
        values = tuple(c for c in frame.columns[1:] if _kind(c, frame[c]) in (Kind.INTEGER, Kind.MONEY, Kind.NUMBER))
        chart = ChartSpec(title=kpi.title(), value_keys=values[:4]) if values else None
    return frame, chart


def _is_list_column(series: pd.Series) -> bool:
    return any(isinstance(value, list) for value in series.head(20))


def _title(key: str) -> str:
    """'time_to_hire_days.mean' -> 'Time to hire days, mean'."""
    head, *rest = key.split(".")
    return ", ".join([head.replace("_", " ").capitalize(), *(part.replace("_", " ") for part in rest)])


def _kind(key: str, values) -> Kind:
    last = key.split(".")[-1]
    if last in ("facility", "week", "skill", "source", "recruiter", "stage", "specialty", "channel"):
        return Kind.ID if last == "facility" else Kind.TEXT
    if last in ("date", "bucket", "month"):
        # An hour is named by its local start and offset (2026-11-01T01:00-07:00): a cell of text,
        # as a spreadsheet date has no offset and the repeated autumn hour must stay two rows.
        hourly = any(isinstance(value, str) and "T" in value for value in values)
        return Kind.TEXT if hourly else Kind.DATE
    if "revenue" in last or "bill_rate" in last:
        return Kind.MONEY
    if (
        "rate" in last
        or "ratio" in last
        or last in ("stickiness", "growth", "conversion")
        or key.startswith("retained")
    ):
        return Kind.RATE
    sample = next((value for value in values if value is not None), None)
    if sample is None:
        return Kind.NUMBER  # an all-empty column is a suppressed or missing number
    if isinstance(sample, bool):
        return Kind.TEXT
    if isinstance(sample, int):
        return Kind.INTEGER
    if isinstance(sample, float):
        return Kind.NUMBER
    return Kind.TEXT


def _typed(row: dict, columns: list[Column]) -> dict:
    """Dates as dates (a month '2026-01' is its first day), so Excel can sort and filter them."""
    for column in columns:
        value = row.get(column.key)
        if column.kind == Kind.DATE and isinstance(value, str):
            row[column.key] = date.fromisoformat(value if len(value) > 7 else f"{value}-01")
    return row


def _display(key: str, value: Any) -> str:
    if value is None:
        return "—"
    kind = _kind(key, [value])
    if kind == Kind.RATE:
        return f"{value:.2%}"
    if kind == Kind.MONEY:
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# --- the applications list ---------------------------------------------------------------

APPLICATION_COLUMNS = [
    Column("application", "Application", Kind.ID, 16),
    Column("facility", "Facility", Kind.ID, 12),
    Column("job", "Job", Kind.ID, 14),
    Column("job_title", "Job title", Kind.TEXT, 28),
    Column("candidate", "Candidate", Kind.ID, 14),
    Column("candidate_name", "Candidate name", Kind.TEXT, 24),
    Column("candidate_email", "Candidate email", Kind.TEXT, 28),
    Column("source", "Source", Kind.TEXT, 14),
    Column("status", "Status", Kind.TEXT, 14),
    Column("furthest_stage", "Furthest stage", Kind.TEXT, 14),
    Column("applied", "Applied", Kind.DATE, 12),
    Column("offered", "Offered", Kind.DATE, 12),
    Column("hired", "Hired", Kind.DATE, 12),
]

APPLICATIONS_SQL = """
SELECT a.external_id, f.code, j.external_id, j.title, c.external_id, c.first_name, c.last_name, c.email,
       a.source, a.status, a.furthest_stage, a.applied_date, a.offered_date, a.hired_date, a.facility_id
FROM events_application a
JOIN accounts_facility f ON f.id = a.facility_id
JOIN events_job j ON j.id = a.job_id
JOIN events_candidate c ON c.id = a.candidate_id
WHERE a.facility_id = ANY(%s) AND a.applied_date BETWEEN %s AND %s
ORDER BY a.applied_date, a.id
"""


def _application_rows(
    *, facility_ids: list[int], personal: set[int], start: date, end: date, tally: Counter
) -> Iterator[dict]:
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(APPLICATIONS_SQL, [facility_ids, start, end])
        while batch := cursor.fetchmany(5_000):
            for (app, code, job, title, candidate, first, last, email, source, status, stage, applied, offered,
                 hired, facility_id) in batch:  # fmt: skip
                name = f"{first} {last}".strip()
                if facility_id not in personal:
                    name, email = mask_name(name), mask_email(email)
                else:
                    tally["unmasked"] += 1
                tally[status] += 1
                yield {
                    "application": app, "facility": code, "job": job, "job_title": title, "candidate": candidate,
                    "candidate_name": name, "candidate_email": email, "source": source, "status": status,
                    "furthest_stage": STAGES[stage] if 0 <= stage < len(STAGES) else str(stage),
                    "applied": applied, "offered": offered, "hired": hired,
                }  # fmt: skip


def _applications(*, report: Report, codes: list[str], start: date, end: date, path: Path) -> Built:
    facilities = list(Facility.objects.filter(code__in=codes).values_list("id", "time_zone"))
    facility_ids = [facility_id for facility_id, _ in facilities]
    personal = set(facility_ids_for(report.owner, FacilityPermission.VIEW_PERSONAL_DATA))
    tally: Counter = Counter()
    rows = _application_rows(facility_ids=facility_ids, personal=personal, start=start, end=end, tally=tally)
    zone = facilities[0][1] if len(facilities) == 1 else "facility" if facilities else settings.REPORTING_TIME_ZONE
    period = {"start_date": start.isoformat(), "end_date": end.isoformat(), "time_zone": zone}
    masked_any = any(facility_id not in personal for facility_id in facility_ids)
    definitions = _definitions(report, period, codes, None, 0, masked=masked_any)
    count = _write(report, path, APPLICATION_COLUMNS, rows, definitions, None)
    headline = [("Applications", f"{count:,}")] + [
        (status.capitalize(), f"{tally[status]:,}") for status in ("hired", "offered", "rejected") if count
    ]
    return Built(
        path=path,
        filename=path.name,
        rows=count,
        facilities=codes,
        data_as_of=None,  # read from the records themselves, as of the run
        headline=headline,
        unmasked=tally["unmasked"],
    )


# --- shared ------------------------------------------------------------------------------


PERTURBED_NOTE = (
    "Counts are shifted by at most {noise} each way, the same way every time the same records are counted, so "
    "that small groups cannot be worked out by comparing overlapping reports (rates are computed from the shifted "
    "counts; totals are shifted on their own, so parts need not add up to them)."
)


def _clock_note(zone: str) -> str:
    if zone == "facility":
        return (
            "Dates are each facility's own local days (its time zone); a total over several facilities adds "
            f"each one's days. Events of no facility are dated in {settings.REPORTING_TIME_ZONE}."
        )
    return f"Dates are local days in {zone}."


def _definitions(
    report: Report,
    period: dict,
    codes: list[str],
    as_of: str | None,
    suppressed: int,
    *,
    masked: bool = False,
    perturbed: bool = False,
) -> list[tuple[str, str]]:
    notes = [
        ("Report", report.name),
        ("Contents", ReportKind(report.kpi).label),
        ("Period", f"{period['start_date']} to {period['end_date']} (inclusive)"),
        ("Time zone", _clock_note(period.get("time_zone") or settings.REPORTING_TIME_ZONE)),
        ("Facilities", ", ".join(codes)),
        (
            "Data as of",
            f"{as_of.replace('T', ' ')[:16]} UTC" if as_of and as_of != "now" else "the records at the time of the run",
        ),
        ("Definition", KPI_DEFINITIONS.get(report.kpi, "")),
    ]
    if report.kpi != APPLICATIONS:
        notes.append(
            (
                "Suppressed cells",
                f"{suppressed} value(s) are left empty: counts of 1 to {settings.PRIVACY_MIN_CELL_SIZE - 1}, and the "
                "rates and means built on them, are not shown to readers without access to candidate-level data."
                if suppressed
                else "None.",
            )
        )
        if perturbed:
            notes.append(("Perturbed counts", PERTURBED_NOTE.format(noise=settings.PRIVACY_MAX_NOISE)))
    else:
        notes.append(("Personal data", "Masked for facilities without personal-data access." if masked else "Shown."))
    return notes


def _write(report, path, columns, rows, definitions, chart, summary=()) -> int:
    if report.format == ReportFormat.CSV:
        return export_csv(path, columns, rows)
    return export_xlsx(
        path, columns, rows, sheet_title=report.name, definitions=definitions, chart=chart, summary=summary
    )
