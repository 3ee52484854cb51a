"""Cached KPI answers in Redis, versioned: a successful refresh moves every answer to a new
version instead of flushing. When Redis is down, answers are computed from PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable

from django.core.cache import cache

logger = logging.getLogger(__name__)

VERSION_KEY = "kpi:version"
TTL_SECONDS = 3600  # a backstop; refreshes invalidate sooner
STATS_KEYS = {"hit": "kpi:stats:hit", "miss": "kpi:stats:miss", "error": "kpi:stats:error"}


def kpi_cache_bump() -> None:
    try:
        cache.add(VERSION_KEY, 0, timeout=None)
        cache.incr(VERSION_KEY)
    except Exception:
        logger.warning("could not bump the KPI cache version", exc_info=True)


def _count(kind: str) -> None:
    try:
        try:
            cache.incr(STATS_KEYS[kind])
        except ValueError:  # first count since Redis started
            cache.add(STATS_KEYS[kind], 1, timeout=None)
    except Exception:  # counting must never fail an answer
        logger.debug("could not count a KPI cache %s", kind)


def kpi_cache_stats() -> dict[str, int]:
    try:
        values = cache.get_many(list(STATS_KEYS.values()))
    except Exception:
        return {"available": False}
    return {kind: int(values.get(key) or 0) for kind, key in STATS_KEYS.items()}


def kpi_cached(*, kpi: str, parts: dict, compute: Callable[[], dict]) -> dict:
    """The answer for ``parts`` (parameters, caller scope, privacy level), from the cache when
    it holds the current version, else computed and stored."""
    try:
        version = cache.get(VERSION_KEY) or 0
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]
        key = f"kpi:{version}:{kpi}:{digest}"
        answer = cache.get(key)
    except Exception:
        _count("error")
        return compute()
    if answer is not None:
        _count("hit")
        return answer
    _count("miss")
    answer = _computed_once(key, compute)
    try:
        cache.set(key, answer, timeout=TTL_SECONDS)
    except Exception:
        logger.warning("could not store a KPI answer", exc_info=True)
    return answer


def _computed_once(key: str, compute: Callable[[], dict], *, wait_seconds: float = 10.0) -> dict:
    """After a refresh many callers miss the same key at once: one computes, the others wait
    for its answer (a short lock in Redis), instead of all running the same heavy queries."""
    lock = f"{key}:computing"
    try:
        leader = cache.add(lock, 1, timeout=int(wait_seconds) + 5)
    except Exception:
        return compute()
    if not leader:
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                answer = cache.get(key)
            except Exception:
                break
            if answer is not None:
                return answer
        return compute()
    try:
        return compute()
    finally:
        try:
            cache.delete(lock)
        except Exception:
            logger.debug("could not release %s", lock)
