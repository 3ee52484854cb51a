"""DRF throttles that read their rates when they run (so settings can change in tests and
deployments without re-importing), counted in Redis through the default cache."""

from django.conf import settings
from rest_framework import throttling


class _SettingsRates:
    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)


class AnonThrottle(_SettingsRates, throttling.AnonRateThrottle):
    pass


class UserThrottle(_SettingsRates, throttling.UserRateThrottle):
    """Per user, or per API key for services."""


class ScopeThrottle(_SettingsRates, throttling.ScopedRateThrottle):
    """Stricter limits for views that set ``throttle_scope`` (token requests, exports)."""
