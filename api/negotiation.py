"""Content negotiation with a short way for the common case.

Nearly every API call asks for JSON or for anything (no ``Accept`` header, ``*/*`` or
``application/json``, no ``?format=``). DRF's negotiation parses and ranks the media types of
the header against every renderer on each request, about a twentieth of a cached KPI answer's
time; for those calls the answer is known: the view's first renderer when it is JSON, or
whatever comes first for ``*/*``, as DRF would pick. Anything else is DRF's to decide.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

ANYTHING, JSON = "*/*", "application/json"


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(  # type: ignore[override]  # DRF hands it the view's list
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        accept = request.META.get("HTTP_ACCEPT", ANYTHING)
        if (
            renderers
            and not format_suffix
            and accept in (ANYTHING, JSON)
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            first = renderers[0]
            if accept == ANYTHING or first.media_type == JSON:
                return first, first.media_type
        chosen: tuple[BaseRenderer, str] = super().select_renderer(request, renderers, format_suffix)
        return chosen
