"""Every /api/v1/ route is registered here, so the permission walk in the tests finds them all."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

router = DefaultRouter()

app_name = "api"
urlpatterns = [
    path("", include(router.urls)),
]
