"""Remove the beat entries of reports deleted with their owner before reports.signals existed:
they fired every slot for a report that was gone (harmless, but listed under Periodic tasks)."""

from django.db import migrations

TASK = "reports.run_scheduled"


def remove_orphans(apps, schema_editor):
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    schedule_model = apps.get_model("reports", "ReportSchedule")
    owned = schedule_model.objects.exclude(periodic_task=None).values("periodic_task_id")
    task_model.objects.filter(task=TASK).exclude(pk__in=owned).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_run_file_retention"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(remove_orphans, migrations.RunPython.noop)]
