"""Charts for the HTML reports people read (benchmarks, evaluations): inline SVG, so a report is one
self-contained file with no scripts, and every label is escaped."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

COLORS = ("#9aa5b1", "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2")
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f4f4f4}"
    "svg{margin:1em 1em 0 0}"
)
PLOT_HEIGHT, LEFT, TOP = 200, 52, 34


def nice_ceiling(value: float) -> float:
    """The axis end above ``value``: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def bar_chart(
    title: str,
    groups: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[float]],
    maximum: float = 1.0,
    value_format: str = "{:.2f}",
    reference: tuple[str, float] | None = None,
) -> str:
    """Grouped bars from 0 to ``maximum``; ``reference`` draws a labelled dashed line (a target)."""
    bar, gap = 26, 34
    group_width = bar * len(series) + gap
    width = max(LEFT + group_width * len(groups) + 10, LEFT + 8 * len(title))  # room for the title
    height = TOP + PLOT_HEIGHT + 50 + 20 * len(series)
    out = [*_frame(title, width, height), *_y_axis(maximum, width)]
    for g, group in enumerate(groups):
        x0 = LEFT + gap / 2 + g * group_width
        for s, value in enumerate(values[g]):
            x, h = x0 + s * bar, PLOT_HEIGHT * max(0.0, min(1.0, value / maximum))
            shown = value_format.format(value)
            tooltip = html.escape(f"{series[s]}: {shown}")
            out.append(
                f'<rect x="{x}" y="{TOP + PLOT_HEIGHT - h}" width="{bar - 3}" height="{h}" '
                f'fill="{COLORS[s % len(COLORS)]}"><title>{tooltip}</title></rect>'
            )
            out.append(
                f'<text x="{x + (bar - 3) / 2}" y="{TOP + PLOT_HEIGHT - h - 3}" font-size="9" '
                f'text-anchor="middle">{html.escape(shown)}</text>'
            )
        center, label_y = x0 + bar * len(series) / 2, TOP + PLOT_HEIGHT + 16
        out.append(f'<text x="{center}" y="{label_y}" text-anchor="middle">{html.escape(group)}</text>')
    if reference is not None:
        out.extend(_reference_line(*reference, maximum, width))
    out.extend(_legend(series, TOP + PLOT_HEIGHT + 36))
    out.append("</svg>")
    return "\n".join(out)


def line_chart(
    title: str, xs: Sequence[float], lines: Mapping[str, Sequence[float]], x_label: str, y_label: str
) -> str:
    """One line per series over shared x values, the y axis from 0."""
    width, plot_width = 640, 640 - LEFT - 20
    height = TOP + PLOT_HEIGHT + 56 + 20 * len(lines)
    maximum = nice_ceiling(max((v for ys in lines.values() for v in ys), default=1.0))
    x_end = max(xs, default=1) or 1
    out = [*_frame(title, width, height), *_y_axis(maximum, width)]
    out.append(f'<text x="{LEFT}" y="{TOP - 6}" font-size="10">{html.escape(y_label)}</text>')
    out.append(
        f'<text x="{LEFT + plot_width}" y="{TOP + PLOT_HEIGHT + 16}" text-anchor="end">'
        f"{html.escape(f'{x_end:g} {x_label}')}</text>"
    )
    for n, (name, ys) in enumerate(lines.items()):
        points = " ".join(
            f"{LEFT + plot_width * x / x_end:.1f},{TOP + PLOT_HEIGHT * (1 - y / maximum):.1f}"
            for x, y in zip(xs, ys, strict=True)
        )
        out.append(
            f'<polyline points="{points}" fill="none" stroke-width="2" stroke="{COLORS[n % len(COLORS)]}">'
            f"<title>{html.escape(name)}</title></polyline>"
        )
    out.extend(_legend(list(lines), TOP + PLOT_HEIGHT + 36))
    out.append("</svg>")
    return "\n".join(out)


def heatmap(
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    counts: Sequence[Sequence[int]],
    axes: tuple[str, str] = ("true", "predicted"),
) -> str:
    """Counts in a grid, each cell shaded by its share of its row (a confusion matrix).

    Cells whose row and column carry the same label (the diagonal) are blue, all others red, so a
    frequent mistake stands out however many classes there are; empty cells stay blank.
    """
    cell = 24
    left = LEFT + max((_text_width(r) for r in rows), default=0)
    top = TOP + 24 + max((_text_width(c) for c in columns), default=0)
    width = max(left + cell * len(columns) + 10, LEFT + 8 * len(title))
    out = _frame(title, width, top + cell * len(rows) + 10)
    out.append(f'<text x="{left}" y="{TOP + 8}" font-size="10">{html.escape(axes[1])} →</text>')
    out.append(
        f'<text x="{left - 6}" y="{top - 6}" font-size="10" text-anchor="end">{html.escape(axes[0])} ↓</text>'
    )
    for j, column in enumerate(columns):
        x, y = left + cell * j + cell / 2 + 4, top - 4
        out.append(f'<text x="{x}" y="{y}" transform="rotate(-90 {x} {y})">{html.escape(column)}</text>')
    for i, (row, row_counts) in enumerate(zip(rows, counts, strict=True)):
        y = top + cell * i
        out.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end">{html.escape(row)}</text>')
        total = sum(row_counts)
        for j, count in enumerate(row_counts):
            share = count / total if count else 0.0
            out.extend(_heat_cell(left + cell * j, y, cell, count, share, (row, columns[j])))
    out.append("</svg>")
    return "\n".join(out)


def page(title: str, parts: Sequence[str]) -> str:
    """A whole HTML document around already-escaped parts (tables, charts, paragraphs)."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>',
            f"<style>{STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            *parts,
            "</body></html>",
        ]
    )


def _frame(title: str, width: float, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{html.escape(title)}</text>',
    ]


def _y_axis(maximum: float, width: float) -> list[str]:
    out = []
    for step in range(5):
        tick, y = maximum * step / 4, TOP + PLOT_HEIGHT * (1 - step / 4)
        out.append(f'<line x1="{LEFT}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{tick:g}</text>')
    return out


def _reference_line(label: str, value: float, maximum: float, width: float) -> list[str]:
    y = TOP + PLOT_HEIGHT * (1 - min(1.0, value / maximum))
    return [
        f'<line x1="{LEFT}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#e45756" stroke-dasharray="5,3"/>',
        f'<text x="{width - 12}" y="{y - 4}" text-anchor="end" fill="#e45756">{html.escape(label)}</text>',
    ]


def _legend(names: Sequence[str], top: float) -> list[str]:
    out = []
    for s, name in enumerate(names):
        y = top + 20 * s
        out.append(f'<rect x="{LEFT}" y="{y}" width="12" height="12" fill="{COLORS[s % len(COLORS)]}"/>')
        out.append(f'<text x="{LEFT + 18}" y="{y + 10}">{html.escape(name)}</text>')
    return out


def _heat_cell(x: float, y: float, size: int, count: int, share: float, labels: tuple[str, str]) -> list[str]:
    color = COLORS[1] if labels[0] == labels[1] else COLORS[4]
    opacity = 0.15 + 0.85 * share if count else 0.0  # a single mistake in a large row stays visible
    tooltip = html.escape(f"{labels[0]} → {labels[1]}: {count} ({share:.0%})")
    out = [
        f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{color}" '
        f'fill-opacity="{opacity:.2f}" stroke="#eee"><title>{tooltip}</title></rect>'
    ]
    if count:
        ink = "#fff" if share >= 0.5 else "#000"
        out.append(
            f'<text x="{x + size / 2}" y="{y + size / 2 + 4}" text-anchor="middle" fill="{ink}" '
            f'font-size="10">{count}</text>'
        )
    return out


def _text_width(text: str) -> float:
    """Roughly how wide ``text`` is at 11 px: CJK characters are about twice as wide as Latin ones."""
    return sum(11 if ord(c) >= 0x2E80 else 6.5 for c in text)
