"""pytest: real PostgreSQL and Redis (DATABASE_URL/REDIS_URL, else the embedded ones)."""

import os

from .local import *  # noqa: F403
from .local import env

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-any-deployment-0123456789abcdef"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# One run's cache keys and Celery queue never meet another's, nor a running `make run`.
# Worker subprocesses started by the tests inherit both through the environment.
_RUN_ID = env("TEST_RUN_ID", default=f"t{os.getpid()}")
CACHES["default"]["KEY_PREFIX"] = _RUN_ID
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default=f"{_RUN_ID}-celery")
if not env("EMAIL_URL", default=""):  # worker processes of the tests get a loopback SMTP server
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = env("LOG_LEVEL", default="WARNING")
