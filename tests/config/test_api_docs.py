"""The OpenAPI schema and its viewers work with no outside network."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_viewers_load_only_local_assets(client, path):
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)
    assert assets, "the page should reference its script and style assets"
    for asset in assets:
        assert asset.startswith("/static/"), f"{asset} would need the network"
        assert client.get(asset).status_code == 200, asset


def test_the_schema_documents_every_way_to_authenticate(client):
    schemes = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["components"][
        "securitySchemes"
    ]

    assert schemes["jwtAuth"]["scheme"] == "bearer"
    assert schemes["ApiKeyAuth"]["name"] == "Authorization"
    assert schemes["cookieAuth"]["in"] == "cookie"
