import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import seed_facilities, seed_users


class Command(BaseCommand):
    help = (
        "Load deterministic demo data: facilities and one user per role. Safe to run again: it "
        "updates what is there. Demo users get DEMO_PASSWORD (default shown on output)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="allow running with production settings")

    def handle(self, *args, force: bool, **options) -> None:
        if settings.SETTINGS_MODULE.endswith("production") and not force:
            raise CommandError("seed_demo creates demo users with a known password; use --force in production")
        password = os.environ.get("DEMO_PASSWORD", "staffing-demo-2026")
        with transaction.atomic():
            facilities = seed_facilities()
            users = seed_users(password=password)
        self.stdout.write(self.style.SUCCESS(f"demo data: {len(facilities)} facilities, {len(users)} demo users"))
        for user, codes in users:
            self.stdout.write(
                f"  {user.username:<16} role {user.role:<10} facilities {', '.join(codes):<26} password {password!r}"
            )
