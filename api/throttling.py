"""DRF throttles that read their rates when they run (so settings can change in tests and
deployments without re-importing), counted in Redis.

DRF's own throttles keep every request's timestamp in one cached list per caller and read and
rewrite the whole list on each request: at 3,000 requests a minute that is a 3,000-item list
unpickled and pickled per request. These count instead with a sliding-window counter: one
counter per caller and window, and the previous window's count weighted by how much of it
still lies within the last ``duration`` seconds. One Redis script call per request, whatever
the rate (sent with the request's other Redis calls where the view batches them:
api.base); a refused request is not counted.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.cache import cache
from rest_framework import throttling

from api.redis_batch import Call, Script, redis_batch

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    _Throttle = throttling.SimpleRateThrottle  # what the mixin is mixed into
else:
    _Throttle = object

logger = logging.getLogger(__name__)

# KEYS: this window's counter, the previous window's. ARGV: weight of the previous window,
# limit, expiry. Returns {allowed, this window's count, previous window's count}.
COUNT = Script("""
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[1]) + current >= tonumber(ARGV[2]) then
  return {0, current, previous}
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, current + 1, previous}
""")
clock = time.time  # the tests set the time


class SlidingWindow(_Throttle):
    num_requests: int  # set by DRF from the rate
    duration: int
    _retry_after: float | None = None
    _into: float = 0.0

    def get_rate(self) -> str | None:
        rates = cast(dict[str, str | None], settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
        rate = rates.get(self.scope) if self.scope else None
        return rate

    def count_call(self, request: Request, view: APIView) -> Call | None:
        """The Redis call that counts this request (None: this throttle does not apply), for
        ``allow_request`` or for a view that sends it with its other calls (redis_batch)."""
        if self.rate is None:
            return None
        key = self.get_cache_key(request, view)
        if key is None:
            return None
        now = clock()
        window, self._into = divmod(now, self.duration)
        weight = 1 - self._into / self.duration
        keys = (cache.make_key(f"{key}:{int(window)}"), cache.make_key(f"{key}:{int(window) - 1}"))
        return Call(keys=keys, args=(weight, self.num_requests, 2 * self.duration), script=COUNT)

    def allow_request(self, request: Request, view: APIView) -> bool:
        call = self.count_call(request, view)
        if call is None:
            return True
        try:
            (reply,) = redis_batch([call])
        except Exception:  # Redis down: serve rather than fail every request (lockouts live in PostgreSQL)
            logger.warning("throttle counters unavailable; request allowed", exc_info=True)
            return True
        return self.counted(reply)

    def counted(self, reply: Any) -> bool:
        """Whether the request counted by ``count_call`` is allowed, from the script's reply."""
        allowed, current, previous = reply
        if allowed:
            return True
        # Refused: how long until the weighted count falls below the limit.
        if current >= self.num_requests or not previous:
            self._retry_after = self.duration - self._into
        else:
            needed = 1 - (self.num_requests - current) / previous  # the fraction of this window to reach
            self._retry_after = max(needed * self.duration - self._into, 1)
        return False

    def wait(self) -> float | None:
        return None if self._retry_after is None else math.ceil(self._retry_after)


class AnonThrottle(SlidingWindow, throttling.AnonRateThrottle):
    pass


class UserThrottle(SlidingWindow, throttling.UserRateThrottle):
    """Per user, or per API key for services."""


class ScopeThrottle(SlidingWindow, throttling.ScopedRateThrottle):
    """Stricter limits for views that set ``throttle_scope`` (token requests, exports)."""

    def count_call(self, request: Request, view: APIView) -> Call | None:
        self.scope = getattr(view, self.scope_attr, None)  # the scope is the view's, so read per request
        if not self.scope:
            return None
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)  # type: ignore[assignment]  # a rate is set here
        return super().count_call(request, view)
