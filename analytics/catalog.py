"""Every KPI by name: the views behind it and the selector that computes it.

The API endpoints and the scheduled reports both answer through ``kpi_answer_for``, so a
report's numbers are the API's numbers, with the same privacy and the same cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from analytics.answers import kpi_answer, kpi_answer_json
from analytics.params import KpiParams
from analytics.registry import BY_KEY
from analytics.selectors import areas, series
from analytics.selectors.pipeline import PIPELINE_VIEWS, empty_pipeline, kpi_pipeline


def _metric_types(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(series.METRIC_TYPES))
    if unknown or not names:
        raise ValueError(f"Unknown metric type(s): {', '.join(unknown) or '(none)'}. Allowed: "
                         f"{', '.join(series.METRIC_TYPES)}.")  # fmt: skip
    return names


def _trend_metric(value: str) -> str:
    if value not in series.TREND_METRICS:
        raise ValueError(f"Must be one of: {', '.join(series.TREND_METRICS)}.")
    return value


def _args(params: KpiParams) -> dict:
    return {"facility_ids": list(params.facility_ids), "start": params.start, "end": params.end, "fresh": params.fresh}


@dataclass(frozen=True)
class KpiSpec:
    name: str
    compute: Callable[[KpiParams], Mapping[Any, Any]]
    views: Callable[[KpiParams], list[str]]
    empty: Callable[[], dict] | None = None
    #: further query parameters: name -> validator (raw value -> clean value, or ValueError)
    extra_params: dict = field(default_factory=dict)
    series: bool = False  # takes `granularity`


def _fixed(keys: list[str]) -> Callable[[KpiParams], list[str]]:
    """The views behind an answer, checked against the registry when the catalog loads: a name
    that is not a view would leave the answer's ``data_as_of`` null (never refreshed) for good."""
    unknown = sorted(set(keys) - BY_KEY.keys())
    if unknown:
        raise ImproperlyConfigured(f"KPI views not in analytics.registry: {', '.join(unknown)}")
    return lambda params: keys


KPIS: dict[str, KpiSpec] = {
    spec.name: spec
    for spec in (
        KpiSpec("kpis", lambda p: series.kpi_headline(**_args(p), by_facility=p.group_by_facility),
                _fixed(series.HEADLINE_VIEWS)),
        KpiSpec("dashboard", lambda p: series.kpi_dashboard(**_args(p), by_facility=p.group_by_facility),
                _fixed(series.DASHBOARD_VIEWS)),
        KpiSpec("pipeline", lambda p: kpi_pipeline(**_args(p)), _fixed(PIPELINE_VIEWS), empty=empty_pipeline),
        KpiSpec("performance", lambda p: areas.kpi_performance(**_args(p)), _fixed(areas.PERFORMANCE_VIEWS)),
        KpiSpec("compliance", lambda p: areas.kpi_compliance(**_args(p)), _fixed(areas.COMPLIANCE_VIEWS)),
        KpiSpec("revenue", lambda p: areas.kpi_revenue(**_args(p)), _fixed(areas.REVENUE_VIEWS)),
        KpiSpec("outreach", lambda p: areas.kpi_outreach(**_args(p), by_facility=p.group_by_facility),
                _fixed(areas.OUTREACH_VIEWS)),
        KpiSpec("skills", lambda p: areas.kpi_skills(**_args(p)), _fixed(areas.SKILLS_VIEWS)),
        KpiSpec("engagement", lambda p: areas.kpi_engagement(**_args(p), by_facility=p.group_by_facility),
                _fixed(areas.ENGAGEMENT_VIEWS)),
        KpiSpec("trends",
                lambda p: series.kpi_trends(metric=p.extra.get("metric", "applications"),
                                            granularity=p.granularity, time_zones=p.time_zones, **_args(p)),
                lambda p: [] if p.granularity == "hour" else series.trend_views(p.extra.get("metric", "applications")),
                extra_params={"metric": _trend_metric}, series=True),
        KpiSpec("metrics",
                lambda p: series.kpi_metrics(types=p.extra.get("metric_types", list(series.METRIC_TYPES)), **_args(p)),
                _fixed(PIPELINE_VIEWS), extra_params={"metric_types": _metric_types}),
    )
}  # fmt: skip


def kpi_answer_for(*, kpi: str, params: KpiParams) -> dict:
    """The KPI envelope of kpis.md for ``params`` (scope and privacy already resolved)."""
    spec = KPIS[kpi]
    return kpi_answer(
        kpi=kpi, params=params, views=spec.views(params), compute=lambda: spec.compute(params), empty=spec.empty
    )


def kpi_answer_json_for(*, kpi: str, params: KpiParams, cached: bool = True) -> bytes:
    """kpi_answer_for as the JSON the API sends (``cached=False``: computed now, not stored)."""
    spec = KPIS[kpi]
    return kpi_answer_json(
        kpi=kpi, params=params, views=spec.views(params), compute=lambda: spec.compute(params), empty=spec.empty,
        cached=cached,
    )  # fmt: skip
