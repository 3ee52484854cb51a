"""Filtering that refuses what it does not understand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.db import models
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework.settings import api_settings

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from rest_framework.request import Request
    from rest_framework.views import APIView

    _Form = forms.Form  # what the mixin is mixed into
else:
    _Form = object

ALWAYS_ALLOWED = {"page", "page_size", "format"}


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, plus a 400 for any query parameter the view does not accept, so a
    misspelt filter never silently returns everything."""

    @property
    def filterset_base(
        self,
    ) -> type[StrictFilterSet]:  # views that only list ``filterset_fields`` get the strict set too
        return StrictFilterSet

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: APIView) -> QuerySet[Any]:
        allowed = set(ALWAYS_ALLOWED) | set(getattr(view, "extra_query_params", ()))
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            allowed |= set(filterset_class.base_filters)
        if getattr(view, "search_fields", None):
            allowed.add(api_settings.SEARCH_PARAM)
        if getattr(view, "ordering_fields", None):
            allowed.add(api_settings.ORDERING_PARAM)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise exceptions.ValidationError(
                {name: [f"Unknown query parameter. Allowed: {', '.join(sorted(allowed))}."] for name in unknown}
            )
        filtered: QuerySet[Any] = super().filter_queryset(request, queryset, view)
        return filtered


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0, yes/no); anything else is an error instead of 'no filter'."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> Any:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        raise forms.ValidationError("Use true or false.")

    def validate(self, value: Any) -> None:
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField  # with a plain text widget: no silent mapping of odd values to "any"


class BoundaryFormMixin(_Form):
    """Date-times in UTC before they reach a query: an offset PostgreSQL does not take (it stops
    at 15:59) is converted, and a moment that has no UTC date-time (year 1 with a positive
    offset, year 9999 with a negative one) is a field error instead of a 500."""

    def clean(self) -> dict[Any, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data
        for name, value in list(cleaned.items()):
            if isinstance(value, datetime) and value.tzinfo is not None:
                try:
                    cleaned[name] = value.astimezone(UTC)
                except OverflowError:
                    self.add_error(name, "Out of range: the moment must lie between the years 1 and 9999 in UTC.")
        return cleaned


class StrictFilterSet(filters.FilterSet):
    """FilterSet whose boolean filters reject values they do not understand, and whose values
    are brought into range at the input boundary (BoundaryFormMixin)."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }
    _bounded_forms: dict[type, type] = {}

    def get_form_class(self) -> type:
        form_class = super().get_form_class()
        bounded = self._bounded_forms.get(form_class)
        if bounded is None:
            bounded = type(f"Bounded{form_class.__name__}", (BoundaryFormMixin, form_class), {})
            self._bounded_forms[form_class] = bounded
        return bounded
