"""Report API (api.md, Reports): definitions scoped to their owner (Admins see all), runs
with their deliveries, and the file download (owner, Admins, or a signed emailed link)."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.principals import Actor, principal_role
from accounts.roles import CAPABILITY_HOLDERS, Capability
from api.base import (
    AggregatesOnly,
    OwnerScope,
    Scope,
    ScopedGenericViewSet,
    aggregates_only_reason,
    owner_or_you,
)
from api.filters import StrictFilterSet
from reports.api.authentication import LinkPrincipal, SignedLinkAuthentication
from reports.api.serializers import ReportRunSerializer, ReportSerializer, RunStartedSerializer
from reports.building import run_rows_refused
from reports.models import Report, ReportRun, RunStatus, RunTrigger
from reports.services.definitions import report_delete, report_save
from reports.services.delivery import report_run_download
from reports.services.runs import report_run_request


class RunNotReady(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "run_not_ready"


OWN = {
    "list": Capability.OWN,
    "retrieve": Capability.OWN,
    "metadata": Capability.OWN,
    "create": Capability.OWN,
    "update": Capability.OWN,
    "partial_update": Capability.OWN,
    "destroy": Capability.OWN,
    "run": Capability.OWN,
}


ROWS_REFUSED = OpenApiResponse(
    description="The caller's role may not do this; or the report is an `applications` list (row-level data) "
    "covering a facility where its owner lacks the personal-data permission: aggregates only there "
    '(`{"detail": ..., "code": "aggregates_only"}`).'
)


@extend_schema_view(
    create=extend_schema(responses={201: ReportSerializer, 403: ROWS_REFUSED}),
    update=extend_schema(responses={200: ReportSerializer, 403: ROWS_REFUSED}),
    partial_update=extend_schema(responses={200: ReportSerializer, 403: ROWS_REFUSED}),
)
class ReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedGenericViewSet,
):
    """Report definitions. Each caller sees and edits its own; Admins see all."""

    queryset = Report.objects.select_related("owner", "schedule__periodic_task").prefetch_related("facilities")
    serializer_class = ReportSerializer
    scope = OwnerScope("owner_id")
    capabilities = OWN
    filterset_fields = ["kpi", "enabled", "format"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "id"]

    def _save(self, serializer, **extra) -> None:
        data = dict(serializer.validated_data)
        kwargs = {"facilities": data.pop("facilities")} if "facilities" in data else {}
        if "schedule" in data:
            kwargs["schedule"] = data.pop("schedule")
        serializer.instance = report_save(by=Actor.from_request(self.request), **extra, **kwargs, **data)

    def perform_create(self, serializer) -> None:
        self._save(serializer, owner=self.request.user)

    def perform_update(self, serializer) -> None:
        self._save(serializer, report=serializer.instance)

    def perform_destroy(self, instance: Report) -> None:
        report_delete(by=Actor.from_request(self.request), report=instance)

    @extend_schema(request=None, responses={202: RunStartedSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk=None) -> Response:
        """Build and send the report now, to its recipients."""
        run = report_run_request(report=self.get_object(), by=Actor.from_request(request), trigger=RunTrigger.MANUAL)
        return Response({"run": {"id": run.pk, "status": run.status}}, status=status.HTTP_202_ACCEPTED)


class ReportRunScope(Scope):
    """Runs of the caller's reports (Admins: all); a signed link reaches its one run."""

    def restrict(self, queryset, view):
        user = view.request.user
        if isinstance(user, LinkPrincipal):
            return queryset.filter(pk=user.run_id)
        return OwnerScope("report__owner_id").restrict(queryset, view)


class ReportRunFilter(StrictFilterSet):
    class Meta:
        model = ReportRun
        fields = ["report", "status", "trigger"]


class ReportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Runs, newest first, each with its deliveries."""

    queryset = ReportRun.objects.select_related("report").prefetch_related("deliveries")
    serializer_class = ReportRunSerializer
    scope = ReportRunScope()
    capabilities = {"list": Capability.OWN, "retrieve": Capability.OWN, "metadata": Capability.OWN}
    filterset_class = ReportRunFilter
    ordering = ["-created_at", "-id"]


class ReportRunDownloadViewSet(ScopedGenericViewSet):
    """The run's file: for the report's owner and Admins, or with the signed link of its email."""

    queryset = ReportRun.objects.select_related("report__owner")
    scope = ReportRunScope()
    capabilities = {"retrieve": Capability.DOWNLOAD}
    # api_settings imports the classes its dotted paths name (the stubs type them as the paths).
    authentication_classes = [SignedLinkAuthentication, *api_settings.DEFAULT_AUTHENTICATION_CLASSES]  # type: ignore[list-item]
    throttle_scope = "exports"
    filter_backends: list = []  # ?token= is not a filter

    @extend_schema(
        parameters=[OpenApiParameter("token", str, description="the signed token of an emailed link")],
        responses={
            (200, "application/octet-stream"): bytes,
            403: OpenApiResponse(
                description="The caller's role may not do this; or the file is an `applications` list (row-level "
                "data) of a facility where the report's owner no longer holds the personal-data permission: "
                'aggregates only there (`{"detail": ..., "code": "aggregates_only"}`).'
            ),
            409: OpenApiResponse(description="The run is still queued or running: its file is not built yet."),
        },
    )
    def retrieve(self, request: Request, pk=None) -> FileResponse:
        run = self.get_object()
        refused = run_rows_refused(run)
        admin = principal_role(request.user) in CAPABILITY_HOLDERS[Capability.ADMIN]
        if refused and not admin:  # rows its owner may no longer see
            who = owner_or_you(run.report.owner, request.user)
            raise AggregatesOnly(detail=aggregates_only_reason(refused, who=who))
        if run.file_removed_at:
            raise exceptions.NotFound(
                f"This run's file was removed on {run.file_removed_at:%Y-%m-%d}: files are kept "
                f"{settings.REPORT_FILE_RETENTION_DAYS} days. Run the report again for a new one."
            )
        if not run.file:
            if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
                raise RunNotReady(f"This run is still {run.status}: its file is not built yet. Try again shortly.")
            raise exceptions.NotFound("This run has no file (it failed before building one).")
        try:
            path = report_run_download(
                run=run, by=Actor.from_request(request), via_link=isinstance(request.user, LinkPrincipal)
            )
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise exceptions.NotFound("This run's file is no longer kept.") from exc
        return FileResponse(handle, as_attachment=True, filename=path.name)
