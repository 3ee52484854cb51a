"""Compute facilities' local dates again (events.services.redating)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Facility
from events.services.redating import facilities_redate


class Command(BaseCommand):
    help = (
        "Re-date the records and logged events of facilities whose time zone changed (what every refresh does "
        "first), or of the facilities named, whatever zone their dates are said to be in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("codes", nargs="*", help="facility codes (none: those whose time zone changed)")

    def handle(self, *args: Any, codes: list[str], **options: Any) -> None:
        unknown = sorted(set(codes) - set(Facility.objects.filter(code__in=codes).values_list("code", flat=True)))
        if unknown:
            raise CommandError(f"No such facility: {', '.join(unknown)}")
        changed = facilities_redate(codes=codes or None)
        for code, rows in sorted(changed.items()):
            self.stdout.write(f"{code}: {rows} row(s) re-dated")
        if not changed:
            self.stdout.write("Nothing to re-date.")
