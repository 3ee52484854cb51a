"""What goes with a report however it is deleted: by report_delete, or with its owner (a
deleted user's reports cascade). Its beat entry stops and its run files leave storage."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django_celery_beat.models import PeriodicTask

from reports.models import ReportRun, ReportSchedule


@receiver(post_delete, sender=ReportSchedule, dispatch_uid="reports.schedule_beat_entry")
def schedule_deleted(sender, instance: ReportSchedule, **kwargs) -> None:
    if instance.periodic_task_id:
        PeriodicTask.objects.filter(pk=instance.periodic_task_id).delete()


@receiver(post_delete, sender=ReportRun, dispatch_uid="reports.run_file")
def run_deleted(sender, instance: ReportRun, **kwargs) -> None:
    if instance.file:
        file = instance.file
        transaction.on_commit(lambda: file.delete(save=False))  # kept if the deletion rolls back
