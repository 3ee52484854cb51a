from django.db import migrations

# Seeded once; operators change or pause them in the admin (Periodic tasks).
SCHEDULES = [
    ("Refresh pipeline views (every 30 minutes)", "*/30", "*", '{"views": ["pipeline"]}'),
    ("Refresh all views (hourly)", "7", "*", "{}"),
]


def seed(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, minute, hour, kwargs in SCHEDULES:
        if task_model.objects.filter(name=name).exists():
            continue
        crontab, _ = crontab_model.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        task_model.objects.create(name=name, task="analytics.refresh_scheduled", crontab=crontab, kwargs=kwargs)


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_pipeline_views"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
