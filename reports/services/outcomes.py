"""How a report run ends: failed with its reason, or settled once every delivery is sent or has
failed for good; then the consequences (consecutive failures counted, the schedule switched off
after too many, the owner and the Admins told). Building (runs) and sending (delivery) both end
a run here, so neither imports the other for it."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from reports.models import DeliveryStatus, Report, ReportRun, RunStatus, RunTrigger
from reports.services.definitions import report_disable

logger = logging.getLogger(__name__)


def report_run_fail(*, run: ReportRun, error: str) -> ReportRun:
    run.status = RunStatus.FAILED
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    _after_outcome(run)
    return run


def report_run_settle(*, run_id: int) -> ReportRun:
    """Once every delivery is sent or has failed for good, the run succeeds or fails."""
    with transaction.atomic():
        run = ReportRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            return run
        deliveries = list(run.deliveries.all())
        if any(d.status == DeliveryStatus.PENDING for d in deliveries):
            return run
        failed = [d for d in deliveries if d.status == DeliveryStatus.FAILED]
        if not deliveries:
            run.status = RunStatus.FAILED
            run.error = "No recipients: the report has none (a test email needs an email address on your account)."
        elif failed:
            run.status = RunStatus.FAILED
            run.error = f"{len(failed)} of {len(deliveries)} deliveries failed: " + "; ".join(
                f"{d.recipient}: {d.error}" for d in failed
            )
        else:
            run.status, run.error = RunStatus.SUCCEEDED, ""
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
    _after_outcome(run)
    return run


def _after_outcome(run: ReportRun) -> None:
    """Count consecutive failures of scheduled runs; disable after too many; tell people."""
    report = Report.objects.select_related("owner").get(pk=run.report_id)
    disabled = False
    if run.trigger == RunTrigger.SCHEDULE:
        if run.status == RunStatus.SUCCEEDED:
            Report.objects.filter(pk=report.pk).update(consecutive_failures=0)
        else:
            report.consecutive_failures += 1
            Report.objects.filter(pk=report.pk).update(consecutive_failures=report.consecutive_failures)
            limit = settings.REPORT_MAX_CONSECUTIVE_FAILURES
            if report.consecutive_failures >= limit and report.enabled:
                report_disable(
                    report=report,
                    reason=f"Disabled after {limit} consecutive failed runs (last, run #{run.pk}: {run.error})",
                )
                disabled = True
    if run.status == RunStatus.FAILED:
        report_failure_notify(run=run, report=report, disabled=disabled)


def report_failure_notify(*, run: ReportRun, report: Report, disabled: bool) -> None:
    """Email the owner and every Admin. A failure to notify is logged, never raised."""
    admins = User.objects.filter(is_active=True, role=Role.ADMIN).exclude(email="").values_list("email", flat=True)
    to = sorted({*admins, *([report.owner.email] if report.owner.email else [])})
    logger.warning("report %s run %s failed: %s", report.pk, run.pk, run.error)
    if not to:
        return
    path = reverse("admin:reports_reportrun_change", args=[run.pk])
    body = render_to_string(
        "reports/email/failure.txt",
        {"report": report, "run": run, "disabled": disabled, "admin_url": f"{settings.SITE_URL}{path}"},
    )
    subject = f"Report failed: {report.name}" + (" (schedule disabled)" if disabled else "")
    try:
        EmailMessage(subject=subject, body=body, to=to).send()
    except Exception:
        logger.exception("could not send the failure notice of report run %s", run.pk)
