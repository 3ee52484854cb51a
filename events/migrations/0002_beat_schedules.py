from django.db import migrations

# Seeded once; operators may change or pause them in the admin (Periodic tasks).
SCHEDULES = [
    # name, task, every (seconds) or crontab (minute, hour)
    ("Apply pending events (sweep)", "events.process_pending", 60, None),
    ("Event log partitions and retention", "events.maintain_partitions", None, ("17", "3")),
]


def seed(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, cron in SCHEDULES:
        if task_model.objects.filter(name=name).exists():
            continue
        if every:
            interval, _ = interval_model.objects.get_or_create(every=every, period="seconds")
            task_model.objects.create(name=name, task=task, interval=interval)
        else:
            minute, hour = cron
            crontab, _ = crontab_model.objects.get_or_create(
                minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
            )
            task_model.objects.create(name=name, task=task, crontab=crontab)


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
