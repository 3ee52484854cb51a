"""Consistent perturbation of counts: the cell key method (docs/privacy.md).

Every record a count is taken over carries a random key fixed when it was created (an integer
in [0, 2^31): ``privacy_key`` on the records; for actors and events, which have no record row
of a count's own, a key derived from the name or id and a secret drawn at installation, the one
row of ``analytics_privacy_seed``: PostgreSQL's ``hashtextextended`` of an actor's name and
``uuid_hash_extended`` of an event's id, seeded with it; analytics.viewdefs). The KPI views sum the keys of the
records in each bucket, so a cell's key is the sum of its records' keys modulo 2^31 whatever
buckets it was added up from: the same records always make the same cell key, however the
question is asked.

The perturbation table maps (cell key, true count) to a noise j with |j| <= D and mean zero:

- a count n > D draws j from the triangular weights ``D + 1 - |j|`` over -D..D;
- a count 1 <= n <= D draws from the same weights cut to -(n-1)..n-1 (still symmetric, so the
  mean stays zero), so a count of records is never shown as 0 or less: 1 stays 1, 2 becomes 1..3;
- zero stays zero (no records, no key). A shown zero is a true zero, as without perturbation.

The cell key, read as a fraction of 2^31, picks the noise by the cumulative weights. Two cells
that differ by at least one record have independent keys, so their noises are independent: a
difference of two overlapping cells is off by j1 - j2, which is zero with probability
``sum(p_j^2)`` (0.172 for D = 3): that is the chance that differencing recovers a value exactly.
"""

from __future__ import annotations

from functools import cache

KEY_MODULUS = 2**31


@cache
def weights(max_noise: int, count: int) -> tuple[tuple[int, float], ...]:
    """The p-table row for ``count``: (noise, probability) pairs in increasing noise order."""
    reach = min(max_noise, count - 1)
    raw = [(j, float(max_noise + 1 - abs(j))) for j in range(-reach, reach + 1)]
    total = sum(weight for _, weight in raw)
    return tuple((j, weight / total) for j, weight in raw)


def noise(*, count: int, key: int, max_noise: int) -> int:
    """The noise the p-table gives a cell of ``count`` records whose keys sum to ``key``."""
    if count <= 0 or max_noise <= 0:
        return 0
    position = (key % KEY_MODULUS) / KEY_MODULUS
    cumulative = 0.0
    row = weights(max_noise, count)
    for j, probability in row:
        cumulative += probability
        if position < cumulative:
            return j
    return row[-1][0]


def perturbed(*, count: int, key: int, max_noise: int) -> int:
    return count + noise(count=count, key=key, max_noise=max_noise)


def variance(max_noise: int) -> float:
    """The noise's variance for counts above D (the documented accuracy cost)."""
    return sum(j * j * p for j, p in weights(max_noise, max_noise + 1))


def exact_recovery_rate(max_noise: int) -> float:
    """The chance two independent noises are equal: how often differencing two overlapping
    cells gives the hidden count exactly (counts above D)."""
    return sum(p * p for _, p in weights(max_noise, max_noise + 1))
