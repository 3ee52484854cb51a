"""Cached KPI answers in Redis, versioned: a successful refresh moves every answer to a new
version instead of flushing, and a change to a facility's figures (the rollup step, as events
apply) moves only the answers about that facility, by its own generation counter: an answer's
key holds the version and a digest of the generations of the facilities it covers, read in
the same script as the answer. So a busy facility does not empty everyone's cache, and an
answer is never served after the data it came from changed. When Redis is down, answers are
computed from PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable

from django.core.cache import cache

from api.redis_batch import Call, Script, redis_batch, redis_client

logger = logging.getLogger(__name__)

VERSION_KEY = "kpi:version"
GENERATION_KEY = "kpi:gen:{}"  # per facility id
TTL_SECONDS = 3600  # a backstop; refreshes invalidate sooner
STATS_KEYS = {"hit": "kpi:stats:hit", "miss": "kpi:stats:miss", "error": "kpi:stats:error"}


def kpi_cache_bump() -> None:
    try:
        cache.add(VERSION_KEY, 0, timeout=None)
        cache.incr(VERSION_KEY)
    except Exception:
        logger.warning("could not bump the KPI cache version", exc_info=True)


def kpi_cache_bump_facilities(facility_ids: Iterable[int]) -> None:
    """Move the cached answers about these facilities (and only those) to new keys."""
    ids = sorted(set(facility_ids))
    if not ids:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for facility_id in ids:
            pipe.incr(cache.make_key(GENERATION_KEY.format(facility_id)))
        pipe.execute()
    except Exception:
        logger.warning("could not move the KPI cache of facilities %s", ids, exc_info=True)


def _tag(version: str, generations: list) -> str:
    """What an answer's key holds of the cache's state: the version, and a digest of the
    generations of the facilities it covers (as the lookup script computes it)."""
    if not generations:
        return version
    text = ",".join("0" if value is None else (value.decode() if isinstance(value, bytes) else str(value))
                    for value in generations)  # fmt: skip
    return f"{version}.{hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]}"


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
    return json.loads(kpi_cached_json(kpi=kpi, parts=parts, compute=compute))


def kpi_json(answer: dict) -> bytes:
    """An answer as the API sends it (DRF's JSONRenderer settings: compact, UTF-8, no NaN)."""
    return json.dumps(answer, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


# A lookup: the version and the generations of the facilities asked about (KEYS[3] on) made into
# the key's tag (as _tag does), the answer under it, and the hit counted, in one script.
_LOOKUP = Script("""
local tag = redis.call('GET', KEYS[1]) or '0'
if #KEYS > 2 then
    local generations = redis.call('MGET', unpack(KEYS, 3))
    local parts = {}
    for i = 1, #KEYS - 2 do parts[i] = generations[i] or '0' end
    tag = tag .. '.' .. string.sub(redis.sha1hex(table.concat(parts, ',')), 1, 16)
end
local answer = redis.call('GET', ARGV[1] .. tag .. ARGV[2])
if answer then redis.call('INCR', KEYS[2]) end
return {tag, answer or false}
""")


def kpi_digest(parts: dict) -> str:
    """A question's key in the cache: a hash of its parts (computed once per process and question)."""
    frozen = _frozen(parts)
    digest = _digests.get(frozen)
    if digest is None:
        if len(_digests) >= 10_000:
            _digests.clear()
        text = json.dumps(parts, sort_keys=True, default=str)
        digest = _digests[frozen] = hashlib.sha256(text.encode()).hexdigest()[:32]
    return digest


_digests: dict[tuple, str] = {}


def _frozen(value):
    """``value`` as a hashable key that tells apart what json.dumps tells apart (dicts as sorted
    items, lists as tuples, booleans apart from the numbers they equal)."""
    if isinstance(value, bool) or value is None:
        return ("literal", repr(value))
    if isinstance(value, dict):
        return ("dict", *sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        if all(type(item) is int or type(item) is str for item in value):
            return ("list", *value)
        return ("list", *map(_frozen, value))
    return value


def kpi_lookup_call(*, kpi: str, digest: str, facility_ids: Iterable[int]) -> Call:
    """The Redis call that looks up the cached answer ``kpi``/``digest`` about ``facility_ids``
    (alone, or in a batch)."""
    generations = tuple(cache.make_key(GENERATION_KEY.format(facility_id)) for facility_id in facility_ids)
    return Call(
        keys=(cache.make_key(VERSION_KEY), cache.make_key(STATS_KEYS["hit"]), *generations),
        args=(cache.make_key("kpi:"), f":{kpi}:json:{digest}"),
        script=_LOOKUP,
    )


def kpi_lookup_reply(*, kpi: str, digest: str, reply) -> tuple[str, bytes | None]:
    """(the key of ``kpi``/``digest`` under the current version and generations, the cached
    answer or None)."""
    tag, answer = reply
    tag = tag.decode() if isinstance(tag, bytes) else str(tag)
    return f"kpi:{tag}:{kpi}:json:{digest}", (cache.client.decode(answer) if answer else None)  # type: ignore[attr-defined]  # django-redis


def _lookup(kpi: str, digest: str, facility_ids: Iterable[int]) -> tuple[str, bytes | None]:
    (reply,) = redis_batch([kpi_lookup_call(kpi=kpi, digest=digest, facility_ids=facility_ids)])
    return kpi_lookup_reply(kpi=kpi, digest=digest, reply=reply)


def kpi_cached_json(*, kpi: str, parts: dict, compute: Callable[[], dict], warm: object = None) -> bytes:
    """Like kpi_cached, as the rendered JSON the API sends: a cached answer is served without
    being decoded and encoded again. ``warm`` (the question, picklable) is remembered on a miss so
    that the next refresh can compute the answer before it moves the version (kpi_cache_rollover)."""
    digest = kpi_digest(parts)
    try:
        key, answer = _lookup(kpi, digest, parts.get("facilities") or ())
    except Exception:
        _count("error")
        return kpi_json(compute())
    if answer is not None:
        return answer
    _count("miss")
    answer = _computed_once(key, lambda: kpi_json(compute()))
    try:
        cache.set(key, answer, timeout=TTL_SECONDS)
        if warm is not None:
            _remember(digest, kpi, warm, list(parts.get("facilities") or ()))
    except Exception:
        logger.warning("could not store a KPI answer", exc_info=True)
    return answer


# --- warming: the answers asked for lately are computed for the next version before it is used --

WARM_KEY = "kpi:warm"  # digest -> (kpi, question, last asked, facility ids)
WARM_MAX = 50  # the most recently asked questions kept
WARM_MAX_AGE_SECONDS = 3 * 3600


def _remember(digest: str, kpi: str, question: object, facility_ids: list[int]) -> None:
    wanted = cache.get(WARM_KEY) or {}
    wanted[digest] = (kpi, question, time.time(), facility_ids)
    if len(wanted) > WARM_MAX:
        wanted = dict(sorted(wanted.items(), key=lambda item: -item[1][2])[:WARM_MAX])
    cache.set(WARM_KEY, wanted, timeout=None)


def kpi_cache_rollover(*, answer: Callable[[str, object], bytes], budget_seconds: float = 60.0) -> int:
    """Move the cache to a new version with the answers asked for lately already in it, so readers
    do not all miss at once after a refresh. ``answer(kpi, question)`` computes one (the views are
    refreshed already). Returns how many were warmed; the version moves whatever happens."""
    warmed = 0
    try:
        cache.add(VERSION_KEY, 0, timeout=None)
        upcoming = int(cache.get(VERSION_KEY) or 0) + 1
        wanted = cache.get(WARM_KEY) or {}
        deadline = time.monotonic() + budget_seconds
        recent = sorted(wanted.items(), key=lambda item: -item[1][2])
        client = redis_client()
        for digest, (kpi, question, asked, *more) in recent:
            if time.time() - asked > WARM_MAX_AGE_SECONDS or time.monotonic() > deadline:
                break
            facility_ids = more[0] if more else []
            generations = (
                client.mget([cache.make_key(GENERATION_KEY.format(i)) for i in facility_ids]) if facility_ids else []
            )
            tag = _tag(str(upcoming), generations)
            try:
                cache.set(f"kpi:{tag}:{kpi}:json:{digest}", answer(kpi, question), timeout=TTL_SECONDS)
                warmed += 1
            except Exception:  # one question failing to compute must not stop the rollover
                logger.warning("could not warm a %s answer", kpi, exc_info=True)
    except Exception:
        logger.warning("could not warm the KPI cache", exc_info=True)
    kpi_cache_bump()
    return warmed


def _computed_once(key: str, compute: Callable[[], bytes], *, wait_seconds: float = 10.0) -> bytes:
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
