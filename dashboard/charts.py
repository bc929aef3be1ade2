"""Charts drawn on the server as inline SVG: the geometry here, the markup in ``templates/charts.html``.

Every chart is a column of horizontal bars (one per row: label, bar, value), which reads well
for funnels, rankings, progress against targets and ageing buckets alike, in both languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

Number = int | float | Decimal


@dataclass(frozen=True)
class Row:
    """One bar: ``value`` sets its length; ``text`` is what is written beside it.

    ``track`` draws a lighter bar behind (a target the value is measured against).
    """

    label: str
    value: Number
    text: str
    track: Number | None = None
    href: str | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    href: str | None
    y: float
    x: float
    width: float
    track_width: float | None
    text_x: float


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[Bar]
    kind: str


def bar_chart(
    title: str,
    rows: Sequence[Row],
    *,
    kind: str = "bars",
    centered: bool = False,
    width: int = 560,
    label_width: int = 150,
    row_height: int = 26,
    value_width: int = 110,
) -> BarChart:
    """Bars scaled to the largest value (or track) among ``rows``; ``centered`` draws a funnel."""
    plot = width - label_width - value_width
    top = max([float(r.value) for r in rows] + [float(r.track or 0) for r in rows] + [0.0])
    scale = plot / top if top > 0 else 0.0
    bars = []
    for i, row in enumerate(rows):
        length = max(0.0, float(row.value)) * scale
        x = label_width + ((plot - length) / 2 if centered else 0.0)
        track = max(0.0, float(row.track)) * scale if row.track is not None else None
        end = label_width + (plot if centered else max(length, track or 0.0))
        bars.append(
            Bar(
                label=row.label,
                value=float(row.value),
                text=row.text,
                href=row.href,
                y=i * row_height,
                x=round(x, 1),
                width=round(length, 1),
                track_width=round(track, 1) if track is not None else None,
                text_x=round(end + 6, 1),
            )
        )
    return BarChart(
        title=title,
        width=width,
        height=max(1, len(rows)) * row_height,
        label_width=label_width,
        bar_height=row_height - 8,
        bars=bars,
        kind=kind,
    )
