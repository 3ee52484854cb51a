"""Perturbation and small-cell suppression: the one function that turns KPI values into what a
caller may see.

Selectors describe each number with what privacy needs to know about it (a count and the sum of
its records' privacy keys, a rate with its numerator and denominator, a mean or median with how
many items it is over, money), and group counts into breakdowns whose total is shown.
`privacy_render` then renders plain JSON, and, for a caller without the personal-data permission
of a facility in scope (a Viewer), first perturbs every count consistently by its cell key
(analytics.perturbation; a count that comes without a key is never shown to such a caller), then
applies the suppression rules of kpis.md to the perturbed values:

- a count from 1 to threshold - 1 becomes null (zero stays zero);
- a rate becomes null when its numerator, denominator or their difference is from 1 to
  threshold - 1;
- a mean or median over 1 to threshold - 1 items becomes null (money totals are kept, a money
  mean over too few is suppressed);
- in a breakdown, if exactly one cell is suppressed, the next smallest non-zero cell is too;
- every suppressed value's path is listed;
- a rate is computed from the perturbed numerator and denominator; a mean or median keeps its
  value and is judged by its perturbed count;
- rows ranked by a count (``Ranked``) are ordered, and cut, by the values the caller is shown.

The API, the dashboard and the reports all render through this function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from analytics.perturbation import perturbed


@dataclass(frozen=True)
class Count:
    """How many records, and the sum of their privacy keys (None: not keyed, never shown perturbed)."""

    value: int
    key: int | None = None


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    numerator_key: int | None = None
    denominator_key: int | None = None

    @property
    def value(self) -> float | None:
        return None if not self.denominator else round4(self.numerator / self.denominator)


@dataclass(frozen=True)
class Mean:
    """A mean or a median (or any statistic) over ``n`` items, already rounded."""

    value: float | None
    n: int
    n_key: int | None = None


@dataclass(frozen=True)
class PerUnit:
    """A count spread over a fixed number of units (actor-days per day: DAU), or also per item of
    a second count (``per_n``: stickiness, DAU / MAU). Judged, like a mean, by the count ``n`` it
    is over; computed from the perturbed counts for a caller who sees them perturbed."""

    total: int
    total_key: int | None
    units: int
    n: int
    n_key: int | None
    per_n: bool = False


@dataclass(frozen=True)
class Money:
    value: Decimal | float | int


@dataclass
class Tally:
    """A count being added up, with the sum of its records' privacy keys."""

    n: int = 0
    keys: int = 0

    def add(self, n: int, keys: int) -> None:
        self.n += n
        self.keys += keys

    @classmethod
    def total(cls, parts) -> Tally:
        total = cls()
        for n, keys in parts:
            total.add(n, keys)
        return total

    def count(self) -> Count:
        return Count(self.n, self.keys)

    def rate_of(self, whole: Tally) -> Rate:
        return Rate(self.n, whole.n, self.keys, whole.keys)

    def mean(self, value: float | None) -> Mean:
        """A mean or median of something over these records."""
        return Mean(value, self.n, self.keys)


@dataclass
class Breakdown:
    """Cells whose total is shown elsewhere: complementary suppression applies across them.
    With ``as_list`` the cells render as a list (``rows``, series) instead of an object."""

    cells: dict[str, Any] = field(default_factory=dict)
    as_list: bool = False


@dataclass
class Ranked:
    """Rows listed largest first by a count as the caller is shown it (then by name), cut to
    ``limit`` after ordering. Ordering by the true counts would tell a Viewer which of two hidden
    or perturbed rows is larger, and which rows a cut dropped. Each row is ``(name, row)``, where
    the row is a dict holding the count under ``by``, or (``by`` None) the Count itself; with
    ``as_dict`` the rows render as an object keyed by name."""

    rows: list[tuple[str, Any]]
    by: str | None = None
    limit: int | None = None
    as_dict: bool = False

    def __post_init__(self) -> None:
        self.rows = sorted(self.rows, key=lambda pair: _name_order(pair[0]))  # equal rows compare equal, any source


def _name_order(name: str | None) -> tuple[bool, str]:
    return (name is None, name or "")


def round2(value: float | Decimal | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def round4(value: float | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


class _Renderer:
    def __init__(self, *, suppress: bool, threshold: int, max_noise: int) -> None:
        self.suppress = suppress
        self.threshold = threshold
        self.max_noise = max_noise if suppress else 0
        self.suppressed: list[str] = []

    def small(self, n: int) -> bool:
        return 1 <= n < self.threshold

    def seen(self, value: int, key: int | None) -> int | None:
        """The count this caller is shown before suppression: perturbed for a suppressed caller,
        None when it would have to be perturbed and has no key."""
        if not self.max_noise or value == 0:
            return value
        if key is None:
            return None
        return perturbed(count=value, key=key, max_noise=self.max_noise)

    def render(self, value: Any, path: str) -> Any:
        if isinstance(value, Ranked):
            return self.ranked(value, path)
        if isinstance(value, Breakdown):
            rendered = self.breakdown(value, path)
            return list(rendered.values()) if value.as_list else rendered
        if isinstance(value, dict):
            return {key: self.render(item, f"{path}.{key}" if path else key) for key, item in value.items()}
        if isinstance(value, list):
            return [self.render(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return self.leaf(value, path)

    def leaf(self, value: Any, path: str) -> Any:
        if isinstance(value, Count):
            shown = self.seen(value.value, value.key)
            if shown is None or (self.suppress and self.small(shown)):
                return self.hide(path)
            return shown
        if isinstance(value, Rate):
            numerator = self.seen(value.numerator, value.numerator_key)
            denominator = self.seen(value.denominator, value.denominator_key)
            if numerator is None or denominator is None:
                return self.hide(path)
            if self.suppress and (
                self.small(numerator) or self.small(denominator) or self.small(abs(denominator - numerator))
            ):
                return self.hide(path)
            if not self.max_noise:
                return value.value
            return None if not denominator else round4(min(numerator, denominator) / denominator)
        if isinstance(value, Mean):
            if value.value is None:
                return None
            n = self.seen(value.n, value.n_key)
            if n is None or (self.suppress and self.small(n)):
                return self.hide(path)
            return value.value
        if isinstance(value, PerUnit):
            total = self.seen(value.total, value.total_key)
            n = self.seen(value.n, value.n_key)
            if total is None or n is None or (self.suppress and self.small(n)):
                return self.hide(path)
            if value.per_n:
                return round4(total / value.units / n) if n and value.units else None
            return round2(total / value.units) if value.units else None
        if isinstance(value, Money):
            return round2(value.value)
        return value

    def ranked(self, ranked: Ranked, path: str) -> list | dict:
        def order(pair: tuple[str, Any]) -> tuple:
            name, row = pair
            count = row if ranked.by is None else row[ranked.by]
            shown = self.seen(count.value, count.key)
            hidden = shown is None or (self.suppress and self.small(shown))
            return (hidden, 0 if hidden or shown is None else -shown, _name_order(name))

        chosen = sorted(ranked.rows, key=order)[: ranked.limit]
        if ranked.as_dict:
            return {name: self.render(row, f"{path}.{name}" if path else name) for name, row in chosen}
        return [self.render(row, f"{path}[{index}]") for index, (_, row) in enumerate(chosen)]

    def hide(self, path: str) -> None:
        self.suppressed.append(path)
        return None

    def breakdown(self, breakdown: Breakdown, path: str) -> dict[str, Any]:
        """Render cells; for each counted quantity, if exactly one cell was suppressed, also hide
        the next smallest non-zero cell, so no cell can be recovered by subtraction."""
        cells = breakdown.cells
        positions = {key: index for index, key in enumerate(cells)}

        def cell_path(key: str) -> str:
            return f"{path}[{positions[key]}]" if breakdown.as_list else f"{path}.{key}"

        rendered = {key: self.render(cell, cell_path(key)) for key, cell in cells.items()}
        if not self.suppress:
            return rendered
        first = next(iter(cells.values()), None)
        for leaf in _count_leaves(first):
            values = {key: self.seen_at(cell, leaf) for key, cell in cells.items()}
            hidden = [key for key, value in values.items() if value is not None and self.small(value)]
            if len(hidden) != 1:
                continue
            others = [(value, key) for key, value in values.items() if key not in hidden and (value or 0) > 0]
            if others:
                _, key = min(others)
                _set_at(rendered, [key, *leaf], None)
                self.suppressed.append(cell_path(key) + "".join(f".{part}" for part in leaf))
        return rendered

    def seen_at(self, cell: Any, leaf_path: list[str]) -> int | None:
        count = _count_at(cell, leaf_path)
        return None if count is None else self.seen(count.value, count.key)


def _count_leaves(cell: Any, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Paths inside a cell to the counts it holds ([] when the cell is itself a count)."""
    if isinstance(cell, Count):
        return [list(prefix)]
    if isinstance(cell, dict):
        return [leaf for key, value in cell.items() for leaf in _count_leaves(value, (*prefix, key))]
    return []


def _count_at(cell: Any, leaf_path: list[str]) -> Count | None:
    for key in leaf_path:
        cell = cell.get(key) if isinstance(cell, dict) else None
    return cell if isinstance(cell, Count) else None


def _set_at(rendered: dict, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        rendered = rendered[key]
    if path:
        rendered[path[-1]] = value


def privacy_render(metrics: Any, *, suppress: bool, threshold: int, max_noise: int = 0) -> tuple[Any, list[str]]:
    """Plain JSON for ``metrics`` and the paths that were suppressed. A suppressed caller's counts
    are perturbed first when ``max_noise`` (D) is above zero."""
    renderer = _Renderer(suppress=suppress, threshold=threshold, max_noise=max_noise)
    rendered = renderer.render(metrics, "")
    return rendered, sorted(set(renderer.suppressed), key=renderer.suppressed.index)
