"""Production: every secret and address comes from the environment; nothing is embedded."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import cache_config, celery_broker_url, database_config, env


def _required(name: str) -> str:
    value = env(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production")
    return value


DEBUG = False
SECRET_KEY = _required("SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")

DATABASE_URL = _required("DATABASE_URL")
REDIS_URL = _required("REDIS_URL")
DATABASES = {"default": database_config(DATABASE_URL)}
CACHES = cache_config(REDIS_URL)
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
# Reports are emailed: without a mail server they would only be written to disk.
_required("EMAIL_URL")
SITE_URL = _required("SITE_URL").rstrip("/")  # emailed download links point here

# HTTPS everywhere. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_NAME
# (for example HTTP_X_FORWARDED_PROTO).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # load balancers probe over plain HTTP
if env("SECURE_PROXY_SSL_HEADER_NAME", default=""):
    SECURE_PROXY_SSL_HEADER = (env("SECURE_PROXY_SSL_HEADER_NAME"), "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    # No browsable API in production: JSON only.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
