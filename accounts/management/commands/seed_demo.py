from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import seed_facilities


class Command(BaseCommand):
    help = "Load deterministic demo data. Safe to run again: it updates what is there."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        facilities = seed_facilities()
        self.stdout.write(self.style.SUCCESS(f"demo data: {len(facilities)} facilities"))
