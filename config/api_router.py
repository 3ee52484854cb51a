"""Every /api/v1/ route is registered here, so the permission walk in the tests finds them all."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api.views import APIKeyViewSet, FacilityViewSet, MeView, TokenObtainView, TokenRefreshView, UserViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("facilities", FacilityViewSet, basename="facility")
router.register("users", UserViewSet, basename="user")
router.register("api-keys", APIKeyViewSet, basename="api-key")

app_name = "api"
urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/me/", MeView.as_view(), name="me"),
    path("", include(router.urls)),
]
