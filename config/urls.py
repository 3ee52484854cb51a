from csp.decorators import csp_replace, csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from config.health import health

# Redoc's bundle writes its styles into the page at run time and searches in a worker it starts
# from a blob: nothing from outside, but inline styles cannot carry a nonce there.
redoc_view = csp_replace({"style-src": ["'self'", "'unsafe-inline'"]})(
    csp_update({"worker-src": ["'self'", "blob:"]})(SpectacularRedocView.as_view(url_name="schema"))
)

urlpatterns = [
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The start-up script is served as a file of its own (?script), so no inline script is needed.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", redoc_view, name="redoc"),
]

# Errors outside the API views: JSON under /api/, plain pages elsewhere, 503 for a lost database.
handler400 = "api.errors.bad_request"
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
