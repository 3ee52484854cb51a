"""The materialized views the KPIs read, in refresh (dependency) order."""

from __future__ import annotations

from dataclasses import dataclass

from analytics import viewdefs


@dataclass(frozen=True)
class View:
    key: str  # the name operators and the API use
    table: str  # the materialized view in PostgreSQL
    definition: str  # its SELECT, also run over base tables for ?fresh=true
    group: str  # refresh schedules pick views by group

    def source(self, *, fresh: bool) -> str:
        """What to select from: the stored view, or its definition over the base tables."""
        return f"({self.definition}) AS {self.table}" if fresh else self.table


VIEWS: list[View] = [
    View("pipeline_cohort", "analytics_pipeline_cohort", viewdefs.PIPELINE_COHORT_V1, "pipeline"),
    View("hires", "analytics_hires", viewdefs.HIRES_V1, "pipeline"),
    View("offers", "analytics_offers", viewdefs.OFFERS_V1, "pipeline"),
    View("jobs", "analytics_jobs", viewdefs.JOBS_V1, "pipeline"),
    View("recruiter_daily", "analytics_recruiter_daily", viewdefs.RECRUITER_DAILY_V1, "pipeline"),
    View("compliance_daily", "analytics_compliance_daily", viewdefs.COMPLIANCE_DAILY_V1, "compliance"),
    View("revenue_daily", "analytics_revenue_daily", viewdefs.REVENUE_DAILY_V1, "revenue"),
    View("placements", "analytics_placements", viewdefs.PLACEMENTS_V1, "revenue"),
    View("outreach_daily", "analytics_outreach_daily", viewdefs.OUTREACH_DAILY_V1, "outreach"),
    View("outreach_replies", "analytics_outreach_replies", viewdefs.OUTREACH_REPLIES_V1, "outreach"),
    View("candidate_contacts", "analytics_candidate_contacts", viewdefs.CANDIDATE_CONTACTS_V1, "outreach"),
    View("candidate_applications", "analytics_candidate_applications", viewdefs.CANDIDATE_APPLICATIONS_V1, "outreach"),
    View("candidate_skills", "analytics_candidate_skills", viewdefs.CANDIDATE_SKILLS_V1, "skills"),
    View("actor_days", "analytics_actor_days", viewdefs.ACTOR_DAYS_V1, "engagement"),
    View("event_types_daily", "analytics_event_types_daily", viewdefs.EVENT_TYPES_DAILY_V1, "engagement"),
]
BY_KEY = {view.key: view for view in VIEWS}
GROUPS = sorted({view.group for view in VIEWS})


def views_named(names: list[str] | None) -> list[View]:
    """Views by key or group name, in refresh order; all when ``names`` is empty."""
    if not names:
        return list(VIEWS)
    wanted = set(names)
    return [view for view in VIEWS if view.key in wanted or view.group in wanted]
