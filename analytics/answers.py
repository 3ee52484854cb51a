"""Assembling a KPI answer: the envelope of kpis.md, privacy applied, cached."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import Facility
from analytics.cache import kpi_cached, kpi_cached_json, kpi_json
from analytics.params import KpiParams
from analytics.privacy import Breakdown, privacy_render
from analytics.selectors.freshness import views_data_as_of


def kpi_answer(
    *,
    kpi: str,
    params: KpiParams,
    views: list[str],
    compute: Callable[[], Mapping[Any, Any]],
    empty: Callable[[], dict] | None = None,
) -> dict:
    """``compute`` returns {facility_id or None: metrics}; the overall answer is under None."""
    build = _builder(kpi=kpi, params=params, views=views, compute=compute, empty=empty)
    if params.fresh:
        return build()
    return kpi_cached(kpi=kpi, parts=params.cache_parts(kpi), compute=build)


def kpi_answer_json(
    *,
    kpi: str,
    params: KpiParams,
    views: list[str],
    compute: Callable[[], Mapping[Any, Any]],
    empty: Callable[[], dict] | None = None,
    cached: bool = True,
) -> bytes:
    """kpi_answer as the JSON the API sends (cached as such; ``cached=False`` computes it now)."""
    build = _builder(kpi=kpi, params=params, views=views, compute=compute, empty=empty)
    if params.fresh or not cached:
        return kpi_json(build())
    return kpi_cached_json(kpi=kpi, parts=params.cache_parts(kpi), compute=build, warm=params)


def _builder(
    *,
    kpi: str,
    params: KpiParams,
    views: list[str],
    compute: Callable[[], Mapping[Any, Any]],
    empty: Callable[[], dict] | None,
) -> Callable[[], dict]:
    def build() -> dict:
        by_facility = compute()
        body = {"metrics": by_facility.get(None) or (empty() if empty else {})}
        if params.group_by_facility:
            codes = dict(Facility.objects.filter(id__in=params.facility_ids).values_list("id", "code"))
            body["rows"] = Breakdown(
                {
                    codes[facility_id]: {
                        "facility": codes[facility_id],
                        "metrics": by_facility.get(facility_id) or (empty() if empty else {}),
                    }
                    for facility_id in sorted(params.facility_ids, key=lambda i: codes[i])
                },
                as_list=True,
            )
        rendered, suppressed = privacy_render(
            body,
            suppress=params.suppress,
            threshold=settings.PRIVACY_MIN_CELL_SIZE,
            max_noise=settings.PRIVACY_MAX_NOISE,
        )
        # Read from the stored views: as of their oldest refresh. From the records (hourly series):
        # as of now, the moment it is computed.
        as_of = None if params.fresh else (views_data_as_of(views) if views else timezone.now())
        return {
            "kpi": kpi,
            "period": {
                "start_date": params.start.isoformat(),
                "end_date": params.end.isoformat(),
                "time_zone": params.period_time_zone,
            },
            "facilities": list(params.facility_codes),
            "data_as_of": "now" if params.fresh else (as_of.isoformat().replace("+00:00", "Z") if as_of else None),
            **rendered,
            "suppressed": suppressed,
            "perturbed": params.suppress and settings.PRIVACY_MAX_NOISE > 0,
        }

    return build
