"""Two scheduled demo reports, so `make run` shows the whole path from event to email."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from accounts.principals import Actor
from reports.models import Report
from reports.services.definitions import report_save

DEMO_REPORTS: list[dict[str, Any]] = [
    {
        "owner": "demo-recruiter",
        "name": "Weekly pipeline (demo)",
        "kpi": "pipeline",
        "period": "previous_week",
        "group_by": "facility",
        "format": "xlsx",
        "schedule": {"crontab": "0 7 * * 1", "time_zone": "America/New_York"},
    },
    {
        "owner": "demo-admin",
        "name": "Daily dashboard (demo)",
        "kpi": "dashboard",
        "period": "last_30_days",
        "group_by": "",
        "format": "xlsx",
        "schedule": {"crontab": "30 6 * * *", "time_zone": "UTC"},
    },
]


def seed_reports() -> list[Report]:
    """Create the demo reports if missing (matched by owner and name). Idempotent."""
    by = Actor.system("seed_demo")
    reports = []
    for spec in DEMO_REPORTS:
        spec = dict(spec)
        owner = User.objects.filter(username=spec.pop("owner")).first()
        if owner is None:
            continue
        existing = Report.objects.filter(owner=owner, name=spec["name"]).first()
        if existing is None:
            existing = report_save(by=by, owner=owner, recipients=[owner.email], facilities=[], **spec)
        reports.append(existing)
    return reports
