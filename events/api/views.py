from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.principals import Actor
from accounts.roles import Capability
from accounts.selectors import FacilityPermission
from api.base import FacilityScope, ScopedGenericViewSet
from events.api.filters import (
    ApplicationFilter,
    CandidateFilter,
    ComplianceCheckFilter,
    EventFilter,
    JobFilter,
    OutreachFilter,
    PlacementFilter,
)
from events.api.serializers import (
    ApplicationSerializer,
    CandidateSerializer,
    ComplianceCheckSerializer,
    EventInSerializer,
    EventSerializer,
    EventStatsSerializer,
    IngestResultSerializer,
    JobSerializer,
    OutreachSerializer,
    PlacementSerializer,
)
from events.models import Application, Candidate, ComplianceCheck, Event, Job, OutreachMessage, Placement
from events.schema import parse_event_array, parse_events_json
from events.selectors import event_stats
from events.services.audit import personal_data_read
from events.services.ingestion import CREATED, DUPLICATE, events_ingest
from events.services.processing import events_reprocess


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class EventCursorPagination(CursorPagination):
    """The event log is too large to count: pages follow a cursor, newest first."""

    ordering = ("-occurred_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


def _read_json(request: Request, *, max_bytes: int, limit_message: str, parse=parse_events_json):
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(limit_message)
    try:
        body = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(limit_message) from None
    if len(body) > max_bytes:
        raise PayloadTooLarge(limit_message)
    try:
        return parse(body)
    except ValueError as exc:
        raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from None


EVENT_EXAMPLE = {
    "id": "0b6f4f1e-8d0c-4c55-9d6c-0f3c2a8f6a10",
    "type": "application.status_changed",
    "occurred_at": "2026-03-01T14:05:00Z",
    "facility": "MERCY-01",
    "actor": "recruiter-17",
    "data": {"application_id": "A-1001", "status": "interviewing"},
}


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """The event log. Posting is for API keys, Admins and Recruiters (their facilities);
    reading the log, which is row-level data, for those with the personal-data grant of the
    event's facility (elsewhere a 403: aggregates only)."""

    queryset = Event.objects.select_related("facility", "queue_entry")
    serializer_class = EventSerializer
    scope = FacilityScope("facility_id")
    masked_fields = frozenset(Candidate.PERSONAL_FIELDS)
    capabilities = {
        **ScopedGenericViewSet.capabilities,
        "create": Capability.WRITE_EVENTS,
        "bulk": Capability.WRITE_EVENTS,
        "stats": Capability.WRITE_EVENTS,
        "reprocess": Capability.ADMIN,
    }
    filterset_class = EventFilter
    pagination_class = EventCursorPagination
    extra_query_params = ["cursor"]

    @extend_schema(
        request=EventInSerializer,
        responses={
            201: IngestResultSerializer,
            200: IngestResultSerializer,
            400: IngestResultSerializer,
            413: OpenApiResponse(
                description=f"The body is larger than one event may be ({settings.EVENT_SINGLE_MAX_BYTES // 1024} KiB)."
            ),
        },
        examples=[OpenApiExample("status change", value=EVENT_EXAMPLE, request_only=True)],
        description="One event. 201 when stored, 200 when it is a duplicate of a stored event, 400 when rejected.",
    )
    def create(self, request: Request) -> Response:
        item = _read_json(
            request,
            max_bytes=settings.EVENT_SINGLE_MAX_BYTES,
            limit_message=f"Too large: one event may be at most {settings.EVENT_SINGLE_MAX_BYTES // 1024} KiB.",
        )
        if not isinstance(item, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Expected one event (a JSON object)."]})
        (result,) = events_ingest(by=Actor.from_request(request), items=[item])
        code = {CREATED: status.HTTP_201_CREATED, DUPLICATE: status.HTTP_200_OK}.get(
            result.status, status.HTTP_400_BAD_REQUEST
        )
        return Response({"results": [result.as_dict()]}, status=code)

    @extend_schema(
        request=EventInSerializer(many=True),
        responses={
            200: IngestResultSerializer,
            413: OpenApiResponse(description="More than 1,000 events, or a body larger than 5 MiB."),
        },
        description=(
            "A JSON array of at most 1,000 events and 5 MiB. Good items are stored and bad ones rejected, "
            "each with its own result in input order. 400 only when the body is not a JSON array; 413 past the "
            "limits."
        ),
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        limits = (
            f"Too large: a bulk request may hold at most {settings.EVENT_BULK_MAX_ITEMS:,} events and "
            f"{settings.EVENT_BULK_MAX_BYTES // (1024 * 1024)} MiB."
        )
        items = _read_json(
            request, max_bytes=settings.EVENT_BULK_MAX_BYTES, limit_message=limits, parse=parse_event_array
        )
        if not isinstance(items, list):
            raise exceptions.ParseError("Expected a JSON array of events.")
        if len(items) > settings.EVENT_BULK_MAX_ITEMS:
            raise PayloadTooLarge(limits)
        results = events_ingest(by=Actor.from_request(request), items=items) if items else []
        return Response({"results": [r.as_dict() for r in results]})

    @extend_schema(responses=EventStatsSerializer)
    @action(detail=False, methods=["get"])
    def stats(self, request: Request) -> Response:
        """Counts over the caller's facilities, so a sender can tell when its events are applied."""
        return Response(event_stats(facility_ids=self.facility_ids(FacilityPermission.WRITE_EVENTS)))

    @extend_schema(request=None, responses={202: EventSerializer})
    @action(detail=True, methods=["post"])
    def reprocess(self, request: Request, pk=None) -> Response:
        """Put a failed event back in the queue (Admins)."""
        event = self.get_object()
        if event.status != "failed":
            raise exceptions.ValidationError({"status": ["Only failed events can be reprocessed."]})
        events_reprocess(event_ids=[event.id], by=Actor.from_request(request))
        event = self.get_object()  # with its queue entry as it is now
        return Response(self.get_serializer(event).data, status=status.HTTP_202_ACCEPTED)


# --- records --------------------------------------------------------------------------


class RecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Read-only records of the caller's facilities, looked up by the sender's id. Records are
    row-level data: only of the facilities whose personal data the caller may see (elsewhere a
    403: aggregates only)."""

    scope = FacilityScope("facility_id")
    masked_fields = frozenset(Candidate.PERSONAL_FIELDS)
    lookup_field = "external_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"
    search_fields = ["external_id"]


class JobViewSet(RecordViewSet):
    queryset = Job.objects.select_related("facility").order_by("-opened_at", "id")
    serializer_class = JobSerializer
    filterset_class = JobFilter
    search_fields = ["external_id", "title", "specialty"]
    ordering_fields = ["opened_at", "filled_at", "title", "bill_rate"]


class CandidateViewSet(RecordViewSet):
    queryset = Candidate.objects.select_related("facility").order_by("-registered_at", "id")
    serializer_class = CandidateSerializer
    filterset_class = CandidateFilter
    ordering_fields = ["registered_at", "last_name"]
    unmasked: list[str]  # external ids of the candidates shown unmasked, set per request below

    def get_serializer_context(self) -> dict:
        self.__dict__.setdefault("unmasked", [])
        return {
            **super().get_serializer_context(),
            "personal_data_facility_ids": set(self.facility_ids(FacilityPermission.VIEW_PERSONAL_DATA)),
            "unmasked": self.unmasked,  # the serializer lists the candidates it showed unmasked
        }

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200:  # who saw which candidates' personal data, and where
            personal_data_read(by=Actor.from_request(request), candidates=self.__dict__.get("unmasked", []),
                               path=request.get_full_path())  # fmt: skip
        return response


class ApplicationViewSet(RecordViewSet):
    queryset = Application.objects.select_related("facility", "job", "candidate").order_by("-applied_at", "id")
    serializer_class = ApplicationSerializer
    filterset_class = ApplicationFilter
    ordering_fields = ["applied_at", "hired_at", "status_changed_at"]


class PlacementViewSet(RecordViewSet):
    queryset = Placement.objects.select_related("facility", "application").order_by("-start_date", "id")
    serializer_class = PlacementSerializer
    filterset_class = PlacementFilter
    ordering_fields = ["start_date", "end_date", "bill_rate"]


class OutreachViewSet(RecordViewSet):
    queryset = OutreachMessage.objects.select_related("facility", "candidate").order_by("-sent_at", "id")
    serializer_class = OutreachSerializer
    filterset_class = OutreachFilter
    ordering_fields = ["sent_at", "replied_at"]


class ComplianceCheckViewSet(RecordViewSet):
    queryset = ComplianceCheck.objects.select_related("facility", "candidate").order_by("-checked_at", "id")
    serializer_class = ComplianceCheckSerializer
    filterset_class = ComplianceCheckFilter
    search_fields = ["external_id", "credential"]
    ordering_fields = ["checked_at", "score", "expires_on"]
