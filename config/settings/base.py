"""Settings shared by every environment. Everything that differs comes from the environment.

Environment variables (defaults in brackets; README has the full table):
DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, DEBUG [off], EMAIL_URL,
DEFAULT_FROM_EMAIL, REPORTING_TIME_ZONE [UTC], PRIVACY_MODE [on],
PRIVACY_MIN_CELL_SIZE [11], PRIVACY_MAX_NOISE [3], LOG_LEVEL [INFO].
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win
# Local data (embedded servers, mail files, media); `make run VAR_DIR=...` keeps a copy apart.
VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var"))).resolve()


def database_config(url: str) -> dict:
    """Parse DATABASE_URL; a socket directory may be given as ``?host=/path``."""
    config = env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a PostgreSQL URL (postgres://...)")
    options = config.setdefault("OPTIONS", {})
    if "host" in options:
        config["HOST"] = options.pop("host")
    options.setdefault("connect_timeout", 5)
    # No JIT for the web's and workers' own queries: KPI reads take milliseconds, and compiling a
    # plan cost 10-40 ms of them (docs/decisions.md). A URL's own ``?options=`` wins.
    options.setdefault("options", "-c jit=off")
    config["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    return config


def celery_broker_url(redis_url: str) -> str:
    """Celery names a Redis unix socket ``redis+socket://``; django-redis names it ``unix://``."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return f"redis+socket://{parts.path}" + (f"?{parts.query}" if parts.query else "")
    return redis_url


# --- core ---------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
# Proxies whose X-Forwarded-For is believed: a count of hops ("1": one load balancer) or their
# networks ("10.0.0.0/8,192.168.0.5"). Empty: the peer is the client and the header is ignored.
TRUSTED_PROXIES = env("TRUSTED_PROXIES", default="")
SECRET_KEY = env("SECRET_KEY", default="")  # each environment decides what an empty key means
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "console.apps.OperatorConsoleConfig",  # django.contrib.admin with the console site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "rest_framework_api_key",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "csp",
    "accounts",
    "events",
    "analytics",
    "reports",
]

MIDDLEWARE = [
    # First: the client's address through TRUSTED_PROXIES only; then the headers every answer
    # carries, then input no view can take (a 400 that carries those headers too).
    "api.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "api.middleware.ApiCacheControlMiddleware",
    "api.middleware.InputBoundaryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees the outcome of every login attempt (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- data stores ----------------------------------------------------------------
# Each environment decides where DATABASE_URL and REDIS_URL come from, then sets
# DATABASES = {"default": database_config(url)}, CACHES = cache_config(url) and
# CELERY_BROKER_URL = celery_broker_url(url).


def cache_config(redis_url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="sa"),
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }


# --- Celery (read by config/celery_app.py with the CELERY_ namespace) -----------

CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran; a worker that dies mid-task gives it back to the queue.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Unacknowledged tasks come back after this long if their worker vanished without a word.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BEAT_SCHEDULER = "config.beat:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 10

# Heartbeats written by the worker and beat; /health/ calls them stale after this many seconds.
HEARTBEAT_INTERVAL_SECONDS = 10
HEARTBEAT_STALE_SECONDS = env.int("HEARTBEAT_STALE_SECONDS", default=60)

# --- REST API -------------------------------------------------------------------

REST_FRAMEWORK = {
    # JWT first: its WWW-Authenticate header makes an anonymous call a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "api.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, checked at the input boundary (api.boundary); anything else is a 415.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    # Throttles key anonymous callers on REMOTE_ADDR, which ClientAddressMiddleware has already
    # read through TRUSTED_PROXIES: DRF must not read X-Forwarded-For a second time.
    "NUM_PROXIES": 0,
    "DEFAULT_FILTER_BACKENDS": [
        "api.filters.StrictFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.AnonThrottle",
        "api.throttling.UserThrottle",
        "api.throttling.ScopeThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="120/min"),
        "user": env("THROTTLE_USER", default="3000/min"),
        "auth": env("THROTTLE_AUTH", default="30/min"),
        "exports": env("THROTTLE_EXPORTS", default="60/hour"),
    },
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",  # documents the error responses too
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,  # a refresh token works once
    "ALGORITHM": "HS256",
    "UPDATE_LAST_LOGIN": False,  # the login signal does it, with the audit record
    "CHECK_USER_IS_ACTIVE": True,
}

# Brute-force lockout (django-axes), shared by the admin login and the token endpoint.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
# Locks a username from one address: failures from elsewhere cannot lock a user out (token
# requests are throttled per address as well). The address is REMOTE_ADDR as
# ClientAddressMiddleware resolved it, never a forwarded header axes would read itself.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "accounts.principals.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_VERBOSE = False

# django-guardian: grants live in accounts.FacilityGrant; no anonymous user row.
ANONYMOUS_USER_NAME = None

SPECTACULAR_SETTINGS = {
    "TITLE": "Staffing Analytics API",
    "DESCRIPTION": "KPIs, records, event ingestion and scheduled reports for a healthcare staffing business.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc assets come from drf-spectacular-sidecar: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A refresh run's status appears in the run list and in what a refresh request answers: one enum.
    "ENUM_NAME_OVERRIDES": {"RefreshRunStatusEnum": "analytics.models.RefreshRun.Status"},
    # Each operation names the schemes of its own authenticators (none on the token endpoints);
    # a project-wide list here would be added to every operation, the token endpoints included.
}

# --- Content-Security-Policy (django-csp) ----------------------------------------------------
# Nothing from outside: scripts and styles from this site, inline ones only with the request's
# nonce (the console's styles, the API docs' start-up script). The API docs pages widen styles
# where their bundles need it (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- email ----------------------------------------------------------------------

EMAIL_FILE_PATH = str(VAR_DIR / "mail")
if env("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Staffing Analytics <reports@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- product settings -------------------------------------------------------------

REPORTING_TIME_ZONE = env("REPORTING_TIME_ZONE", default="UTC")
PRIVACY_MODE = env.bool("PRIVACY_MODE", default=True)
PRIVACY_MIN_CELL_SIZE = env.int("PRIVACY_MIN_CELL_SIZE", default=11)
# D of the consistent perturbation of Viewers' counts: the largest noise (docs/privacy.md); 0: none.
PRIVACY_MAX_NOISE = env.int("PRIVACY_MAX_NOISE", default=3)
# Sessions refreshing the KPI views side by side, a core each. One leaves the other core of a
# two-core host to the readers (docs/decisions.md); raise it where PostgreSQL has cores of its own.
ANALYTICS_REFRESH_LANES = env.int("ANALYTICS_REFRESH_LANES", default=1)
# The most buckets (facility-days) of one view the rollup step recomputes at once after events
# apply (analytics.services.rollups); more (a back-fill) and the view is refreshed whole instead.
ROLLUP_MAX_BUCKETS = env.int("ROLLUP_MAX_BUCKETS", default=5_000)

# Scheduled reports (docs/decisions.md: reports).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")  # base of links in emails
REPORT_MAX_ATTACHMENT_MB = env.float("REPORT_MAX_ATTACHMENT_MB", default=10)  # larger files go as a link
REPORT_LINK_MAX_AGE_HOURS = env.int("REPORT_LINK_MAX_AGE_HOURS", default=7 * 24)
# A run's file is removed this many days after the run (the run, its figures and deliveries stay).
REPORT_FILE_RETENTION_DAYS = env.int("REPORT_FILE_RETENTION_DAYS", default=90)
REPORT_DELIVERY_ATTEMPTS = env.int("REPORT_DELIVERY_ATTEMPTS", default=5)
REPORT_DELIVERY_BACKOFF_SECONDS = env.float("REPORT_DELIVERY_BACKOFF_SECONDS", default=60)  # doubles per attempt
REPORT_MAX_CONSECUTIVE_FAILURES = env.int("REPORT_MAX_CONSECUTIVE_FAILURES", default=3)
# A refresh or report run whose worker shows no heartbeat this long is taken up again (docs/decisions.md).
REFRESH_RUN_STALE_SECONDS = env.int("REFRESH_RUN_STALE_SECONDS", default=120)
REPORT_RUN_STALE_SECONDS = env.int("REPORT_RUN_STALE_SECONDS", default=120)
# Upper bound for a run "running" with no worker on it (e.g. waiting for delivery retries).
REPORT_RUN_STALE_MINUTES = env.int("REPORT_RUN_STALE_MINUTES", default=60)


def _validate_product_settings() -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(REPORTING_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImproperlyConfigured(f"REPORTING_TIME_ZONE={REPORTING_TIME_ZONE!r} is not an IANA time zone") from exc
    if PRIVACY_MIN_CELL_SIZE < 2:
        raise ImproperlyConfigured("PRIVACY_MIN_CELL_SIZE must be at least 2")
    if not 0 <= PRIVACY_MAX_NOISE <= 20:
        raise ImproperlyConfigured("PRIVACY_MAX_NOISE must be from 0 to 20")


_validate_product_settings()

# --- logging --------------------------------------------------------------------

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
    },
}

SESSION_COOKIE_AGE = int(timedelta(hours=12).total_seconds())

# --- events -------------------------------------------------------------------------

# Activity (non-recruiting) events are kept this long; recruiting events are kept.
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=365)
# An event that refers to a record not seen yet is retried this many times, then failed.
EVENT_MAX_ATTEMPTS = env.int("EVENT_MAX_ATTEMPTS", default=10)
EVENT_RETRY_BASE_SECONDS = env.int("EVENT_RETRY_BASE_SECONDS", default=30)
EVENT_BATCH_SIZE = env.int("EVENT_BATCH_SIZE", default=50_000)
# Processing sessions side by side, each for its share of the facilities (a core each at most).
EVENT_PROCESSING_LANES = env.int("EVENT_PROCESSING_LANES", default=2)
EVENT_BULK_MAX_ITEMS = 1000
EVENT_BULK_MAX_BYTES = 5 * 1024 * 1024
EVENT_SINGLE_MAX_BYTES = 128 * 1024
# Django refuses larger bodies before our own 413 check could explain the limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = EVENT_BULK_MAX_BYTES + 64 * 1024
# Fault injection for tests only: seconds a processing batch waits before it commits.
EVENT_BATCH_PAUSE_SECONDS = env.float("EVENT_BATCH_PAUSE_SECONDS", default=0.0)
