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
]
BY_KEY = {view.key: view for view in VIEWS}
GROUPS = sorted({view.group for view in VIEWS})


def views_named(names: list[str] | None) -> list[View]:
    """Views by key or group name, in refresh order; all when ``names`` is empty."""
    if not names:
        return list(VIEWS)
    wanted = set(names)
    return [view for view in VIEWS if view.key in wanted or view.group in wanted]
