from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.principals import Actor
from accounts.roles import Capability
from analytics.cache import kpi_cache_stats
from analytics.models import RefreshRun
from analytics.registry import BY_KEY, GROUPS
from analytics.services.refresh import refresh_request
from api.base import AdminScope, ScopedAPIView, ScopedGenericViewSet

COMMON_PARAMETERS = [
    OpenApiParameter(
        "start_date", str, description="first local day (YYYY-MM-DD) at each facility; default: 29 days before end_date"
    ),
    OpenApiParameter(
        "end_date",
        str,
        description="last local day (YYYY-MM-DD); default: today (at the facilities, when they "
        "share a time zone; else in REPORTING_TIME_ZONE)",
    ),
    OpenApiParameter("facility", str, many=True, description="facility codes, repeated or comma-separated"),
    OpenApiParameter("group_by", str, enum=["facility"], description="adds `rows`: the metrics per facility"),
    OpenApiParameter("fresh", bool, description="compute from the base tables now (Admins, Recruiters; ≤ 31 days)"),
]


class KpiEnvelopeSerializer(serializers.Serializer):
    kpi = serializers.CharField()
    period = serializers.DictField()
    facilities = serializers.ListField(child=serializers.CharField())
    data_as_of = serializers.CharField(allow_null=True)
    metrics = serializers.DictField()
    rows = serializers.ListField(child=serializers.DictField(), required=False)
    suppressed = serializers.ListField(child=serializers.CharField())


# --- refresh ---------------------------------------------------------------------------


class RefreshRequestSerializer(serializers.Serializer):
    views = serializers.ListField(
        child=serializers.CharField(), required=False, default=list,
        help_text=f"view keys or groups ({', '.join([*BY_KEY, *GROUPS])}); empty: all",
    )  # fmt: skip

    def validate_views(self, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(BY_KEY) - set(GROUPS))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown view(s): {', '.join(unknown)}. Known: {', '.join([*BY_KEY, *GROUPS])}."
            )
        return value


class RefreshRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RefreshRun
        fields = ["id", "view", "status", "started_at", "finished_at", "duration_ms", "rows", "differences", "error"]


class RefreshRunStartedSerializer(serializers.ModelSerializer):
    class Meta:
        model = RefreshRun
        fields = ["id", "view", "status"]


class RefreshStartedSerializer(serializers.Serializer):
    """What a refresh request answers: the run of each view, new or already under way."""

    runs = RefreshRunStartedSerializer(many=True)


class RefreshView(ScopedAPIView):
    """Refresh materialized views now (Admins). A view already being refreshed is not
    started twice: its current run is returned."""

    capabilities = {"post": Capability.ADMIN}

    @extend_schema(request=RefreshRequestSerializer, responses={202: RefreshStartedSerializer})
    def post(self, request: Request) -> Response:
        serializer = RefreshRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        runs = refresh_request(views=serializer.validated_data["views"], by=Actor.from_request(request), trigger="api")
        body = {"runs": [{"id": run.id, "view": run.view, "status": run.status} for run in runs]}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class RefreshRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Recent refresh runs, newest first (Admins)."""

    queryset = RefreshRun.objects.all()
    serializer_class = RefreshRunSerializer
    scope = AdminScope()
    capabilities = {"list": Capability.ADMIN, "retrieve": Capability.ADMIN, "metadata": Capability.ADMIN}
    filterset_fields = ["view", "status"]


class CacheStatsView(ScopedAPIView):
    """KPI cache hits, misses and errors (Redis unreachable) since Redis last started (Admins)."""

    capabilities = {"get": Capability.ADMIN}

    @extend_schema(
        responses=inline_serializer(
            "KpiCacheStats",
            {
                "hit": serializers.IntegerField(),
                "miss": serializers.IntegerField(),
                "error": serializers.IntegerField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        return Response(kpi_cache_stats())
