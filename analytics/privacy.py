"""Small-cell suppression: the one function that turns KPI values into what a caller may see.

Selectors describe each number with what suppression needs to know about it (a count, a rate
with its numerator and denominator, a mean or median with how many items it is over, money),
and group counts into breakdowns whose total is shown. `privacy_render` then renders plain
JSON, and, for a suppressed caller, applies the rules of kpis.md:

- a count from 1 to threshold - 1 becomes null (zero stays zero);
- a rate becomes null when its numerator, denominator or their difference is from 1 to
  threshold - 1;
- a mean or median over 1 to threshold - 1 items becomes null (money totals are kept, a money
  mean over too few is suppressed);
- in a breakdown, if exactly one cell is suppressed, the next smallest non-zero cell is too;
- every suppressed value's path is listed.

The API, the dashboard and the reports all render through this function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class Count:
    value: int


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return None if not self.denominator else round4(self.numerator / self.denominator)


@dataclass(frozen=True)
class Mean:
    """A mean or a median (or any statistic) over ``n`` items, already rounded."""

    value: float | None
    n: int


@dataclass(frozen=True)
class Money:
    value: Decimal | float | int


@dataclass
class Breakdown:
    """Cells whose total is shown elsewhere: complementary suppression applies across them.
    With ``as_list`` the cells render as a list (``rows``, series) instead of an object."""

    cells: dict[str, Any] = field(default_factory=dict)
    as_list: bool = False


def round2(value: float | Decimal | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def round4(value: float | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


class _Renderer:
    def __init__(self, *, suppress: bool, threshold: int) -> None:
        self.suppress = suppress
        self.threshold = threshold
        self.suppressed: list[str] = []

    def small(self, n: int) -> bool:
        return 1 <= n < self.threshold

    def render(self, value: Any, path: str) -> Any:
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
            if self.suppress and self.small(value.value):
                return self.hide(path)
            return value.value
        if isinstance(value, Rate):
            if self.suppress and (
                self.small(value.numerator)
                or self.small(value.denominator)
                or self.small(value.denominator - value.numerator)
            ):
                return self.hide(path)
            return value.value
        if isinstance(value, Mean):
            if value.value is None:
                return None
            if self.suppress and self.small(value.n):
                return self.hide(path)
            return value.value
        if isinstance(value, Money):
            return round2(value.value)
        return value

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
            values = {key: _count_at(cell, leaf) for key, cell in cells.items()}
            hidden = [key for key, value in values.items() if value is not None and self.small(value)]
            if len(hidden) != 1:
                continue
            others = [(value, key) for key, value in values.items() if key not in hidden and (value or 0) > 0]
            if others:
                _, key = min(others)
                _set_at(rendered, [key, *leaf], None)
                self.suppressed.append(cell_path(key) + "".join(f".{part}" for part in leaf))
        return rendered


def _count_leaves(cell: Any, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Paths inside a cell to the counts it holds ([] when the cell is itself a count)."""
    if isinstance(cell, Count):
        return [list(prefix)]
    if isinstance(cell, dict):
        return [leaf for key, value in cell.items() for leaf in _count_leaves(value, (*prefix, key))]
    return []


def _count_at(cell: Any, leaf_path: list[str]) -> int | None:
    for key in leaf_path:
        cell = cell.get(key) if isinstance(cell, dict) else None
    return cell.value if isinstance(cell, Count) else None


def _set_at(rendered: dict, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        rendered = rendered[key]
    if path:
        rendered[path[-1]] = value


def privacy_render(metrics: Any, *, suppress: bool, threshold: int) -> tuple[Any, list[str]]:
    """Plain JSON for ``metrics`` and the paths that were suppressed."""
    renderer = _Renderer(suppress=suppress, threshold=threshold)
    rendered = renderer.render(metrics, "")
    return rendered, sorted(set(renderer.suppressed), key=renderer.suppressed.index)
