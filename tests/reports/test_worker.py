"""End to end with a real worker: run now over the API, the worker builds the file and an SMTP
server on loopback receives it."""

from __future__ import annotations

import io

import openpyxl
import pytest

from reports.models import ReportRun
from tests.conftest import wait_for
from tests.factories import jwt_client
from tests.reports.conftest import attachment, make_report

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_now_is_built_and_emailed_by_the_worker(celery_worker_process, worker_smtp, settings, alice, facility_a):
    settings.MEDIA_ROOT = worker_smtp.media_root
    worker_smtp.messages.clear()
    report = make_report(alice, name="Worker check", kpi="kpis", recipients=["worker-check@example.com"])

    response = jwt_client(alice).post(f"/api/v1/reports/{report.pk}/run/")

    assert response.status_code == 202
    run_id = response.json()["run"]["id"]
    run = wait_for(lambda: ReportRun.objects.filter(pk=run_id, status__in=["succeeded", "failed"]).first(),
                   timeout=60, what="the worker to run the report")  # fmt: skip
    assert run.status == "succeeded", run.error
    (message,) = worker_smtp.to("worker-check@example.com")
    name, data = attachment(message)
    assert name.endswith(".xlsx")
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["Worker check", "Summary", "Definitions"]
    detail = jwt_client(alice).get(f"/api/v1/report-runs/{run_id}/").json()
    assert detail["deliveries"][0]["status"] == "sent"
    assert jwt_client(alice).get(f"/api/v1/report-runs/{run_id}/download/").status_code == 200
