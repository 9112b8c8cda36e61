"""The leadership one-pager: a self-contained HTML page a CFO reads in a minute, and the same rows as CSV.

The page loads nothing from the network: CSS is inline and the charts are inline SVG whose coordinates
are computed here. Everything from the project (workflow and team names, finding titles, "how" sentences)
is escaped: the page is a Jinja template with autoescaping, and the SVG is built from escaped text.

Example::

    from baton.measure.leadership import gather
    from baton.measure.leadership_report import render_html

    Path("leadership.html").write_text(render_html(gather(store, project)), encoding="utf-8")
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from baton.measure.leadership import CSV_FIELDS, LeadershipData, WorkflowLine

__all__ = ["render_csv", "render_html"]

_TEMPLATES = Path(__file__).with_name("templates")
PALETTE = ("#3b6ea5", "#3f9c8c", "#8e6bb8", "#d97706", "#c2185b", "#52606d", "#7cb342", "#00838f")
FIGURE_LABELS = {
    "manual_cost_usd": "Manual cost (baseline)",
    "review_cost_usd": "Review cost",
    "ai_cost_usd": "AI cost",
    "net_saving_usd": "Net saving",
    "hours_saved": "Hours saved",
    "automation_rate": "Automation rate",
}
PIPELINE = ("experiment", "pilot", "production")


# ---------------------------------------------------------------------------------------------- numbers


def money(value: float | None) -> str:
    """``$1,234`` (cents below $100), a leading minus for losses, a dash when unknown."""
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    amount = abs(value)
    return f"{sign}${amount:,.2f}" if amount < 100 else f"{sign}${amount:,.0f}"


def percent(value: float | None) -> str:
    """``87.5%`` or a dash when there is nothing to divide."""
    return "-" if value is None else f"{value:.1%}"


def hours(value: float | None) -> str:
    """``1,234.5 h``."""
    return "-" if value is None else f"{value:,.1f} h"


def figure_text(name: str, value: float | None) -> str:
    """A ROI figure as people read it."""
    if name == "hours_saved":
        return hours(value)
    if name == "automation_rate":
        return percent(value)
    if name == "ai_cost_usd" and value is not None and 0 < abs(value) < 1:
        return f"${value:,.4f}"
    return money(value)


# ---------------------------------------------------------------------------------------------- charts

_W, _H = 560, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 14, 34


def _scale(low: float, high: float) -> tuple[float, float, list[float]]:
    """A y range that includes 0 and four round ticks."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    raw = (high - low) / 4
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.25
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    bottom = step * (low // step)
    top = step * -(-high // step)
    ticks = []
    tick = bottom
    while tick <= top + step / 2:
        ticks.append(tick)
        tick += step
    return bottom, top, ticks


def _axes(labels: Sequence[str], ticks: list[float], y: Callable[[float], float], tick_text: Callable[[float], str],
          title: str) -> list[str]:
    parts = [f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}">'
             f'<title>{escape(title)}</title>']
    for tick in ticks:
        ty = y(tick)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
                     f'<text class="axis" x="{_LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">'
                     f'{escape(tick_text(tick))}</text>')
    count = len(labels)
    width = (_W - _LEFT - _RIGHT) / max(count, 1)
    every = max(1, round(count / 6))
    for i, label in enumerate(labels):
        if i % every == 0 or i == count - 1:
            x = _LEFT + width * (i + 0.5)
            parts.append(f'<text class="axis" x="{x:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle">'
                         f'{escape(label)}</text>')
    return parts


def saving_chart(data: LeadershipData) -> Markup:
    """Cumulative net saving over the period, as an area under a line, in dollars."""
    labels = [p.day.strftime("%b %d") for p in data.series]
    cumulative: list[float] = []
    running = 0.0
    for point in data.series:
        running += point.net_saving_usd
        cumulative.append(running)
    bottom, top, ticks = _scale(min(cumulative, default=0.0), max(cumulative, default=0.0))
    plot_h = _H - _TOP - _BOTTOM
    width = (_W - _LEFT - _RIGHT) / max(len(cumulative), 1)

    def y(value: float) -> float:
        return _TOP + plot_h * (top - value) / (top - bottom)

    parts = _axes(labels, ticks, y, money, "Cumulative net saving, dollars")
    points = [(_LEFT + width * (i + 0.5), y(v)) for i, v in enumerate(cumulative)]
    if points:
        zero = y(0.0)
        line = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        area = f"{points[0][0]:.1f},{zero:.1f} {line} {points[-1][0]:.1f},{zero:.1f}"
        parts.append(f'<polygon class="area" points="{area}"/><polyline class="line" points="{line}"/>')
        for (px, py), point, value in zip(points, data.series, cumulative, strict=True):
            parts.append(f'<circle class="dot" cx="{px:.1f}" cy="{py:.1f}" r="2.5"><title>'
                         f'{escape(point.day.isoformat())}: {escape(money(point.net_saving_usd))} that day, '
                         f'{escape(money(value))} so far</title></circle>')
    parts.append(f'<line class="zero" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}"/></svg>')
    return Markup("".join(parts))


def runs_chart(data: LeadershipData, colors: dict[str, str]) -> Markup:
    """Finished runs per day, bars stacked by workflow."""
    labels = [p.day.strftime("%b %d") for p in data.series]
    bottom, top, ticks = _scale(0.0, float(max((p.total_runs for p in data.series), default=0)))
    plot_h = _H - _TOP - _BOTTOM
    width = (_W - _LEFT - _RIGHT) / max(len(data.series), 1)

    def y(value: float) -> float:
        return _TOP + plot_h * (top - value) / (top - bottom)

    parts = _axes(labels, ticks, y, lambda t: f"{t:,.0f}" if t == int(t) else f"{t:,.2f}", "Finished runs per day")
    for i, point in enumerate(data.series):
        stacked = 0.0
        x = _LEFT + width * i + width * 0.15
        for workflow, count in point.runs.items():
            y_top, y_bottom = y(stacked + count), y(stacked)
            parts.append(f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{width * 0.7:.1f}" '
                         f'height="{max(y_bottom - y_top, 0.5):.1f}" fill="{colors.get(workflow, PALETTE[0])}">'
                         f'<title>{escape(point.day.isoformat())} {escape(workflow)}: {count:,} runs</title></rect>')
            stacked += count
    parts.append(f'<line class="zero" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}"/></svg>')
    return Markup("".join(parts))


def quality_chart(lines: Sequence[WorkflowLine]) -> Markup:
    """Per workflow, horizontal bars for approval, automation, edit and error rates (0 to 100%)."""
    rates = (("approval_rate", "approval", "#3f9c8c"), ("automation_rate", "automation", "#3b6ea5"),
             ("edit_rate", "edited", "#d08c2f"), ("error_rate", "error", "#c62828"))
    label_w, bar_w, row_h = 150, 300, 16
    height = 24 + len(lines) * (len(rates) * row_h + 14)
    width = label_w + bar_w + 70
    parts = [f'<svg class="chart quality" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Quality by workflow"><title>Quality by workflow</title>']
    for i, (_, name, color) in enumerate(rates):
        parts.append(f'<rect x="{label_w + i * 100}" y="2" width="10" height="10" fill="{color}"/>'
                     f'<text class="axis" x="{label_w + i * 100 + 14}" y="11">{name}</text>')
    y = 24.0
    for line in lines:
        parts.append(f'<text class="label" x="0" y="{y + row_h * 1.5 + 4:.1f}">{escape(line.workflow)}</text>')
        for attr, name, color in rates:
            value = getattr(line, attr)
            shown = value or 0.0
            size = (f"; the edits rewrote {percent(line.edit_size)} of the output on average"
                    if attr == "edit_rate" and line.edit_size is not None else "")
            parts.append(f'<rect class="track" x="{label_w}" y="{y:.1f}" width="{bar_w}" height="{row_h - 4}"/>'
                         f'<rect x="{label_w}" y="{y:.1f}" width="{bar_w * shown:.1f}" height="{row_h - 4}" '
                         f'fill="{color}"><title>{escape(line.workflow)} {name} rate: {percent(value)}{size}'
                         f'</title></rect>'
                         f'<text class="axis" x="{label_w + bar_w + 6}" y="{y + row_h - 6:.1f}">'
                         f'{percent(value)}</text>')
            y += row_h
        y += 14
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------------------------------------- page


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=money, percent=percent, hours=hours, figure=lambda value, name: figure_text(name, value))
    return env


def render_html(data: LeadershipData) -> str:
    """The leadership one-pager as one self-contained, print-friendly HTML document."""
    colors = {line.workflow: PALETTE[i % len(PALETTE)] for i, line in enumerate(data.workflows)}
    footnotes: list[tuple[str, str, str]] = []
    numbers: dict[tuple[str, str], int] = {}
    for line in data.workflows:
        for name, figure in line.figures.items():
            footnotes.append((line.workflow, FIGURE_LABELS.get(name, name), figure.how))
            numbers[(line.workflow, name)] = len(footnotes)
    first = data.series[0].day if data.series else data.generated_at.date()
    last = data.series[-1].day if data.series else data.generated_at.date()
    template = _environment().get_template("leadership.html.j2")
    return template.render(
        data=data, title=f"AI at work: {data.project}", period=f"{first:%b %d, %Y} - {last:%b %d, %Y}",
        generated=data.generated_at.strftime("%Y-%m-%d %H:%M UTC"), colors=colors,
        saving_chart=saving_chart(data), runs_chart=runs_chart(data, colors),
        quality_chart=quality_chart(data.workflows), figure_names=list(FIGURE_LABELS),
        figure_labels=FIGURE_LABELS, footnotes=footnotes, numbers=numbers, pipeline=PIPELINE,
        period_saving=sum(p.net_saving_usd for p in data.series),
        period_runs=sum(p.total_runs for p in data.series),
    )


def render_csv(data: LeadershipData) -> str:
    """One row per workflow (see :meth:`LeadershipData.to_csv_rows`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(data.to_csv_rows())
    return buffer.getvalue()
