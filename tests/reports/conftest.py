"""A real SMTP server on loopback (aiosmtpd) and shortcuts for report definitions."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from accounts.principals import Actor
from reports.services.definitions import report_save
from tests.smtp import Mailbox, free_port


@pytest.fixture
def smtp(settings, tmp_path):
    """Email goes over SMTP to a server on 127.0.0.1; report files go to a temporary folder."""
    yield from loopback_smtp(settings, tmp_path)


def loopback_smtp(settings, tmp_path):
    """The ``smtp`` fixture's body, for other test folders' fixtures."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.REPORT_DELIVERY_BACKOFF_SECONDS = 0
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


def make_report(owner, *, facilities=(), schedule=None, **values):
    values.setdefault("name", "Weekly pipeline")
    values.setdefault("kpi", "pipeline")
    values.setdefault("period", "last_7_days")
    values.setdefault("format", "xlsx")
    values.setdefault("recipients", ["ops@example.com"])
    extra = {"schedule": schedule} if schedule is not None else {}
    return report_save(by=Actor.system("tests"), owner=owner, facilities=list(facilities), **extra, **values)


def attachment(message: EmailMessage):
    """(filename, bytes) of the message's one attachment."""
    parts = list(message.iter_attachments())
    assert len(parts) == 1, [p.get_filename() for p in parts]
    return parts[0].get_filename(), parts[0].get_payload(decode=True)
