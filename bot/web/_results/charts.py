"""Charts for the public results as inline SVG: drawn on the server, no script, readable
without styles. Each chart is an image with a text alternative (`role="img"`, a title
and a description); the page also shows the same figures in a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# One colour per component, in the order they add up; dark enough on white (WCAG 3:1
# for graphics) and told apart by position and the legend, not by colour alone.
COLOURS = ("#1f5f99", "#2e7d32", "#8a4b08", "#6a3d9a", "#b3261e")
WIDTH = 760


@dataclass(frozen=True)
class Segment:
    label: str
    value: float


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    total_label: str


def stacked_bars(
    bars: Sequence[Bar],
    legend: Sequence[str],
    *,
    maximum: float,
    title: str,
    description: str,
    ident: str,
) -> Markup:
    """Horizontal bars, one per row, each the sum of its segments (negative segments are
    not drawn: a penalty shows in the total and the table)."""
    label_width, row = 280, 26
    top = 18 * len(legend) + 12  # the legend, one line per component
    plot = WIDTH - label_width - 70
    height = top + row * len(bars) + 10
    parts = [_open(ident, WIDTH, height, title, description, "chart")]
    for index, name in enumerate(legend):
        colour, y = COLOURS[index % len(COLOURS)], 6 + 18 * index
        parts.append(f'<rect x="{label_width}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{label_width + 18}" y="{y + 10}" font-size="12">{escape(name)}</text>'
        )
    for number, bar in enumerate(bars):
        y = top + number * row
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" font-size="12" '
            f'text-anchor="end">{escape(bar.label)}</text>'
        )
        x0 = float(label_width)
        for index, segment in enumerate(bar.segments):
            if segment.value <= 0:
                continue
            width = plot * segment.value / maximum
            colour = COLOURS[index % len(COLOURS)]
            parts.append(
                f'<rect x="{x0:.1f}" y="{y + 3}" width="{width:.1f}" height="16" '
                f'fill="{colour}"><title>{escape(segment.label)}</title></rect>'
            )
            x0 += width
        parts.append(
            f'<text x="{x0 + 6:.1f}" y="{y + 15}" font-size="12">{escape(bar.total_label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_line(
    points: Sequence[tuple[int, float | None]],
    *,
    target: float | None,
    title: str,
    description: str,
    ident: str,
) -> Markup:
    """A small line of a value over the years, with the target as a dashed line; a year
    without a value leaves a gap."""
    width, height, pad = 220, 64, 8
    values = [v for _, v in points if v is not None]
    scale = [*values, *([target] if target is not None else [])]
    parts = [_open(ident, width, height, title, description, "trend")]
    if not scale or not points:
        parts.append("</svg>")
        return Markup("".join(parts))
    low, high = min(0.0, min(scale)), max(scale) or 1.0
    step = (width - 2 * pad) / max(len(points) - 1, 1)

    def at(index: int, value: float) -> tuple[float, float]:
        y = height - pad - (height - 2 * pad) * (value - low) / ((high - low) or 1.0)
        return pad + index * step, y

    if target is not None:
        _, y = at(0, target)
        parts.append(
            f'<line x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#595959" stroke-dasharray="4 3"/>'
        )
    run: list[str] = []
    for index, (_, value) in enumerate(points):
        if value is None:
            parts.append(_polyline(run))
            run = []
            continue
        x, y = at(index, value)
        run.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS[0]}"/>')
    parts.append(_polyline(run))
    parts.append("</svg>")
    return Markup("".join(parts))


def column_bars(
    columns: Sequence[tuple[str, float]], *, title: str, description: str, ident: str
) -> Markup:
    """Vertical bars, one per column (a month), each with its value above it and its
    label below."""
    height, bottom, top, gap = 200, 24, 18, 6
    step = (WIDTH - 20) / max(len(columns), 12)  # a year of months fills the width
    highest = max((value for _, value in columns), default=0.0) or 1.0
    parts = [_open(ident, WIDTH, height, title, description, "chart")]
    for index, (label, value) in enumerate(columns):
        x = 10 + index * step
        bar = (height - bottom - top) * value / highest
        y = height - bottom - bar
        middle = x + step / 2
        parts.append(
            f'<rect x="{x + gap / 2:.1f}" y="{y:.1f}" width="{step - gap:.1f}" '
            f'height="{bar:.1f}" fill="{COLOURS[0]}"/>'
        )
        parts.append(
            f'<text x="{middle:.1f}" y="{y - 4:.1f}" font-size="12" '
            f'text-anchor="middle">{value:g}</text>'
        )
        parts.append(
            f'<text x="{middle:.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _polyline(points: list[str], colour: str = COLOURS[0]) -> str:
    if len(points) < 2:
        return ""
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>'


def _open(ident: str, width: int, height: int, title: str, description: str, css: str) -> str:
    """The opening tag, named by its title and description (`ident` unique on the page)."""
    return (
        f'<svg class="{css}" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-labelledby="{ident}t {ident}d" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}t">{escape(title)}</title>'
        f'<desc id="{ident}d">{escape(description)}</desc>'
    )


@dataclass(frozen=True)
class Line:
    label: str
    values: tuple[float | None, ...]  # one per point on the x axis; None leaves a gap
    dashed: bool = False


def lines(
    series: Sequence[Line],
    ticks: Sequence[str],
    *,
    axis: str,
    title: str,
    description: str,
    ident: str,
) -> Markup:
    """Lines of shares (0 to 1) over the same points, e.g. this year's months against
    last year's: a labelled y axis in percent, the x ticks below, a legend on top. Lines
    differ by colour and by dash, so they are told apart without colour too."""
    width, height, left, top, bottom = 640, 260, 56, 30 + 18 * len(series), 28
    plot_w, plot_h = width - left - 16, height - top - bottom
    values = [v for line in series for v in line.values if v is not None]
    high = max(values, default=0.0) or 1.0
    step = plot_w / max(len(ticks) - 1, 1)
    parts = [_open(ident, width, height, title, description, "lines")]
    for index, line in enumerate(series):
        row = 6 + 18 * index
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        parts.append(
            f'<line x1="{left}" x2="{left + 24}" y1="{row + 6}" y2="{row + 6}" '
            f'stroke="{COLOURS[index % len(COLOURS)]}" stroke-width="2"{dash}/>'
            f'<text x="{left + 30}" y="{row + 10}" font-size="12">{escape(line.label)}</text>'
        )
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" x2="{width - 16}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c8c8c8"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{100 * high * fraction:.0f}%</text>"
        )
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(axis)}</text>'
    )
    for index, tick in enumerate(ticks):
        parts.append(
            f'<text x="{left + index * step:.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="middle">{escape(tick)}</text>'
        )
    for index, line in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        run: list[str] = []
        for number, value in enumerate(line.values):
            if value is None:
                parts.append(_dashed(_polyline(run, colour), line.dashed))
                run = []
                continue
            x, y = left + number * step, top + plot_h * (1 - value / high)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
        parts.append(_dashed(_polyline(run, colour), line.dashed))
    parts.append("</svg>")
    return Markup("".join(parts))


def _dashed(polyline: str, dashed: bool) -> str:
    return polyline.replace("/>", ' stroke-dasharray="6 4"/>') if dashed and polyline else polyline
