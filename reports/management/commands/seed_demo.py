import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import seed_facilities, seed_users
from analytics.services.refresh import refresh_request, refresh_runs_execute
from events.seeding import demo_history_load
from reports.demo import seed_reports


class Command(BaseCommand):
    help = (
        "Load deterministic demo data: facilities, one user per role, two scheduled reports and "
        "~18 months of history sent through the ingestion service. Safe to run again: it updates "
        "what is there. Demo users get DEMO_PASSWORD (default shown on output)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="allow running with production settings")
        parser.add_argument("--seed", type=int, default=7, help="random seed of the generated history")
        parser.add_argument("--scale", type=float, default=1.0, help="multiply the history's size (benchmarks)")
        parser.add_argument("--no-history", action="store_true", help="facilities and users only")

    def handle(self, *args, force: bool, seed: int, scale: float, no_history: bool, **options) -> None:
        # Under override_settings (the live-server tests) SETTINGS_MODULE reads None: ask the environment.
        module = settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE", "")
        if module.endswith("production") and not force:
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
        reports = seed_reports()
        self.stdout.write(self.style.SUCCESS(f"demo reports: {', '.join(r.name for r in reports)}"))
        if no_history:
            return
        self.stdout.write("demo history: sending events through the ingestion service…")
        loaded = demo_history_load(seed=seed, scale=scale, progress=self.stdout.write)
        if loaded is None:
            self.stdout.write(self.style.SUCCESS("demo history: already loaded"))
            return
        self.stdout.write(self.style.SUCCESS(f"demo history: {loaded}"))
        runs = refresh_request(views=None, by=None, trigger="seed_demo", enqueue=False)
        done = refresh_runs_execute(run_ids=[run.pk for run in runs])
        self.stdout.write(self.style.SUCCESS("views refreshed: " + ", ".join(f"{r.view} {r.status}" for r in done)))
