"""The KPI endpoints of kpis.md. Each validates, resolves scope, calls one selector and
returns the envelope; the numbers come from analytics.selectors, privacy from
analytics.privacy, through analytics.answers."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.roles import Capability
from accounts.scope import ScopeCachedJWTAuthentication
from analytics.api.views import COMMON_PARAMETERS, KpiEnvelopeSerializer
from analytics.cache import kpi_digest, kpi_lookup_call, kpi_lookup_reply
from analytics.catalog import KPIS, kpi_answer_json_for
from analytics.params import kpi_params_parse
from analytics.selectors import series
from api.base import ScopedAPIView
from api.redis_batch import Call

FACILITY_NOT_FOUND = "A facility code in `facility` that does not exist or is not the caller's."


class KpiView(ScopedAPIView):
    """Base of every KPI endpoint: GET only, for any signed-in role, within its facilities.
    What it computes comes from analytics.catalog, by ``kpi``."""

    capabilities = {"get": Capability.READ}
    # The configured authentication, with the JWT user row remembered under the scope version
    # (accounts.scope): a cached answer then costs no database round trip.
    authentication_classes = [
        ScopeCachedJWTAuthentication if cls is JWTAuthentication else cls  # type: ignore[misc]  # imported classes
        for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES
    ]
    kpi: str = ""
    example: dict | None = None

    # Set by ``prefetched`` for a confirmed caller: the question as read, and its cached answer.
    _prefetch: tuple | None = None
    _params = None
    _cached_answer: bytes | None = None

    def get(self, request: Request) -> HttpResponse:
        body = self._cached_answer
        if body is None:
            params = self._params or self._params_parse(request)
            body = kpi_answer_json_for(kpi=self.kpi, params=params)
        if isinstance(request.accepted_renderer, JSONRenderer):  # the cached bytes as they are
            return HttpResponse(body, content_type="application/json")
        return Response(json.loads(body))  # the browsable API renders it

    def prefetch_calls(self, request: Request) -> list[Call]:
        """The cached answer is looked up with the throttle count: one Redis round trip for a
        cached answer. The question is read as the handler would; a bad one is left for the
        handler to refuse, after the capability check, as usual."""
        try:
            params = self._params_parse(request)
        except exceptions.APIException:
            return []
        if params.fresh:
            return []
        digest = kpi_digest(params.cache_parts(self.kpi))
        self._prefetch = (params, digest)
        return [kpi_lookup_call(kpi=self.kpi, digest=digest, facility_ids=params.facility_ids)]

    def prefetched(self, request: Request, replies: list) -> None:
        assert self._prefetch is not None  # set by prefetch_calls, which sent these replies
        self._params, digest = self._prefetch
        _, self._cached_answer = kpi_lookup_reply(kpi=self.kpi, digest=digest, reply=replies[0])

    def _params_parse(self, request: Request):
        spec = KPIS[self.kpi]
        return kpi_params_parse(request, extra=spec.extra_params, series=spec.series)

    @classmethod
    def schema_for(cls, *extra: OpenApiParameter):
        example = {
            "kpi": cls.kpi,
            "period": {"start_date": "2026-01-01", "end_date": "2026-01-31", "time_zone": "facility"},
            "facilities": ["MERCY-01", "STJ-02"],
            "data_as_of": "2026-02-01T10:00:00Z",
            "metrics": cls.example or {},
            "suppressed": [],
        }
        examples = [OpenApiExample(cls.kpi, value=example, response_only=True)]
        # The schemes of the configured authentication (the cached JWT lookup is the same bearer scheme).
        auth: list[Any] = [{"jwtAuth": []}, {"ApiKeyAuth": []}, {"cookieAuth": []}]
        responses = {200: KpiEnvelopeSerializer, 404: OpenApiResponse(description=FACILITY_NOT_FOUND)}
        return extend_schema(parameters=[*COMMON_PARAMETERS, *extra], responses=responses,
                             examples=examples, auth=auth)  # fmt: skip


class PipelineView(KpiView):
    """Pipeline: the cohort applied in the period, its statuses and funnel, hires and offers in
    the period, jobs opened and filled, fill rate and time to fill."""

    example = {
        "applications": 812,
        "hires": 41,
        "hire_rate": 0.0505,
        "time_to_hire_days": {"mean": 21.3, "median": 19.0},
    }
    kpi = "pipeline"


class PerformanceView(KpiView):
    """Hiring performance by source (the cohort) and by recruiter (status changes recorded)."""

    example = {
        "by_source": [
            {"source": "referral", "applications": 120, "hires": 14, "hire_rate": 0.1167, "time_to_hire_days": 18.2}
        ],
        "by_recruiter": [],
    }
    kpi = "performance"


class ComplianceView(KpiView):
    """Credential checks in the period: compliance rate, violations by severity, mean score,
    statuses, and credentials expiring within 30 days after the period."""

    example = {"checks": 340, "compliant": 251, "compliance_rate": 0.7382, "violations": 18, "avg_score": 81.4}
    kpi = "compliance"


class RevenueView(KpiView):
    """Invoiced revenue in the period, by month with growth, and placements active in it."""

    example = {
        "total_revenue": 1254000.0,
        "invoices": 96,
        "placements_invoiced": 41,
        "by_month": [{"month": "2026-01", "revenue": 1254000.0, "growth": 0.042}],
    }
    kpi = "revenue"


class OutreachView(KpiView):
    """Messages sent in the period: replies, response rate, median response time, channels,
    and how many messaged candidates applied within 30 days."""

    example = {"sent": 1930, "replied": 580, "response_rate": 0.3005, "median_response_hours": 6.5}
    kpi = "outreach"


class SkillsView(KpiView):
    """Skills most asked for by jobs opened in the period against candidates who have them,
    and bill rates by specialty."""

    example = {
        "demand": [{"skill": "icu", "jobs": 34, "candidates": 210, "gap_ratio": 0.1619}],
        "bill_rate_by_specialty": [],
    }
    kpi = "skills"


class EngagementView(KpiView):
    """Active users (by actor): DAU, WAU, MAU, stickiness, events by type, weekly retention."""

    example = {"dau": 41.2, "wau": 63, "mau": 71, "stickiness": 0.5803}
    kpi = "engagement"


class KpisView(KpiView):
    """Headline metrics of every area, same definitions as the area endpoints."""

    example = {
        "applications": 812,
        "hires": 41,
        "hire_rate": 0.0505,
        "compliance_rate": 0.7382,
        "total_revenue": 1254000.0,
    }
    kpi = "kpis"


class DashboardView(KpiView):
    """Headline metrics plus a daily series of applications, hires, revenue and replies."""

    example = {
        "applications": 812,
        "hires": 41,
        "daily": [{"date": "2026-01-01", "applications": 27, "hires": 1, "revenue": 0.0, "replies": 20}],
    }
    kpi = "dashboard"


class TrendsView(KpiView):
    """One metric over the period, every bucket present (zero when empty)."""

    example = {"metric": "applications", "granularity": "week", "series": [{"bucket": "2025-12-29", "value": 112}]}
    kpi = "trends"


class MetricsView(KpiView):
    """Compatibility: time_to_hire, fill_rate and candidate_pipeline (new = applied)."""

    example = {
        "time_to_hire": 25.5,
        "fill_rate": 0.85,
        "candidate_pipeline": {"new": 150, "screening": 75, "interviewing": 30, "offered": 10},
    }
    kpi = "metrics"


TRENDS_PARAMETERS = [
    OpenApiParameter("metric", str, enum=list(series.TREND_METRICS), description="default: applications"),
    OpenApiParameter(
        "granularity",
        str,
        enum=["hour", "day", "week", "month"],
        description="default: day. Days, ISO weeks and months are each facility's local ones. `hour`: at most 31 "
        "days; every local hour named by its start and UTC offset (`2026-07-10T00:00-07:00`), the autumn's "
        "repeated hour twice; UTC hours when the facilities' zones differ (`metrics.time_zone` says which)",
    ),
]
METRICS_PARAMETERS = [
    OpenApiParameter("metric_types", str, description=f"comma-separated: {', '.join(series.METRIC_TYPES)}")
]


def _documented(view: type[KpiView], *extra: OpenApiParameter) -> None:
    """Give each endpoint its own documented GET (a schema is attached to a function object)."""

    def get(self, request: Request) -> HttpResponse:
        return KpiView.get(self, request)

    get.__doc__ = view.__doc__
    view.get = view.schema_for(*extra)(get)  # type: ignore[method-assign]  # documented per endpoint


for _view in (PipelineView, PerformanceView, ComplianceView, RevenueView, OutreachView, SkillsView, EngagementView,
              KpisView, DashboardView):  # fmt: skip
    _documented(_view)
_documented(TrendsView, *TRENDS_PARAMETERS)
_documented(MetricsView, *METRICS_PARAMETERS)
