"""The materialized views the KPIs read, in refresh (dependency) order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

from psycopg import sql

from analytics import viewdefs


@dataclass(frozen=True)
class Rollup:
    """How a view is kept up to date as events apply (analytics.services.rollups): its rows fall in
    buckets, a facility's local day (``facility`` and ``day``: columns of the view; no facility for
    a view adding up every facility), and the rows of the buckets the record triggers marked
    (analytics.marks) are deleted and computed again from the records. By default through the
    view's own definition filtered to the buckets; ``recompute`` and ``remove`` say it otherwise,
    over %(facilities)s, %(days)s and %(months)s (the months the days fall in)."""

    day: str
    facility: str | None = "facility_id"
    recompute: LiteralString = ""
    remove: LiteralString = ""


@dataclass(frozen=True)
class View:
    key: str  # the name operators and the API use
    table: str  # the materialized view in PostgreSQL
    definition: str  # its SELECT, also run over base tables for ?fresh=true
    group: str  # refresh schedules pick views by group
    depends: tuple[str, ...] = ()  # keys of the views its definition reads (listed, and refreshed, before it)
    #: Indexes (columns) of a view that is rebuilt and swapped in (docs/decisions.md): its rows live in a
    #: table built from the definition, read through a plain view of ``table``'s name; a refresh
    #: builds the next table beside it and repoints the view in a short transaction. Empty: a
    #: materialized view refreshed CONCURRENTLY.
    swapped: tuple[str, ...] = ()
    #: Columns a swapped view's table is written in order of: its queries read a range of them
    #: (a few facilities' days), which would otherwise be scattered over the whole table.
    ordered: str = ""
    #: Kept up to date as events apply (swapped views only: their rows are a table); the
    #: scheduled refresh then rebuilds it as a check, and counts what it finds different.
    rollup: Rollup | None = None

    def source(self, *, fresh: bool) -> sql.Composable:
        """What to select from: the stored view, or its definition over the base tables."""
        if fresh:
            return sql.SQL("({}) AS {}").format(self.fresh_definition(), sql.Identifier(self.table))
        return sql.Identifier(self.table)

    def fresh_definition(self) -> sql.Composable:
        """The definition over the base tables only: each view it reads becomes a CTE of the same
        name, which PostgreSQL resolves before (so instead of) the stored view."""
        definition = self.definition.strip()
        if not self.depends:
            return sql.SQL(definition)
        ctes = sql.SQL(", ").join(
            sql.SQL("{} AS ({})").format(sql.Identifier(BY_KEY[key].table), BY_KEY[key].fresh_definition())
            for key in self.depends
        )
        if definition.upper().startswith("WITH "):  # one WITH list: the views it reads, then its own
            return sql.SQL("WITH {}, {}").format(ctes, sql.SQL(definition[5:]))
        return sql.SQL("WITH {} {}").format(ctes, sql.SQL(definition))

    def storage(self, generation: int) -> str:
        """The table holding a swapped view's rows: two generations take turns."""
        return f"{self.table}_{generation}"


VIEWS: list[View] = [
    View("pipeline_cohort", "analytics_pipeline_cohort", viewdefs.PIPELINE_COHORT_V2, "pipeline",
         swapped=("facility_id, applied_date",), rollup=Rollup("applied_date")),
    View("hires", "analytics_hires", viewdefs.HIRES_V2, "pipeline",
         swapped=("facility_id, applied_date", "facility_id, hired_date", "seconds_to_hire, hired_date", "hired_date"),
         rollup=Rollup("applied_date")),
    View("hires_daily", "analytics_hires_daily", viewdefs.HIRES_DAILY_V1, "pipeline",
         swapped=("facility_id, hired_date",), rollup=Rollup("hired_date")),
    View("hire_histogram", "analytics_hire_histogram", viewdefs.HIRE_HISTOGRAM_V1, "pipeline", ("hires",),
         swapped=("hired_date, bucket",), rollup=Rollup("hired_date", facility=None)),
    View("offers", "analytics_offers", viewdefs.OFFERS_V2, "pipeline",
         swapped=("facility_id, offered_date",), rollup=Rollup("offered_date")),
    View("jobs", "analytics_jobs", viewdefs.JOBS_V2, "pipeline",
         swapped=("facility_id, opened_date", "facility_id, filled_date"),
         rollup=Rollup("opened_date", recompute=viewdefs.JOBS_RECOMPUTE_V1)),
    View("recruiter_daily", "analytics_recruiter_daily", viewdefs.RECRUITER_DAILY_V2, "pipeline",
         swapped=("facility_id, occurred_date, actor", "occurred_date"), ordered="facility_id, occurred_date",
         rollup=Rollup("occurred_date")),
    View("recruiter_totals", "analytics_recruiter_totals", viewdefs.RECRUITER_TOTALS_V2, "pipeline",
         ("recruiter_daily",), swapped=("grain, bucket",),
         rollup=Rollup("bucket", facility=None, recompute=viewdefs.RECRUITER_TOTALS_RECOMPUTE_V1,
                       remove=viewdefs.RECRUITER_TOTALS_REMOVE_V1)),
    View("compliance_daily", "analytics_compliance_daily", viewdefs.COMPLIANCE_DAILY_V2, "compliance"),
    View("revenue_daily", "analytics_revenue_daily", viewdefs.REVENUE_DAILY_V2, "revenue",
         swapped=("facility_id, issued_date, placement_id",)),
    View("revenue_days", "analytics_revenue_days", viewdefs.REVENUE_DAYS_V2, "revenue", ("revenue_daily",)),
    View("placements", "analytics_placements", viewdefs.PLACEMENTS_V2, "revenue"),
    View("outreach_daily", "analytics_outreach_daily", viewdefs.OUTREACH_DAILY_V2, "outreach"),
    View("outreach_replies", "analytics_outreach_replies", viewdefs.OUTREACH_REPLIES_V2, "outreach",
         swapped=("facility_id, sent_date", "seconds_to_reply, sent_date")),
    View("reply_histogram", "analytics_reply_histogram", viewdefs.REPLY_HISTOGRAM_V2, "outreach",
         ("outreach_replies",)),
    View("candidate_applications", "analytics_candidate_applications", viewdefs.CANDIDATE_APPLICATIONS_V1, "outreach",
         swapped=("candidate_id, applied_at",)),
    View("candidate_contacts", "analytics_candidate_contacts", viewdefs.CANDIDATE_CONTACTS_V3, "outreach",
         ("candidate_applications",), swapped=("facility_id, sent_date",)),
    View("contact_firsts", "analytics_contact_firsts", viewdefs.CONTACT_FIRSTS_V3, "outreach",
         ("candidate_contacts",)),
    View("candidate_skills", "analytics_candidate_skills", viewdefs.CANDIDATE_SKILLS_V2, "skills"),
    View("actor_days", "analytics_actor_days", viewdefs.ACTOR_DAYS_V2, "engagement",
         swapped=("local_date, actor, facility_id", "actor, local_date")),
    View("actor_day_sets", "analytics_actor_day_sets", viewdefs.ACTOR_DAY_SETS_V2, "engagement", ("actor_days",)),
    View("actor_spans", "analytics_actor_spans", viewdefs.ACTOR_SPANS_V1, "engagement", ("actor_days",)),
    View("event_types_daily", "analytics_event_types_daily", viewdefs.EVENT_TYPES_DAILY_V2, "engagement"),
]  # fmt: skip
BY_KEY = {view.key: view for view in VIEWS}
GROUPS = sorted({view.group for view in VIEWS})


def views_named(names: list[str] | None) -> list[View]:
    """Views by key or group name, in refresh order; all when ``names`` is empty. A view read by
    other views brings them along, so a derived view is never older than what it is made from."""
    if not names:
        return list(VIEWS)
    wanted = {view.key for view in VIEWS if view.key in names or view.group in names}
    for view in VIEWS:  # dependencies come first in VIEWS, so one pass reaches every dependant
        if wanted.intersection(view.depends):
            wanted.add(view.key)
    return [view for view in VIEWS if view.key in wanted]


ROLLUPS = [view for view in VIEWS if view.rollup is not None]  # in refresh (dependency) order
