"""DRF throttles that read their rates when they run (so settings can change in tests and
deployments without re-importing), counted in Redis through the default cache."""

import logging

from django.conf import settings
from rest_framework import throttling

logger = logging.getLogger(__name__)


class _SettingsRates:
    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # Redis down: serve rather than fail every request (lockouts live in PostgreSQL)
            logger.warning("throttle counters unavailable; request allowed", exc_info=True)
            return True


class AnonThrottle(_SettingsRates, throttling.AnonRateThrottle):
    pass


class UserThrottle(_SettingsRates, throttling.UserRateThrottle):
    """Per user, or per API key for services."""


class ScopeThrottle(_SettingsRates, throttling.ScopedRateThrottle):
    """Stricter limits for views that set ``throttle_scope`` (token requests, exports)."""
