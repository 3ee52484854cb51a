"""The short way of content negotiation picks what DRF's own negotiation picks."""

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.negotiation import ContentNegotiation

ACCEPTS = [None, "", "*/*", "application/json", "text/html", "application/json; indent=4",
           "text/html,application/xhtml+xml,*/*;q=0.8", "application/xml"]  # fmt: skip
RENDERER_LISTS = [[JSONRenderer, BrowsableAPIRenderer], [BrowsableAPIRenderer, JSONRenderer], [TemplateHTMLRenderer]]


def choice(negotiation, accept, renderers, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/analytics/kpis/{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, [cls() for cls in renderers])
    except exceptions.NotAcceptable:
        return "406"
    except Http404:
        return "404"
    return type(renderer), media_type


@pytest.mark.parametrize("renderers", RENDERER_LISTS)
@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
def test_the_same_renderer_and_media_type_as_drf(accept, renderers, query):
    assert choice(ContentNegotiation(), accept, renderers, query) == choice(
        DefaultContentNegotiation(), accept, renderers, query
    )
