from django.db import migrations

NAME = "Rollups: recompute marked buckets (every minute, behind processing)"


def seed(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    if task_model.objects.filter(name=NAME).exists():
        return
    crontab, _ = crontab_model.objects.get_or_create(
        minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    task_model.objects.create(name=NAME, task="analytics.rollups_apply", crontab=crontab, kwargs="{}")


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0013_rollups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
