"""Development: `make run`. Embedded PostgreSQL/Redis under var/ unless the URLs are set."""

import secrets

from config import embedded

from .base import *  # noqa: F403
from .base import VAR_DIR, cache_config, celery_broker_url, database_config, env

# Off unless DEBUG=1: `make run` shows what production shows (plain error pages, JSON errors
# from the API), never a page listing every URL or the settings.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])


def _local_secret_key() -> str:
    """A random key kept under var/, so sessions survive restarts without a key in the repo."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="") or _local_secret_key()

# Links in report emails point at the server `make run` started (HOST and PORT), unless set.
SITE_URL = env(
    "SITE_URL", default=f"http://{env('HOST', default='127.0.0.1')}:{env('WEB_PORT', default='8000')}"
).rstrip("/")

DATABASE_URL = env("DATABASE_URL", default="") or embedded.database_url()
REDIS_URL = env("REDIS_URL", default="") or embedded.redis_url()
DATABASES = {"default": database_config(DATABASE_URL)}
CACHES = cache_config(REDIS_URL)
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)

# Static files straight from the apps, no collectstatic step for a local run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
