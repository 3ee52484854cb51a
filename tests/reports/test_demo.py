from django.core.management import call_command

from reports.models import Report


def test_seed_demo_adds_two_scheduled_reports_once(db):
    call_command("seed_demo", no_history=True, verbosity=0)
    call_command("seed_demo", no_history=True, verbosity=0)

    reports = Report.objects.order_by("name")
    assert [r.name for r in reports] == ["Daily dashboard (demo)", "Weekly pipeline (demo)"]
    assert all(r.schedule.periodic_task.enabled and r.recipients for r in reports)
