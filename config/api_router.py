"""Every /api/v1/ route is registered here, so the permission walk in the tests finds them all."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api.views import APIKeyViewSet, FacilityViewSet, MeView, TokenObtainView, TokenRefreshView, UserViewSet
from analytics.api import kpis
from analytics.api.views import CacheStatsView, RefreshRunViewSet, RefreshView
from events.api.views import (
    ApplicationViewSet,
    CandidateViewSet,
    ComplianceCheckViewSet,
    EventViewSet,
    JobViewSet,
    OutreachViewSet,
    PlacementViewSet,
)
from reports.api.views import ReportRunDownloadViewSet, ReportRunViewSet, ReportViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("facilities", FacilityViewSet, basename="facility")
router.register("users", UserViewSet, basename="user")
router.register("api-keys", APIKeyViewSet, basename="api-key")
router.register("events", EventViewSet, basename="event")
router.register("jobs", JobViewSet, basename="job")
router.register("candidates", CandidateViewSet, basename="candidate")
router.register("applications", ApplicationViewSet, basename="application")
router.register("placements", PlacementViewSet, basename="placement")
router.register("outreach", OutreachViewSet, basename="outreach")
router.register("compliance-checks", ComplianceCheckViewSet, basename="compliance-check")
router.register("analytics/refresh-runs", RefreshRunViewSet, basename="refresh-run")
router.register("reports", ReportViewSet, basename="report")
router.register("report-runs", ReportRunViewSet, basename="report-run")

app_name = "api"
urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/me/", MeView.as_view(), name="me"),
    *[
        path(f"analytics/{view.kpi}/", view.as_view(), name=f"kpi-{view.kpi}")
        for view in (
            kpis.KpisView,
            kpis.DashboardView,
            kpis.PipelineView,
            kpis.PerformanceView,
            kpis.ComplianceView,
            kpis.RevenueView,
            kpis.OutreachView,
            kpis.SkillsView,
            kpis.EngagementView,
            kpis.TrendsView,
            kpis.MetricsView,
        )
    ],
    path("analytics/refresh/", RefreshView.as_view(), name="analytics-refresh"),
    path("analytics/cache-stats/", CacheStatsView.as_view(), name="analytics-cache-stats"),
    path(
        "report-runs/<int:pk>/download/",
        ReportRunDownloadViewSet.as_view({"get": "retrieve"}),
        name="report-run-download",
    ),
    path("", include(router.urls)),
]
