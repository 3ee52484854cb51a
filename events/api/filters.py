from __future__ import annotations

import django_filters

from api.filters import StrictBooleanFilter, StrictFilterSet
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


class FacilityCodesFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """?facility=MERCY-01,STJ-02: facility codes, comma-separated."""

    def __init__(self, **kwargs):
        super().__init__(field_name="facility__code", lookup_expr="in", **kwargs)


def on_or_after(field: str) -> django_filters.DateFilter:
    return django_filters.DateFilter(field_name=field, lookup_expr="gte", help_text=f"{field} on or after")


def on_or_before(field: str) -> django_filters.DateFilter:
    return django_filters.DateFilter(field_name=field, lookup_expr="lte", help_text=f"{field} on or before")


class EventFilter(StrictFilterSet):
    facility = FacilityCodesFilter()
    status = django_filters.ChoiceFilter(choices=EventStatus.choices, method="filter_status")
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["type", "status", "category", "actor", "facility"]

    def filter_status(self, queryset, name, value):
        return queryset.with_status(value)


class JobFilter(StrictFilterSet):
    facility = FacilityCodesFilter()
    opened_from = on_or_after("opened_date")
    opened_to = on_or_before("opened_date")
    filled_from = on_or_after("filled_date")
    filled_to = on_or_before("filled_date")

    class Meta:
        model = Job
        fields = ["facility", "status", "specialty"]


class CandidateFilter(StrictFilterSet):
    facility = FacilityCodesFilter()
    skill = django_filters.CharFilter(method="filter_skill", help_text="a skill, case-insensitive")
    registered_from = on_or_after("registered_date")
    registered_to = on_or_before("registered_date")

    class Meta:
        model = Candidate
        fields = ["facility", "source"]

    def filter_skill(self, queryset, name, value):
        return queryset.filter(skills__contains=[value.strip().lower()])


class ApplicationFilter(StrictFilterSet):
    facility = FacilityCodesFilter()
    job = django_filters.CharFilter(field_name="job__external_id")
    candidate = django_filters.CharFilter(field_name="candidate__external_id")
    applied_from = on_or_after("applied_date")
    applied_to = on_or_before("applied_date")
    hired_from = on_or_after("hired_date")
    hired_to = on_or_before("hired_date")

    class Meta:
        model = Application
        fields = ["facility", "status", "source", "job", "candidate"]


class PlacementFilter(StrictFilterSet):
    facility = FacilityCodesFilter()
    start_from = on_or_after("start_date")
    start_to = on_or_before("start_date")

    class Meta:
        model = Placement
        fields = ["facility"]


class OutreachFilter(StrictFilterSet):
    facility = FacilityCodesFilter()
    replied = StrictBooleanFilter(field_name="replied_at", lookup_expr="isnull", exclude=True)
    sent_from = on_or_after("sent_date")
    sent_to = on_or_before("sent_date")

    class Meta:
        model = OutreachMessage
        fields = ["facility", "channel", "replied"]


class ComplianceCheckFilter(StrictFilterSet):
    facility = FacilityCodesFilter()
    checked_from = on_or_after("checked_date")
    checked_to = on_or_before("checked_date")

    class Meta:
        model = ComplianceCheck
        fields = ["facility", "status", "severity", "credential"]
