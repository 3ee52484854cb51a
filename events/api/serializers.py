from __future__ import annotations

from rest_framework import serializers

from events.masking import mask_personal
from events.models import (
    Application,
    Candidate,
    ComplianceCheck,
    Event,
    EventStatus,
    Job,
    OutreachMessage,
    Placement,
)


class FacilityCodeField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="code", read_only=True, **kwargs)


class EventSerializer(serializers.ModelSerializer):
    """``status`` is where the event is: pending or failed while in the queue (with its tries so
    far, last error and next try), processed once applied (or on arrival, for activity)."""

    facility = FacilityCodeField()
    status = serializers.ChoiceField(choices=EventStatus.choices, read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    last_error = serializers.CharField(read_only=True)
    next_attempt_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Event
        fields = [
            "id", "type", "category", "occurred_at", "received_at", "facility", "actor", "data", "sender",
            "status", "attempts", "last_error", "next_attempt_at",
        ]  # fmt: skip
        read_only_fields = fields


class EventInSerializer(serializers.Serializer):
    """The envelope, for the API documentation; validation happens in events.schema."""

    id = serializers.UUIDField()
    type = serializers.CharField(max_length=64)
    occurred_at = serializers.DateTimeField()
    facility = serializers.CharField(required=False)
    actor = serializers.CharField(required=False, max_length=128)
    data = serializers.DictField(required=False)  # type: ignore[assignment]  # a declared field, not Serializer.data


class ItemResultSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["created", "duplicate", "rejected"])
    errors = serializers.DictField(required=False)  # type: ignore[assignment]  # a declared field, not .errors


class IngestResultSerializer(serializers.Serializer):
    results = ItemResultSerializer(many=True)


class EventStatsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    processed = serializers.IntegerField()
    failed = serializers.IntegerField()
    total = serializers.IntegerField()


class RecordSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id", read_only=True)
    facility = FacilityCodeField()


class JobSerializer(RecordSerializer):
    class Meta:
        model = Job
        fields = [
            "id", "facility", "title", "specialty", "skills", "positions", "bill_rate", "status",
            "opened_at", "filled_at", "cancelled_at",
        ]  # fmt: skip


class CandidateSerializer(RecordSerializer):
    """Names, email and phone are masked unless the caller holds the personal-data grant of
    the candidate's facility (the view passes those facility ids in the context)."""

    class Meta:
        model = Candidate
        fields = ["id", "facility", "first_name", "last_name", "email", "phone", "skills", "source", "registered_at"]

    def to_representation(self, instance: Candidate) -> dict:
        data = super().to_representation(instance)
        if instance.facility_id not in self.context["personal_data_facility_ids"]:
            return mask_personal(data)
        self.context["unmasked"].append(instance.external_id)
        return data


class ApplicationSerializer(RecordSerializer):
    job = serializers.CharField(source="job.external_id", read_only=True)
    candidate = serializers.CharField(source="candidate.external_id", read_only=True)

    class Meta:
        model = Application
        fields = [
            "id", "facility", "job", "candidate", "source", "status", "furthest_stage", "applied_at",
            "offered_at", "hired_at", "status_changed_at",
        ]  # fmt: skip


class PlacementSerializer(RecordSerializer):
    application = serializers.CharField(source="application.external_id", read_only=True)

    class Meta:
        model = Placement
        fields = ["id", "facility", "application", "start_date", "end_date", "bill_rate", "started_at"]


class OutreachSerializer(RecordSerializer):
    candidate = serializers.CharField(source="candidate.external_id", read_only=True)

    class Meta:
        model = OutreachMessage
        fields = ["id", "facility", "candidate", "channel", "sent_at", "replied_at", "actor"]


class ComplianceCheckSerializer(RecordSerializer):
    candidate = serializers.CharField(source="candidate.external_id", read_only=True)

    class Meta:
        model = ComplianceCheck
        fields = [
            "id", "facility", "candidate", "credential", "status", "severity", "score", "expires_on", "checked_at",
        ]  # fmt: skip
