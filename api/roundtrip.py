"""Speed, kept apart from authorization: the Redis work a request needs before its handler, in
one round trip (api.redis_batch).

DRF checks throttles one by one, authentication may have taken the user under a scope version
still to be confirmed (accounts.scope), and a view may want something read early (the KPI views
look up their cached answer: analytics.api.kpis). ``OneRoundTrip.check_throttles`` sends all of
it as one batch. What each reply means stays with its owner: the throttles count, accounts.scope
confirms the user (authenticating again if the version moved), the view takes its prefetch.
Authorization itself (api.base) does not depend on any of this: a user not confirmed here is
confirmed there before any handler runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from django.core.cache import cache
from rest_framework.request import Request

from accounts.scope import UNAVAILABLE, VERSION_KEY, scope_pending, scope_settle
from api.redis_batch import Call, redis_batch

if TYPE_CHECKING:
    from rest_framework.views import APIView as _View  # what the mixin is mixed into

    from api.throttling import SlidingWindow
else:
    _View = object

logger = logging.getLogger(__name__)


def scope_version_call() -> Call:
    """The Redis call that reads the scope version (accounts.scope), for a batch."""
    return Call.get(cache.make_key(VERSION_KEY))


class OneRoundTrip(_View):
    """Throttle counts, scope confirmation and the view's early reads in one Redis round trip."""

    def check_throttles(self, request: Request) -> None:
        """DRF's throttle check, with every Redis call this step needs in one round trip: each
        throttle's count, the confirmation of a provisional user (accounts.scope) and what the
        view wants read early (``prefetch_calls``). The prefetched replies are kept only if the
        user was confirmed as it was; a caller authenticated again gets none."""
        throttles = cast("list[SlidingWindow]", self.get_throttles())  # every configured throttle is one
        counted = [
            (throttle, call) for throttle in throttles if (call := throttle.count_call(request, self)) is not None
        ]
        pending = scope_pending(request)
        prefetch = self.prefetch_calls(request)
        calls = [call for _, call in counted] + ([scope_version_call()] if pending else []) + prefetch
        try:
            replies = redis_batch(calls)
        except Exception:  # Redis down: throttles allow, as DRF's would fail open here too
            logger.warning("Redis unavailable for throttles and scope; requests allowed", exc_info=True)
            replies = None
        if pending:
            version_reply = UNAVAILABLE if replies is None else replies[len(counted)]
            if scope_settle(request, version_reply):  # authenticated again: checked again, nothing prefetched
                self.check_permissions(request)
                prefetch = []
        if replies is not None and prefetch:
            self.prefetched(request, replies[len(calls) - len(prefetch) :])
        refused = []
        for (throttle, _), reply in zip(counted, replies or [], strict=False):
            if not throttle.counted(reply):
                refused.append(throttle.wait())
        if refused:
            wait = max((wait for wait in refused if wait is not None), default=None)
            self.throttled(request, wait)  # type: ignore[arg-type]  # DRF takes None: no Retry-After

    def prefetch_calls(self, request: Request) -> list[Call]:
        """Redis calls whose replies the handler will want, sent with the throttle counts."""
        return []

    def prefetched(self, request: Request, replies: list[Any]) -> None:
        """The replies to ``prefetch_calls``, once the caller is confirmed."""
