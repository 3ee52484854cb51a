"""DRF's error shape for everything a client can cause, never a 500; a lost database is a 503."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

#: Seconds a client is asked to wait when a dependency is down.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "The service is briefly unavailable (its database cannot be reached). Try again shortly."


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = UNAVAILABLE_MESSAGE
    default_code = "service_unavailable"


def database_unavailable(exc: BaseException) -> bool:
    """A lost, refused or shutting-down database connection (or a query it cancelled): worth
    retrying, and not the caller's fault."""
    return isinstance(exc, OperationalError | InterfaceError)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            {"detail": "Other records still refer to this object; deactivate it instead of deleting it."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DatabaseError):
        return _database_error(exc, context)
    return exception_handler(exc, context)


def _database_error(exc: DatabaseError, context: dict[str, Any]) -> Response | None:
    view = context.get("view")
    where = type(view).__name__ if view is not None else "?"
    if database_unavailable(exc):
        logger.warning("database unavailable in %s: %s", where, exc)
        response = exception_handler(ServiceUnavailable(), context)
        assert response is not None  # DRF answers every APIException
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, DataError):  # a value the input boundary let through but PostgreSQL refused
        logger.warning("data error in %s: %s", where, exc)
        message = str(exc).splitlines()[0] if str(exc) else "a value is out of range"
        return Response(
            {"detail": f"A value cannot be stored or compared: {message}."}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, IntegrityError):  # a race with another request over the same row
        logger.warning("integrity error in %s: %s", where, exc, exc_info=True)
        return Response(
            {"detail": "This conflicts with data stored meanwhile; read it again and retry."},
            status=status.HTTP_409_CONFLICT,
        )
    return None  # a programming error: a 500, logged with its traceback
