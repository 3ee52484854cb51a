"""What recipients get: a real SMTP server on loopback receives every email; the attachment is
opened with openpyxl / pandas and compared with the API's answer."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pandas as pd
import pytest
from django.core import signing

from reports.models import ReportRun
from reports.services.delivery import download_token, report_delivery_attempt
from reports.services.runs import report_run_execute
from tests.factories import jwt_client, make_candidate
from tests.kpi_data import refresh_all
from tests.reports.conftest import attachment, make_report

NOV_1_7 = {"period": "custom", "start_date": date(2026, 11, 1), "end_date": date(2026, 11, 7)}


def run_now(report) -> ReportRun:
    return report_run_execute(run_id=ReportRun.objects.create(report=report, trigger="manual").pk)


def workbook(message) -> openpyxl.Workbook:
    _, data = attachment(message)
    return openpyxl.load_workbook(io.BytesIO(data))


@pytest.fixture
def hires_in_november(build_a):
    job = build_a.job("2026-11-02", positions=20)
    for day in range(2, 7):
        for _ in range(3):
            build_a.application(job, f"2026-11-0{day}", status="hired", stage=4, hired=f"2026-11-0{day + 1}")
    build_a.application(job, "2026-11-03", status="rejected", stage=1)
    refresh_all()


def test_a_dashboard_report_arrives_with_the_apis_numbers_as_real_cells(smtp, alice, hires_in_november):
    report = make_report(alice, name="Daily dashboard", kpi="dashboard", **NOV_1_7)

    run = run_now(report)

    assert run.status == "succeeded", run.error
    (message,) = smtp.to("ops@example.com")
    assert message["Subject"] == "Daily dashboard: 01 Nov 2026 to 07 Nov 2026"
    body = message.get_body(("plain",)).get_content()
    assert "Applications: 16" in body and "Rows: 7" in body and "Data as of:" in body
    api = jwt_client(alice).get("/api/v1/analytics/dashboard/", {"start_date": "2026-11-01", "end_date": "2026-11-07"})
    daily = api.json()["metrics"]["daily"]
    book = workbook(message)
    sheet = book["Daily dashboard"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header == ("Date", "Applications", "Hires", "Revenue", "Replies")
    assert [(r[0].date(), r[1], r[2]) for r in rows] == [
        (date.fromisoformat(d["date"]), d["applications"], d["hires"]) for d in daily
    ]
    assert sheet["A2"].is_date and sheet["A2"].number_format == "yyyy-mm-dd"
    assert sheet["B2"].data_type == "n" and sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:E8"
    assert sheet._charts, "a native chart of the daily series"
    summary = dict(book["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["Applications"] == api.json()["metrics"]["applications"] == 16
    assert summary["Hire rate"] == api.json()["metrics"]["hire_rate"]
    notes = dict(book["Definitions"].iter_rows(values_only=True))
    assert notes["Period"] == "2026-11-01 to 2026-11-07 (inclusive)"
    assert notes["Facilities"] == "MERCY-01" and "UTC" in notes["Time zone"]


def test_a_csv_report_is_utf8_with_a_header_row(smtp, alice, hires_in_november):
    report = make_report(alice, kpi="trends", format="csv", options={"metric": "hires"}, **NOV_1_7)

    run_now(report)

    name, data = attachment(smtp.to("ops@example.com")[0])
    assert name.endswith(".csv")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8")
    assert list(frame.columns) == ["Bucket", "Value"]
    assert frame["Value"].tolist() == [0, 0, 3, 3, 3, 3, 3]


def test_an_hourly_report_names_each_hour_as_text_with_its_offset(smtp, alice, hires_in_november):
    report = make_report(alice, kpi="trends", format="csv", options={"metric": "hires", "granularity": "hour"},
                         period="custom", start_date=date(2026, 11, 3), end_date=date(2026, 11, 3))  # fmt: skip

    run = run_now(report)

    assert run.status == "succeeded", run.error
    frame = pd.read_csv(io.BytesIO(attachment(smtp.to("ops@example.com")[0])[1]), encoding="utf-8")
    assert len(frame) == 24 and frame["Bucket"].iloc[0] == "2026-11-03T00:00+00:00"
    assert frame["Value"].sum() == 3


def test_a_viewers_report_is_suppressed_exactly_like_the_viewers_api_answer(smtp, carol, hires_in_november):
    report = make_report(carol, kpi="pipeline", **NOV_1_7)

    run = run_now(report)

    api = jwt_client(carol).get("/api/v1/analytics/pipeline/", {"start_date": "2026-11-01", "end_date": "2026-11-07"})
    assert api.json()["suppressed"], "the fixture has small cells"
    book = workbook(smtp.to("ops@example.com")[0])
    summary = dict(book["Summary"].iter_rows(min_row=2, values_only=True))
    metrics = api.json()["metrics"]
    assert summary["Applications"] == metrics["applications"]
    assert summary["By status, rejected"] is None and metrics["by_status"]["rejected"] is None
    assert summary["Hires"] == metrics["hires"]
    assert run.summary["suppressed"] == len(api.json()["suppressed"])
    assert "value(s) are suppressed" in smtp.messages[0].get_body(("plain",)).get_content()


def test_an_applications_list_keeps_codes_as_text_and_neutralises_formulas(smtp, alice, build_a):
    job = build_a.job("2026-11-02")
    build_a.application(job, "2026-11-03")
    application = build_a.application(job, "2026-11-04", status="hired", stage=4, hired="2026-11-05")
    application.external_id = "0012"
    application.candidate = make_candidate(build_a.facility, first_name='=HYPERLINK("x")', last_name="-Doe")
    application.save()
    report = make_report(alice, kpi="applications", **NOV_1_7)  # row-level: only for the personal-data grant

    run_now(report)

    sheet = workbook(smtp.to("ops@example.com")[0])["Weekly pipeline"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "0012" in rows, "an id stays text: 0012 is not 12"
    assert rows["0012"][5] == '=HYPERLINK("x") -Doe'  # stored as a string, never a formula
    cell = next(c for c in sheet["F"] if c.value == '=HYPERLINK("x") -Doe')
    assert cell.data_type == "s" and cell.quotePrefix
    assert rows["0012"][12].date() == date(2026, 11, 5)


def test_a_recruiter_with_personal_access_sees_names_and_the_export_is_audited(smtp, alice, build_a):
    from accounts.models import AuditEvent

    build_a.application(build_a.job("2026-11-02"), "2026-11-03")
    report = make_report(alice, kpi="applications", format="csv", **NOV_1_7)

    run = run_now(report)

    _, data = attachment(smtp.to("ops@example.com")[0])
    frame = pd.read_csv(io.BytesIO(data), dtype=str)
    assert frame.loc[0, "Candidate name"] == "Jane Doe"
    assert AuditEvent.objects.filter(action="personal_data.export", object_id=str(run.pk)).exists()


def test_an_empty_result_is_sent_and_says_no_rows(smtp, alice, facility_a):
    run = run_now(make_report(alice, kpi="applications", **NOV_1_7))

    assert run.status == "succeeded" and run.rows == 0
    message = smtp.to("ops@example.com")[0]
    assert message["Subject"].endswith("(no rows)")
    assert "No rows:" in message.get_body(("plain",)).get_content()


def test_a_refusing_server_is_retried_until_it_accepts(smtp, alice, facility_a):
    smtp.transient_failures = 2
    run = run_now(make_report(alice))

    delivery = run.deliveries.get()
    assert (run.status, delivery.status, delivery.attempts) == ("running", "pending", 1)
    assert "451" in delivery.error
    report_delivery_attempt(delivery_id=delivery.pk, schedule_retry=False)
    assert report_delivery_attempt(delivery_id=delivery.pk, schedule_retry=False).status == "sent"

    run.refresh_from_db()
    delivery.refresh_from_db()
    assert (run.status, delivery.attempts, delivery.error) == ("succeeded", 3, "")
    assert len(smtp.to("ops@example.com")) == 1


def test_the_last_attempt_fails_the_run_and_tells_the_owner(smtp, alice, settings, facility_a):
    settings.REPORT_DELIVERY_ATTEMPTS = 2
    smtp.transient_failures = 2
    run = run_now(make_report(alice, recipients=["ops@example.com"]))
    report_delivery_attempt(delivery_id=run.deliveries.get().pk, schedule_retry=False)

    run.refresh_from_db()
    assert run.status == "failed"
    assert "gave up after 2 attempts" in run.error
    assert smtp.to("alice@example.com")[0]["Subject"] == "Report failed: Weekly pipeline"


def test_one_refused_recipient_does_not_stop_the_others(smtp, alice, facility_a):
    smtp.refused.add("gone@example.com")
    run = run_now(make_report(alice, recipients=["ops@example.com", "gone@example.com", "cfo@example.com"]))

    statuses = dict(run.deliveries.values_list("recipient", "status"))
    assert statuses == {"ops@example.com": "sent", "gone@example.com": "failed", "cfo@example.com": "sent"}
    assert run.status == "failed" and "gone@example.com: 550" in run.error
    assert smtp.to("ops@example.com") and smtp.to("cfo@example.com")


def test_an_oversize_file_goes_as_a_signed_link_that_downloads(smtp, alice, settings, hires_in_november, client):
    settings.REPORT_MAX_ATTACHMENT_MB = 0.001  # about 1 KB
    run = run_now(make_report(alice, kpi="dashboard", **NOV_1_7))

    message = smtp.to("ops@example.com")[0]
    assert not list(message.iter_attachments())
    body = message.get_body(("plain",)).get_content()
    assert "larger than the 0.001 MB attachment limit" in body
    link = next(line for line in body.splitlines() if "/download/?token=" in line).strip()
    response = client.get(urlsplit(link).path, {"token": parse_qs(urlsplit(link).query)["token"][0]})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == Path(run.file.path).read_bytes()


def test_tampered_expired_and_foreign_links_are_refused(smtp, alice, settings, facility_a, client):
    first, second = run_now(make_report(alice)), run_now(make_report(alice, name="Other"))
    token = download_token(run=first, recipient="ops@example.com")
    url = f"/api/v1/report-runs/{first.pk}/download/"

    assert client.get(url, {"token": token}).status_code == 200
    assert client.get(url, {"token": token[:-2] + ("AA" if not token.endswith("AA") else "BB")}).status_code == 401
    assert client.get(f"/api/v1/report-runs/{second.pk}/download/", {"token": token}).status_code == 404
    settings.REPORT_LINK_MAX_AGE_HOURS = 0
    expired = client.get(url, {"token": token})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="another.purpose")


def test_the_period_of_a_scheduled_run_follows_its_slot(smtp, alice, facility_a):
    from datetime import UTC, datetime

    report = make_report(alice, period="previous_week")
    slot = datetime(2026, 11, 23, 12, tzinfo=UTC)
    run = ReportRun.objects.create(report=report, trigger="schedule", scheduled_for=slot)

    run = report_run_execute(run_id=run.pk)

    assert (run.period_start, run.period_end) == (date(2026, 11, 16), date(2026, 11, 22))
    assert run.period_end - run.period_start == timedelta(days=6)
