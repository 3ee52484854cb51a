"""What the operator console shows: the dashboard's numbers and the state of the system.

The dashboard asks the KPI catalog exactly as the API does (``kpi_params_for`` for the staff
user's scope and privacy level, then ``kpi_answer_for``), so its numbers are the API's numbers,
suppressed where the API's would be, and served from the same cache.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.admin_scope import admin_may_view, admin_scope_facility_ids, admin_scope_restrict
from analytics.catalog import kpi_answer_for
from analytics.models import RefreshRun, StaleBucket
from analytics.params import caller_today, kpi_params_for
from analytics.registry import VIEWS, views_named
from config.celery_app import app as celery_app
from config.health import check_heartbeat
from config.heartbeat import heartbeat_age
from events.models import Event
from events.selectors import event_queue_counts
from reports.models import DeliveryStatus, ReportDelivery, ReportRun, RunStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

logger = logging.getLogger(__name__)

DASHBOARD_DAYS = 30
RECENT_FAILURE_DAYS = 7
# A view kept up to date as events apply is stale once a mark waited this long: the processor
# recomputes marked buckets after every round, and a backstop task every minute.
ROLLUP_LATE = timedelta(minutes=5)

# (key in the KPI answer, label, kind): kind decides how a value and its change are shown.
HEADLINE = [
    ("applications", "Applications", "count"),
    ("hires", "Hires", "count"),
    ("hire_rate", "Hire rate", "rate"),
    ("time_to_hire_days", "Time to hire (days)", "days"),
    ("fill_rate", "Fill rate", "rate"),
    ("total_revenue", "Revenue", "money"),
    ("compliance_rate", "Compliance rate", "rate"),
    ("response_rate", "Outreach response rate", "rate"),
    ("dau", "Daily active users", "count"),
    ("mau", "Monthly active users", "count"),
]


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    kind: str
    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """Rates change in points (a difference), everything else relatively (a fraction)."""
        if self.current is None or self.previous is None:
            return None
        if self.kind == "rate":
            return round(self.current - self.previous, 4)
        if not self.previous:
            return None
        return round((self.current - self.previous) / self.previous, 4)

    @property
    def display(self) -> str:
        return show(self.current, self.kind)

    @property
    def previous_display(self) -> str:
        return show(self.previous, self.kind)

    @property
    def change_display(self) -> str:
        change = self.change
        if change is None:
            return "—"
        if self.kind == "rate":
            return f"{change * 100:+.1f} pts"
        return f"{change:+.1%}"

    @property
    def direction(self) -> str:
        """``up`` (better) or ``down`` (worse) for the colour; a longer time to hire is worse."""
        change = self.change
        if not change:
            return "flat"
        better = change < 0 if self.kind == "days" else change > 0
        return "up" if better else "down"


def show(value: float | None, kind: str) -> str:
    """A headline value as the console prints it; None is a suppressed (or undefined) figure."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "money":  # whole units on a card; the API and the reports keep the cents
        return f"{value:,.0f}"
    if kind == "days":
        return f"{value:,.1f}"
    return f"{value:,.0f}"


@dataclass
class Dashboard:
    start: date
    end: date
    previous_start: date
    previous_end: date
    facilities: list[str]
    data_as_of: str | None
    suppressed: bool
    headline: list[Headline]
    daily: list[dict[str, Any]]
    funnel: list[dict[str, Any]]


def console_dashboard(*, user: User | AnonymousUser, today: date | None = None) -> Dashboard:
    """The last 30 days against the 30 before, for the facilities ``user`` may see."""
    end = today or caller_today(user)  # as the API's default period
    start = end - timedelta(days=DASHBOARD_DAYS - 1)
    previous_end = start - timedelta(days=1)
    previous_start = previous_end - timedelta(days=DASHBOARD_DAYS - 1)
    params = kpi_params_for(user=user, start=start, end=end)
    current = kpi_answer_for(kpi="dashboard", params=params)
    previous = kpi_answer_for(kpi="kpis", params=kpi_params_for(user=user, start=previous_start, end=previous_end))
    pipeline = kpi_answer_for(kpi="pipeline", params=params)
    headline = [
        Headline(key, label, kind, current["metrics"].get(key), previous["metrics"].get(key))
        for key, label, kind in HEADLINE
    ]
    return Dashboard(
        start=start,
        end=end,
        previous_start=previous_start,
        previous_end=previous_end,
        facilities=current["facilities"],
        data_as_of=current["data_as_of"],
        suppressed=params.suppress,
        headline=headline,
        daily=current["metrics"].get("daily", []),
        funnel=pipeline["metrics"].get("funnel", []),
    )


# --- system status ---------------------------------------------------------------------------


@dataclass
class ViewStatus:
    key: str
    group: str
    interval: timedelta | None  # how often a schedule refreshes it; None: no enabled schedule
    last_success: datetime | None = None
    duration_ms: int | None = None
    rows: int | None = None
    last_status: str | None = None  # the newest run's, whatever it was
    last_error: str = ""
    active: bool = False  # a refresh is queued or running now
    kept_up: bool = False  # kept up to date as events apply (analytics.services.rollups)
    marked: int = 0  # buckets marked and not recomputed yet
    oldest_mark: datetime | None = None
    differences: int | None = None  # what its last refresh found different from the rows kept up to date

    @property
    def behind(self) -> timedelta | None:
        """How far a view kept up to date lags the records: the age of its oldest mark."""
        return None if self.oldest_mark is None else timezone.now() - self.oldest_mark

    @property
    def age(self) -> timedelta | None:
        return None if self.last_success is None else timezone.now() - self.last_success

    @property
    def interval_display(self) -> str:
        minutes = int(self.interval.total_seconds() // 60) if self.interval else 0
        if not minutes:
            return ""
        if minutes % 1440 == 0:
            return f"every {minutes // 1440} d"
        return f"every {minutes // 60} h" if minutes % 60 == 0 else f"every {minutes} min"

    @property
    def stale(self) -> bool:
        """Older than its schedule allows: one whole interval late (plus five minutes for a
        refresh in progress), never refreshed, or with no schedule at all. A view kept up to date
        as events apply: marks waiting longer than ROLLUP_LATE, or its last rebuild found rows
        different from the kept ones."""
        if self.kept_up and self.last_success is not None:
            behind = self.behind
            return bool(self.differences) or (behind is not None and behind > ROLLUP_LATE)
        if self.last_success is None or self.interval is None:
            return True
        age = self.age
        assert age is not None  # last_success is set
        return age > self.interval * 2 + timedelta(minutes=5)


@dataclass
class Component:
    name: str
    state: str  # ok, stale, down, unknown
    age_seconds: float | None = None


# The admin pages the panel links to; it links only to those the caller may open.
LINKED = [Event, RefreshRun, ReportRun, ReportDelivery, PeriodicTask]


@dataclass
class SystemStatus:
    views: list[ViewStatus]
    components: list[Component]
    queue_length: int | None  # None: the broker could not be asked
    events: dict[str, int] | None  # None: the caller may not see the event log
    failed_runs: int
    failed_deliveries: int
    failures_since: datetime
    recent_refreshes: list[RefreshRun] | None = None  # None: the caller may not see the refresh log
    links: frozenset[str] = field(default_factory=frozenset)  # label_lower of the admin pages it may open

    @property
    def stale_views(self) -> int:
        return sum(1 for view in self.views if view.stale)


def _cron_interval(task: PeriodicTask) -> timedelta | None:
    """The average time between runs of a crontab schedule (interval schedules: their period)."""
    if task.interval_id:
        return timedelta(seconds=task.interval.schedule.run_every.total_seconds())
    if not task.crontab_id:
        return None
    cron = task.crontab.schedule  # celery's crontab, with each field expanded to a set
    per_week = len(cron.minute) * len(cron.hour) * len(cron.day_of_week)
    return timedelta(weeks=1) / per_week if per_week else None


def refresh_intervals() -> dict[str, timedelta]:
    """For each view, the shortest interval among the enabled refresh schedules that cover it."""
    intervals: dict[str, timedelta] = {}
    tasks = PeriodicTask.objects.filter(task="analytics.refresh_scheduled", enabled=True)
    for task in tasks.select_related("crontab", "interval"):
        interval = _cron_interval(task)
        if interval is None:
            continue
        names = json.loads(task.kwargs or "{}").get("views") or None
        for view in views_named(names):
            intervals[view.key] = min(interval, intervals.get(view.key, interval))
    return intervals


def views_status() -> list[ViewStatus]:
    intervals = refresh_intervals()
    statuses = {
        view.key: ViewStatus(view.key, view.group, intervals.get(view.key), kept_up=view.rollup is not None)
        for view in VIEWS
    }
    succeeded = RefreshRun.objects.filter(status=RefreshRun.Status.SUCCEEDED).order_by("view", "-finished_at")
    for run in succeeded.distinct("view"):  # the newest success per view, on the refresh_latest index
        if run.view in statuses:
            status = statuses[run.view]
            status.last_success, status.duration_ms, status.rows = run.finished_at, run.duration_ms, run.rows
            status.differences = run.differences
    for mark in StaleBucket.objects.values("view").annotate(buckets=Count("id"), oldest=Min("marked_at")):
        if mark["view"] in statuses:
            statuses[mark["view"]].marked, statuses[mark["view"]].oldest_mark = mark["buckets"], mark["oldest"]
    newest = RefreshRun.objects.order_by("view", "-created_at", "-id").distinct("view")
    for run in newest:
        if run.view in statuses:
            status = statuses[run.view]
            status.last_status, status.last_error = run.status, run.error
            status.active = run.status in (RefreshRun.Status.QUEUED, RefreshRun.Status.RUNNING)
    return list(statuses.values())


def queue_length() -> int | None:
    """Tasks waiting in the broker's default queue (not those a worker holds)."""
    try:
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            channel = conn.default_channel
            try:
                declared = channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE, passive=True)
                return cast(int, declared.message_count)  # kombu is untyped
            except Exception:  # kombu: a queue with nothing in it does not exist yet
                return 0
    except Exception:
        logger.warning("console: broker unreachable for the queue length", exc_info=True)
        return None


def components_status() -> list[Component]:
    components = []
    for name in ("worker", "beat"):
        state = check_heartbeat(name)
        try:
            age = heartbeat_age(component=name)
        except Exception:  # Redis down: the state already says unknown
            age = None
        components.append(Component(name=name, state=state, age_seconds=age))
    return components


def console_status(*, user: User | AnonymousUser) -> SystemStatus:
    """Everything an operator watches, as far as ``user``'s console scope goes (the scopes of
    the model admins, accounts.admin_scope): pending and failed events of the facilities whose
    events it may see, failures of its own reports (an Admin's: all), the refresh log for Admins.
    The views' freshness and the processes' heartbeats are everyone's."""
    since = timezone.now() - timedelta(days=RECENT_FAILURE_DAYS)
    links = frozenset(model._meta.label_lower for model in LINKED if admin_may_view(model, user=user))
    runs = admin_scope_restrict(ReportRun.objects.filter(created_at__gte=since), user=user)
    deliveries = admin_scope_restrict(ReportDelivery.objects.filter(updated_at__gte=since), user=user)
    failures = runs.aggregate(failed=Count("id", filter=Q(status=RunStatus.FAILED)))
    events = None
    if Event._meta.label_lower in links:
        events = event_queue_counts(facility_ids=admin_scope_facility_ids(Event, user=user))
    recent = None
    if RefreshRun._meta.label_lower in links:
        recent = list(admin_scope_restrict(RefreshRun.objects.select_related("requested_by"), user=user)[:12])
    return SystemStatus(
        views=views_status(),
        components=components_status(),
        queue_length=queue_length(),
        events=events,
        failed_runs=failures["failed"],
        failed_deliveries=deliveries.filter(status=DeliveryStatus.FAILED).count(),
        failures_since=since,
        recent_refreshes=recent,
        links=links,
    )
