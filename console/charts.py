"""Charts for the operator console, drawn on the server as inline SVG.

No script and no outside network: the page is complete as it arrives. A value that privacy
suppressed (``None``) is a gap in the line, never a zero, and the chart says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 520, 150
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 10, 12, 22


def number(value: float | None, *, money: bool = False) -> str:
    """A figure as the console prints it: thousands separated, money with two decimals."""
    if value is None:
        return "suppressed"
    if money:
        return f"{value:,.2f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def compact(value: float) -> str:
    """An axis label: 38,244.41 -> 38.2k."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@dataclass(frozen=True)
class Point:
    label: str  # the x value as shown (a date)
    value: float | None  # None: suppressed


def _scale(points: Sequence[Point]) -> tuple[float, float]:
    top = max((p.value for p in points if p.value is not None), default=0) or 1
    step = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(points) - 1, 1)
    return top, step


def line_chart(points: Sequence[Point], *, title: str, money: bool = False, css: str = "") -> SafeString:
    """A line over the points, broken where a value is suppressed; each point has a tooltip."""
    if not points:
        return format_html('<p class="console-empty">No data for {}.</p>', title)
    top, step = _scale(points)
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def xy(index: int, value: float) -> tuple[float, float]:
        return PAD_LEFT + index * step, PAD_TOP + plot_h * (1 - value / top)

    segments: list[list[tuple[float, float]]] = [[]]
    for index, point in enumerate(points):
        if point.value is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(xy(index, point.value))
    lines = format_html_join(
        "",
        '<polyline fill="none" stroke="currentColor" stroke-width="2" points="{}"/>',
        ((" ".join(f"{x:.1f},{y:.1f}" for x, y in segment),) for segment in segments if segment),
    )
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2.5" fill="currentColor"><title>{}: {}</title></circle>',
        (
            (*(f"{c:.1f}" for c in xy(i, p.value)), p.label, number(p.value, money=money))
            for i, p in enumerate(points)
            if p.value is not None
        ),
    )
    gaps = sum(1 for p in points if p.value is None)
    note = format_html('<p class="console-note">{} day(s) suppressed (fewer than the minimum cell size).</p>', gaps)
    axis_y = HEIGHT - PAD_BOTTOM
    return format_html(
        '<figure class="console-chart {css}"><figcaption>{title}</figcaption>'
        '<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{title}">'
        '<line x1="{l}" y1="{axis}" x2="{r}" y2="{axis}" stroke="#999"/>'
        '<line x1="{l}" y1="{t}" x2="{l}" y2="{axis}" stroke="#999"/>'
        '<text x="{lt}" y="{ty}" text-anchor="end" font-size="10">{top}</text>'
        '<text x="{lt}" y="{axis}" text-anchor="end" font-size="10">0</text>'
        '<text x="{l}" y="{xl}" font-size="10">{first}</text>'
        '<text x="{r}" y="{xl}" text-anchor="end" font-size="10">{last}</text>'
        "{lines}{dots}</svg>{note}</figure>",
        css=css, title=title, w=WIDTH, h=HEIGHT, l=PAD_LEFT, r=WIDTH - PAD_RIGHT, t=PAD_TOP, axis=axis_y,
        lt=PAD_LEFT - 4, ty=PAD_TOP + 4, top=compact(top), xl=HEIGHT - 6,
        first=points[0].label, last=points[-1].label, lines=lines, dots=dots, note=note if gaps else "",
    )  # fmt: skip


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    detail: str = ""  # e.g. the conversion from the previous stage


def bar_chart(bars: Sequence[Bar], *, title: str) -> SafeString:
    """Horizontal bars (the pipeline funnel): one row per bar, its value and detail beside it."""
    top = max((b.value for b in bars if b.value is not None), default=0) or 1
    row, label_w, bar_w = 24, 110, WIDTH - 110 - 150
    rows = []
    for index, bar in enumerate(bars):
        y = index * row
        length = 0 if bar.value is None else bar_w * bar.value / top
        rows.append(
            format_html(
                '<text x="0" y="{ty}" font-size="12">{label}</text>'
                '<rect x="{x}" y="{y}" width="{length}" height="{h}" fill="currentColor" opacity="0.8">'
                "<title>{label}: {value}</title></rect>"
                '<text x="{vx}" y="{ty}" font-size="12">{value}{detail}</text>',
                ty=y + 15, label=bar.label, x=label_w, y=y + 3, length=f"{length:.1f}", h=row - 8,
                vx=f"{label_w + length + 6:.1f}", value=number(bar.value),
                detail=format_html(" · {}", bar.detail) if bar.detail else "",
            )
        )  # fmt: skip
    return format_html(
        '<figure class="console-chart console-funnel"><figcaption>{}</figcaption>'
        '<svg viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">{}</svg></figure>',
        title, WIDTH, row * len(bars), title, mark_safe("".join(rows)),  # noqa: S308 - each row was escaped above
    )  # fmt: skip
