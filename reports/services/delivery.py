"""Emailing a run to each recipient: the message, attempts with backoff, signed links.

Transient SMTP trouble (a 4xx reply, a dropped or refused connection, a timeout) leaves the
delivery pending for another attempt, later and later; a permanent refusal (5xx) or the last
attempt fails it. The run settles when no delivery is pending.
"""

from __future__ import annotations

import logging
import smtplib
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from celery import current_app
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Facility
from accounts.principals import Actor
from accounts.services import audit_record
from reports.building import RowsRefused, run_rows_refused
from reports.models import DeliveryStatus, ReportDelivery, ReportRun, RunStatus
from reports.services.outcomes import report_run_settle

logger = logging.getLogger(__name__)
LINK_SALT = "reports.download"


# --- signed links ----------------------------------------------------------------------------


def download_token(*, run: ReportRun, recipient: str) -> str:
    return signing.dumps({"run": run.pk, "to": recipient}, salt=LINK_SALT, compress=True)


def download_token_read(token: str) -> tuple[int, str]:
    """(run id, recipient) of a valid link; signing.BadSignature (incl. SignatureExpired) if not."""
    max_age = timedelta(hours=settings.REPORT_LINK_MAX_AGE_HOURS)
    data = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    if not isinstance(data, dict) or not isinstance(data.get("run"), int):
        raise signing.BadSignature("malformed link")
    return data["run"], str(data.get("to", ""))


def download_url(*, run: ReportRun, recipient: str) -> str:
    path = reverse("api:report-run-download", args=[run.pk])
    return f"{settings.SITE_URL}{path}?token={download_token(run=run, recipient=recipient)}"


def report_run_download(*, run: ReportRun, by: Actor, via_link: bool) -> Path:
    """The run's file, for a download that is allowed; the download is audited."""
    path = Path(run.file.path)
    if not path.exists():
        raise FileNotFoundError(path)
    audit_record(by=by, action="report.download", obj=run, via="link" if via_link else "account", bytes=run.bytes)
    return path


# --- the message -----------------------------------------------------------------------------


def _size(count: int | None) -> str:
    count = count or 0
    if count >= 1024 * 1024:
        return f"{count / 1024 / 1024:.1f} MB"
    return f"{max(1, round(count / 1024))} KB"


def _whose_days(codes: list[str]) -> str:
    """Which clock a run's dates are in: its one facility's zone, or each facility's own."""
    zones = set(Facility.objects.filter(code__in=codes).values_list("time_zone", flat=True))
    if len(codes) == 1 and len(zones) == 1:
        return f"local days in {zones.pop()}"
    return "each facility's local days"


def report_message(*, run: ReportRun, recipient: str) -> EmailMultiAlternatives:
    report = run.report
    period = f"{run.period_start:%d %b %Y}" if run.period_start == run.period_end else (
        f"{run.period_start:%d %b %Y} to {run.period_end:%d %b %Y}"
    )  # fmt: skip
    too_big = (run.bytes or 0) > settings.REPORT_MAX_ATTACHMENT_MB * 1024 * 1024
    expires = timezone.now() + timedelta(hours=settings.REPORT_LINK_MAX_AGE_HOURS)
    as_of = run.data_as_of or run.started_at
    assert run.file.name is not None  # a built run has its file
    context = {
        "report": report,
        "period": f"{period} ({_whose_days(list(run.facilities))})",
        "facilities": ", ".join(run.facilities),
        "data_as_of": f"{as_of:%Y-%m-%d %H:%M} UTC" if as_of else "unknown",
        "rows": run.rows or 0,
        "headline": run.summary.get("headline", []),
        "suppressed": run.summary.get("suppressed", 0),
        "threshold": settings.PRIVACY_MIN_CELL_SIZE,
        "perturbed": run.summary.get("perturbed", False),
        "max_noise": settings.PRIVACY_MAX_NOISE,
        "filename": Path(run.file.name).name,
        "size": _size(run.bytes),
        "limit_mb": settings.REPORT_MAX_ATTACHMENT_MB,
        "link": download_url(run=run, recipient=recipient) if too_big else "",
        "link_expires": f"{expires:%Y-%m-%d %H:%M} UTC",
    }
    subject = f"{report.name}: {period}" + (" (no rows)" if not run.rows else "")
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("reports/email/report.txt", context), to=[recipient]
    )
    message.attach_alternative(render_to_string("reports/email/report.html", context), "text/html")
    if not too_big:
        content_type = "text/csv" if run.file.name.endswith(".csv") else (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )  # fmt: skip
        with run.file.open("rb") as handle:
            message.attach(context["filename"], handle.read(), content_type)
    return message


# --- attempts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    status: str
    retry_in: float | None = None  # seconds, when another attempt should follow


def _transient(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, OSError))


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {reply.decode(errors='replace')}" for code, reply in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        return f"{exc.smtp_code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
    return f"{exc.__class__.__name__}: {exc}"


def backoff_seconds(attempts: int) -> float:
    # (An env setting and int ** int are both typed Any.)
    return cast(float, settings.REPORT_DELIVERY_BACKOFF_SECONDS * (2 ** max(0, attempts - 1)))


def report_delivery_attempt(*, delivery_id: int, schedule_retry: bool = True) -> Attempt:
    """One try at sending one recipient's email. Under a row lock, so two workers never send the
    same delivery; a delivery no longer pending is left alone."""
    with transaction.atomic():
        delivery = (
            ReportDelivery.objects.select_for_update(skip_locked=True)
            .select_related("run__report__owner")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return Attempt(status="skipped")
        delivery.attempts += 1
        refused = run_rows_refused(delivery.run)  # a retry or resend after the owner lost the rows
        try:
            if refused:
                raise RowsRefused(delivery.run.report.owner, refused)
            report_message(run=delivery.run, recipient=delivery.recipient).send()
        except RowsRefused as exc:
            delivery.status, delivery.error = DeliveryStatus.FAILED, str(exc)[:1000]
            logger.warning("report delivery %s to %s not sent: %s", delivery.pk, delivery.recipient, delivery.error)
        except Exception as exc:
            transient = _transient(exc)
            delivery.error = _describe(exc)[:1000]
            last = delivery.attempts >= settings.REPORT_DELIVERY_ATTEMPTS
            delivery.status = DeliveryStatus.PENDING if transient and not last else DeliveryStatus.FAILED
            if delivery.status == DeliveryStatus.FAILED and transient:
                delivery.error = f"gave up after {delivery.attempts} attempts; last: {delivery.error}"
            logger.warning("report delivery %s to %s: %s", delivery.pk, delivery.recipient, delivery.error)
        else:
            delivery.status, delivery.sent_at, delivery.error = DeliveryStatus.SENT, timezone.now(), ""
        delivery.save(update_fields=["attempts", "status", "sent_at", "error", "updated_at"])
    if delivery.status == DeliveryStatus.PENDING:
        retry_in = backoff_seconds(delivery.attempts)
        if schedule_retry:
            _enqueue_retry(delivery.pk, retry_in)
        return Attempt(status=delivery.status, retry_in=retry_in)
    report_run_settle(run_id=delivery.run_id)
    return Attempt(status=delivery.status)


def _enqueue_retry(delivery_id: int, countdown: float) -> None:
    try:
        current_app.send_task("reports.deliver", args=[delivery_id], countdown=countdown)
    except Exception:
        logger.warning("could not schedule the retry of delivery %s; the sweep will", delivery_id, exc_info=True)


def report_deliveries_retry_due(*, now: datetime | None = None) -> int:
    """Sweep: pending deliveries whose retry is overdue (a lost task) get another attempt."""
    now = now or timezone.now()
    due = ReportDelivery.objects.filter(
        status=DeliveryStatus.PENDING, attempts__gt=0, updated_at__lt=now - timedelta(minutes=10)
    ).values_list("pk", flat=True)[:100]
    for delivery_id in due:
        _enqueue_retry(delivery_id, 0)
    return len(due)


@transaction.atomic
def report_delivery_resend(*, delivery: ReportDelivery, by: Actor) -> ReportDelivery:
    """Send a failed delivery again (an operator fixed the address or the mail server). The run
    goes back to running until the new attempt settles it."""
    delivery.status, delivery.attempts, delivery.error = DeliveryStatus.PENDING, 0, ""
    delivery.save(update_fields=["status", "attempts", "error", "updated_at"])
    ReportRun.objects.filter(pk=delivery.run_id).update(status=RunStatus.RUNNING, finished_at=None)
    audit_record(by=by, action="report.delivery_resend", obj=delivery.run, recipient=delivery.recipient)
    transaction.on_commit(lambda: _enqueue_retry(delivery.pk, 0))
    return delivery
