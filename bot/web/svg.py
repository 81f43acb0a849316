"""Bar charts as SVG text, rendered on the server: no JavaScript, no CDN, nothing to vendor.

A chart is a pure function of its bars, so it is tested as data (values in, bar heights out).
Every text that reaches the SVG is escaped: labels come from directory and build names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
HEIGHT = 260
# Room around the plot for the value axis (left), labels (bottom) and captions (top).
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 24, 56
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
# More labels than this and only every n-th one is written (a month of days).
MAX_LABELS = 16


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    """None: nothing to measure (e.g. a rate of 0/0): an empty slot marked `no data`."""
    caption: str = ""
    """Written above the bar (e.g. `67%`); the value itself when empty."""


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    maximum: float | None = None
    """The value of a full-height bar: 1.0 for rates; default the largest value."""
    unit: str = ""
    """Says what the values are, under the title (e.g. `share of reviewed requests`)."""
    empty: str = "nothing in this period"
    """Shown instead of bars when there are none."""


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def bar_height(value: float, maximum: float) -> float:
    """Pixels of a bar: proportional to its value, a full plot at `maximum`, never negative."""
    if maximum <= 0:
        return 0.0
    return round(PLOT_HEIGHT * min(max(value, 0.0), maximum) / maximum, 2)


def render(chart: Chart) -> str:
    values = [b.value for b in chart.bars if b.value is not None]
    maximum = chart.maximum if chart.maximum is not None else max(values, default=0.0)
    slot = PLOT_WIDTH / max(len(chart.bars), 1)
    width = max(min(slot * 0.7, 60.0), 2.0)
    every = -(-len(chart.bars) // MAX_LABELS)  # ceiling division
    title = escape(chart.title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}" class="chart">',
        f"<title>{title}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{TOP + PLOT_HEIGHT}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP + PLOT_HEIGHT}" stroke="#888"/>',
    ]
    if not chart.bars:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{TOP + PLOT_HEIGHT / 2}" '
            f'text-anchor="middle" font-size="14" fill="#666">{escape(chart.empty)}</text>'
        )
    else:
        parts += [
            f'<text class="tick" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" '
            f'font-size="11">{escape(_number(maximum))}</text>',
            f'<text class="tick" x="{LEFT - 6}" y="{TOP + PLOT_HEIGHT}" text-anchor="end" '
            f'font-size="11">0</text>',
        ]
    for index, bar in enumerate(chart.bars):
        parts.extend(_bar(bar, index, slot, width, maximum, show_label=index % every == 0))
    parts.append("</svg>")
    return "".join(parts)


def _bar(
    bar: Bar, index: int, slot: float, width: float, maximum: float, *, show_label: bool
) -> list[str]:
    x = round(LEFT + index * slot + (slot - width) / 2, 2)
    middle = round(x + width / 2, 2)
    label = escape(bar.label)
    base = TOP + PLOT_HEIGHT
    parts: list[str] = []
    if bar.value is None:
        parts.append(
            f'<text class="no-data" x="{middle}" y="{base - 4}" text-anchor="middle" '
            f'font-size="10" fill="#999" data-label="{label}">no data</text>'
        )
    else:
        height = bar_height(bar.value, maximum)
        caption = escape(bar.caption or _number(bar.value))
        parts.append(
            f'<rect class="bar" x="{x}" y="{round(base - height, 2)}" width="{round(width, 2)}" '
            f'height="{height}" fill="#4a7bd0" data-label="{label}" '
            f'data-value="{bar.value!r}"><title>{label}: {caption}</title></rect>'
        )
        if width >= 14:  # a caption over a thin bar would overlap its neighbours
            parts.append(
                f'<text class="caption" x="{middle}" y="{round(base - height - 4, 2)}" '
                f'text-anchor="middle" font-size="11">{caption}</text>'
            )
    if show_label:
        parts.append(
            f'<text class="label" x="{middle}" y="{base + 14}" text-anchor="end" font-size="11" '
            f'transform="rotate(-35 {middle} {base + 14})">{label}</text>'
        )
    return parts


def percent(rate: float | None) -> str:
    return "no data" if rate is None else f"{rate * 100:.0f}%"


def rate_bars(labelled: Sequence[tuple[str, float | None]]) -> tuple[Bar, ...]:
    """Bars of rates in [0, 1], captioned as percentages."""
    return tuple(Bar(label, rate, percent(rate)) for label, rate in labelled)
