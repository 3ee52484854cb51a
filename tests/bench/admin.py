"""Console benchmark: how long each admin page takes on the demo data, signed in as an Admin.

Uses the database it is pointed at as it is (run `make run` or `manage.py seed_demo` first):
the home page (dashboard), the status panel, every changelist, each one's first change page,
and the lists the status tiles link to. Each page is requested once untimed (cold cache,
imports), then timed ``--repeat`` times in-process through Django's test client (no network).

Usage: python -m tests.bench.admin [--repeat 3] [--json var/bench/admin.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path


def pages() -> list[str]:
    from django.contrib import admin
    from django.urls import reverse

    from accounts.roles import ADMIN_APPS

    urls = ["/admin/", "/admin/status/", "/admin/events/event/?status=failed", "/admin/events/event/?status=pending",
            "/admin/reports/reportrun/?status__exact=failed"]  # fmt: skip
    for model in admin.site._registry:
        if model._meta.app_label not in ADMIN_APPS:
            continue
        info = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        first = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
        if first is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[first]))
    return urls


def measure(repeat: int) -> list[dict]:
    from django.test import Client

    from accounts.models import Role, User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first())
    results = []
    for url in pages():
        status = client.get(url).status_code  # untimed: imports, cold cache
        times = []
        for _ in range(repeat):
            begun = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - begun) * 1000)
        results.append({"url": url, "status": status, "median_ms": round(statistics.median(times), 1),
                        "max_ms": round(max(times), 1)})  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("var/bench/admin.json"))
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    results = measure(args.repeat)
    width = max(len(r["url"]) for r in results)
    for r in sorted(results, key=lambda r: -r["max_ms"]):
        print(f"{r['url']:<{width}}  {r['status']}  median {r['median_ms']:>7.1f} ms  max {r['max_ms']:>7.1f} ms")
    slowest = max(results, key=lambda r: r["max_ms"])
    print(f"{len(results)} pages; slowest {slowest['url']} at {slowest['max_ms']} ms; "
          f"errors: {[r['url'] for r in results if r['status'] != 200] or 'none'}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
