"""The footprint report: one self-contained HTML page, or Markdown, for people who decide.

The page holds the footprint graph (teams as clusters, assets as nodes sized by monthly cost, ``feeds``
handoffs as arrows, whatever the findings touch highlighted), the findings, cost charts and the asset
inventory. It loads nothing from the network: CSS is inline, the graph and charts are inline SVG whose
coordinates are computed here, so the file can be mailed, archived or printed as it is.

Everything a person wrote (names, titles, fixes, team names, ``feeds`` targets) is escaped: the page is a
Jinja template with autoescaping, and the SVG is built from escaped text.

Example::

    from pathlib import Path
    from baton.catalog.report import render_html
    from baton.spec.loader import load_footprint

    footprint = load_footprint(Path("footprint.yaml"))
    Path("footprint.html").write_text(render_html(footprint.assets, findings), encoding="utf-8")
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from baton.catalog.model import Finding
from baton.spec.models import STAGES, AssetSpec

__all__ = ["render_html", "render_markdown"]

SEVERITIES = ("high", "medium", "low")
EXTERNAL_CLUSTER = "external / workflows"
# Above this many nodes the graph drops node labels and shrinks its cells: 1,000 labels are unreadable
# and would make the page several megabytes.
LABEL_LIMIT = 150
# Charts with more bars than this fold the smallest into one "other" bar, so the sum stays right.
MAX_BARS = 20

_TEMPLATES = Path(__file__).with_name("templates")
_EDGE_KIND = re.compile(r"handoff|cycle|loop|chain")
_OVERLAP_KIND = re.compile(r"overlap|duplicat")
_ARROW = re.compile(r"\s*(?:->|→|=>|⇒)\s*")


# ---------------------------------------------------------------------------------------------- numbers


def _money(value: float) -> str:
    """``$1,234``: whole dollars, thousands separated."""
    return f"${value:,.0f}"


def _plain(value: float) -> str:
    """A number for a ``data-value`` attribute: to the cent, without float noise or an exponent."""
    cents = round(value, 2)
    return str(int(cents)) if cents == int(cents) else repr(cents)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _nice_step(maximum: float, ticks: int = 5) -> float:
    """A 1-2-5 step that covers ``maximum`` in at most ``ticks`` steps."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return float(factor * magnitude)
    return float(10 * magnitude)  # pragma: no cover - the loop always returns


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


# ---------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class _Summary:
    assets: int
    teams: int
    monthly_cost: float
    handoffs: int
    findings: dict[str, int]
    cost_by_team: list[tuple[str, float, int]]
    cost_by_stage: list[tuple[str, float, int]]
    count_by_kind: list[tuple[str, int]]


def _summarise(assets: Sequence[AssetSpec], findings: Sequence[Finding]) -> _Summary:
    by_team: dict[str, list[float]] = {}
    by_stage: dict[str, list[float]] = {}
    by_kind: dict[str, int] = {}
    for asset in assets:
        by_team.setdefault(asset.team, []).append(asset.monthly_cost)
        by_stage.setdefault(asset.stage, []).append(asset.monthly_cost)
        by_kind[asset.kind] = by_kind.get(asset.kind, 0) + 1
    severities = {severity: 0 for severity in SEVERITIES}
    for finding in findings:
        severities[finding.severity] = severities.get(finding.severity, 0) + 1
    teams = sorted(((team, math.fsum(costs), len(costs)) for team, costs in by_team.items()),
                   key=lambda row: (-row[1], row[0]))
    stages = [(stage, math.fsum(by_stage[stage]), len(by_stage[stage])) for stage in STAGES if stage in by_stage]
    kinds = sorted(by_kind.items(), key=lambda row: (-row[1], row[0]))
    return _Summary(
        assets=len(assets), teams=len(by_team), monthly_cost=math.fsum(a.monthly_cost for a in assets),
        handoffs=sum(len(a.feeds) for a in assets), findings=severities,
        cost_by_team=teams, cost_by_stage=stages, count_by_kind=kinds)


# ---------------------------------------------------------------------------------------------- findings


# Findings about the organisation as a whole; they are listed, not drawn on the graph.
ORGANISATION_KINDS = frozenset({"no-shared-policy", "activity-only-reporting"})


@dataclass
class _Marks:
    """What the findings say about each node and each edge of the graph."""

    node_findings: dict[str, list[int]] = field(default_factory=dict)
    overlap_nodes: set[str] = field(default_factory=set)
    issue_nodes: set[str] = field(default_factory=set)
    edge_findings: dict[int, list[int]] = field(default_factory=dict)
    no_contract_edges: set[int] = field(default_factory=set)


def _pair(value: Any) -> tuple[str, str] | None:
    """An edge named in evidence: ``[a, b]``, ``"a -> b"``, ``{"from": a, "to": b}`` or ``{"source", "target"}``."""
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return str(value[0]), str(value[1])
    if isinstance(value, str):
        parts = _ARROW.split(value.strip())
        return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None
    if isinstance(value, Mapping):
        for start, end in (("from", "to"), ("source", "target"), ("src", "dst")):
            if isinstance(value.get(start), str) and isinstance(value.get(end), str):
                return str(value[start]), str(value[end])
    return None


def _evidence_edges(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key in ("edges", "handoffs", "cycle_edges"):
        values = evidence.get(key)
        if isinstance(values, list | tuple):
            found.extend(pair for pair in map(_pair, values) if pair)
    for key in ("edge", "handoff"):
        pair = _pair(evidence.get(key))
        if pair:
            found.append(pair)
    pair = _pair(evidence)
    if pair:
        found.append(pair)
    return found


@dataclass(frozen=True)
class _Edge:
    index: int
    source: str
    target: str
    contract: str | None


def _edges(assets: Sequence[AssetSpec]) -> list[_Edge]:
    edges: list[_Edge] = []
    for asset in assets:
        for target in asset.feeds:
            edges.append(_Edge(len(edges), asset.id, target, asset.contract))
    return edges


def _mark(findings: Sequence[Finding], edges: Sequence[_Edge]) -> _Marks:
    marks = _Marks()
    by_pair: dict[tuple[str, str], list[int]] = {}
    outgoing: dict[str, list[int]] = {}
    for edge in edges:
        by_pair.setdefault((edge.source, edge.target), []).append(edge.index)
        outgoing.setdefault(edge.source, []).append(edge.index)
    for number, finding in enumerate(findings):
        if finding.kind in ORGANISATION_KINDS:
            continue  # about every team's tools at once: marking them all would hide the specific problems
        for asset_id in dict.fromkeys(finding.assets):
            marks.node_findings.setdefault(asset_id, []).append(number)
            (marks.overlap_nodes if _OVERLAP_KIND.search(finding.kind) else marks.issue_nodes).add(asset_id)
        hit: list[int] = []
        for pair in _evidence_edges(finding.evidence):
            hit.extend(by_pair.get(pair, []))
        if not hit and _EDGE_KIND.search(finding.kind):
            members = list(dict.fromkeys(finding.assets))
            hit = [e.index for e in edges if e.source in members and e.target in members]
            if not hit and len(members) == 1:
                hit = list(outgoing.get(members[0], []))
        for index in dict.fromkeys(hit):
            marks.edge_findings.setdefault(index, []).append(number)
            if finding.kind == "handoff-without-contract":
                marks.no_contract_edges.add(index)
    return marks


# ---------------------------------------------------------------------------------------------- graph layout


@dataclass
class _Node:
    key: str
    label: str
    asset: AssetSpec | None
    x: float = 0.0
    y: float = 0.0
    r: float = 0.0


@dataclass
class _Cluster:
    name: str
    nodes: list[_Node]
    external: bool = False
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    cols: int = 1


@dataclass(frozen=True)
class _Geometry:
    cell_w: float
    cell_h: float
    r_min: float
    r_max: float
    pad: float
    header: float
    gap: float
    max_width: float
    labels: bool


_DETAILED = _Geometry(cell_w=164, cell_h=92, r_min=7, r_max=22, pad=12, header=30, gap=18, max_width=1160,
                      labels=True)
_COMPACT = _Geometry(cell_w=22, cell_h=22, r_min=2.5, r_max=9, pad=10, header=26, gap=16, max_width=1600,
                     labels=False)


def _layout(assets: Sequence[AssetSpec], edges: Sequence[_Edge]) -> tuple[list[_Cluster], float, float, _Geometry]:
    """Clusters on shelves (rows filled left to right), nodes on a grid inside each cluster."""
    known = {asset.id for asset in assets}
    clusters: dict[str, _Cluster] = {}
    for asset in assets:
        clusters.setdefault(asset.team, _Cluster(asset.team, [])).nodes.append(
            _Node(asset.id, asset.name or asset.id, asset))
    external = _Cluster(EXTERNAL_CLUSTER, [], external=True)
    for target in dict.fromkeys(edge.target for edge in edges if edge.target not in known):
        external.nodes.append(_Node(target, target, None))
    ordered = list(clusters.values()) + ([external] if external.nodes else [])
    geometry = _DETAILED if sum(len(c.nodes) for c in ordered) <= LABEL_LIMIT else _COMPACT

    top_cost = max((asset.monthly_cost for asset in assets), default=0.0)
    max_cols = max(1, int((geometry.max_width - 2 * geometry.pad) // geometry.cell_w))
    for cluster in ordered:
        count = len(cluster.nodes)
        wanted = math.ceil(math.sqrt(count * 1.5)) if geometry.labels else math.ceil(math.sqrt(count))
        cluster.cols = max(1, min(count, wanted, max_cols))
        rows = math.ceil(count / cluster.cols)
        # room for the caption "team · $12,345" (7.5 px a character at 13 px)
        label_w = (len(cluster.name) + (0 if cluster.external else 10)) * 7.5 + 2 * geometry.pad
        cluster.w = max(cluster.cols * geometry.cell_w + 2 * geometry.pad, label_w)
        cluster.h = geometry.header + rows * geometry.cell_h + geometry.pad
        for node in cluster.nodes:
            if node.asset is None:
                node.r = geometry.r_min
            else:
                share = math.sqrt(node.asset.monthly_cost / top_cost) if top_cost > 0 else 0.0
                node.r = geometry.r_min + (geometry.r_max - geometry.r_min) * share

    x = y = row_h = width = 0.0
    row: list[_Cluster] = []
    shelves: list[list[_Cluster]] = []
    for cluster in ordered:
        if row and x + cluster.w > geometry.max_width:
            shelves.append(row)
            y += row_h + geometry.gap
            x = row_h = 0.0
            row = []
        cluster.x, cluster.y = x, y
        x += cluster.w + geometry.gap
        width = max(width, x - geometry.gap)
        row_h = max(row_h, cluster.h)
        row.append(cluster)
    if row:
        shelves.append(row)
    for shelf in shelves:
        tallest = max(c.h for c in shelf)
        for cluster in shelf:
            cluster.h = tallest
    height = y + row_h

    for cluster in ordered:
        # centre the grid in the cluster when the label made the cluster wider than its cells
        inner = cluster.cols * geometry.cell_w
        left = cluster.x + (cluster.w - inner) / 2
        for i, node in enumerate(cluster.nodes):
            column, line = i % cluster.cols, i // cluster.cols
            node.x = left + (column + 0.5) * geometry.cell_w
            top = cluster.y + geometry.header + line * geometry.cell_h
            node.y = top + (geometry.r_max + 4 if geometry.labels else geometry.cell_h / 2)
    return ordered, width, height, geometry


# ---------------------------------------------------------------------------------------------- graph SVG


def _attrs(**values: str | float | None) -> str:
    """`` key="value"`` pairs, escaped; ``data_x`` becomes ``data-x``; ``None`` is left out."""
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        text = _n(value) if isinstance(value, float) else str(value)
        parts.append(f' {key.rstrip("_").replace("_", "-")}="{escape(text)}"')
    return "".join(parts)


def _edge_path(source: _Node, target: _Node) -> str:
    if source is target:
        x, y, r = source.x, source.y, source.r
        return (f"M{_n(x - r * 0.6)} {_n(y - r * 0.8)}C{_n(x - r * 2.2)} {_n(y - r * 3.4)} "
                f"{_n(x + r * 2.2)} {_n(y - r * 3.4)} {_n(x + r * 0.6)} {_n(y - r * 0.8 - 2)}")
    dx, dy = target.x - source.x, target.y - source.y
    distance = math.hypot(dx, dy) or 1.0
    # bend every edge a little to its left: a pair of opposite handoffs becomes two visible arcs
    bend = min(distance * 0.15, 60.0)
    cx = (source.x + target.x) / 2 - dy / distance * bend
    cy = (source.y + target.y) / 2 + dx / distance * bend

    def towards(node: _Node, px: float, py: float, extra: float) -> tuple[float, float]:
        ux, uy = px - node.x, py - node.y
        length = math.hypot(ux, uy) or 1.0
        return node.x + ux / length * (node.r + extra), node.y + uy / length * (node.r + extra)

    sx, sy = towards(source, cx, cy, 1.0)
    ex, ey = towards(target, cx, cy, 3.0)
    return f"M{_n(sx)} {_n(sy)}Q{_n(cx)} {_n(cy)} {_n(ex)} {_n(ey)}"


def _node_tooltip(node: _Node, findings: Sequence[Finding], numbers: Sequence[int], inbound: int) -> str:
    asset = node.asset
    if asset is None:
        lines = [node.key, "external target (a workflow or a system outside the footprint)",
                 f"fed by {inbound} handoff{'s' if inbound != 1 else ''}"]
    else:
        lines = [f"{asset.name or asset.id} ({asset.id})" if asset.name else asset.id,
                 f"{asset.kind} · team {asset.team} · owner {asset.owner or '—'}",
                 f"{_money(asset.monthly_cost)}/month · {asset.stage}"]
    lines.extend(f"⚑ {findings[number].severity}: {findings[number].title}" for number in numbers)
    return "\n".join(lines)


def _graph_svg(assets: Sequence[AssetSpec], findings: Sequence[Finding]) -> tuple[Markup, bool]:
    """The graph, and whether it is the compact (unlabelled) drawing of a large footprint."""
    edges = _edges(assets)
    marks = _mark(findings, edges)
    clusters, width, height, geometry = _layout(assets, edges)
    nodes = {node.key: node for cluster in clusters for node in cluster.nodes}
    inbound: dict[str, int] = {}
    for edge in edges:
        inbound[edge.target] = inbound.get(edge.target, 0) + 1
    margin = 8.0
    out: list[str] = [
        f'<svg class="graph{"" if geometry.labels else " compact"}" '
        f'role="img" aria-label="Footprint graph: {len(assets)} assets, {len(edges)} handoffs"'
        f'{_attrs(viewBox=f"{_n(-margin)} {_n(-margin)} {_n(width + 2 * margin)} {_n(height + 2 * margin)}")}'
        f'{_attrs(width=width + 2 * margin, height=height + 2 * margin)}>',
        "<defs>",
        '<marker id="fp-arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="arrow"/></marker>',
        '<marker id="fp-arrow-flagged" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="arrow flagged"/></marker>',
        "</defs>",
        '<g class="clusters">',
    ]
    for cluster in clusters:
        kind = "external" if cluster.external else "team"
        cost = math.fsum(n.asset.monthly_cost for n in cluster.nodes if n.asset is not None)
        caption = cluster.name if cluster.external else f"{cluster.name} · {_money(cost)}"
        out.append(
            f'<g class="cluster {kind}"{_attrs(data_team=cluster.name)}>'
            f'<rect rx="10"{_attrs(x=cluster.x, y=cluster.y, width=cluster.w, height=cluster.h)}/>'
            f'<text class="cluster-label"{_attrs(x=cluster.x + geometry.pad, y=cluster.y + geometry.header * 0.66)}>'
            f"{escape(_truncate(caption, max(8, int(cluster.w / 7.2))))}</text></g>")
    out.append("</g>")

    out.append('<g class="edges">')
    for edge in edges:
        numbers = marks.edge_findings.get(edge.index, [])
        classes = ["edge"]
        if numbers:
            classes.append("flagged")
        if edge.index in marks.no_contract_edges:
            classes.append("no-contract")
        title = ""
        if geometry.labels:
            text = f"{edge.source} → {edge.target} · contract: {edge.contract or 'none'}"
            text += "".join(f"\n⚑ {findings[n].title}" for n in numbers)
            title = f"<title>{escape(text)}</title>"
        marker = "url(#fp-arrow-flagged)" if numbers else "url(#fp-arrow)"
        out.append(
            f'<path{_attrs(class_=" ".join(classes), data_edge=str(edge.index), data_from=edge.source)}'
            f'{_attrs(data_to=edge.target, data_findings=" ".join(map(str, numbers)) or None)}'
            f'{_attrs(d=_edge_path(nodes[edge.source], nodes[edge.target]), marker_end=marker)}>{title}</path>')
    out.append("</g>")

    out.append('<g class="nodes">')
    for cluster in clusters:
        for node in cluster.nodes:
            out.append(_node_svg(node, geometry, findings, marks, inbound.get(node.key, 0)))
    out.append("</g></svg>")
    return Markup("\n".join(out)), not geometry.labels


def _node_svg(node: _Node, geometry: _Geometry, findings: Sequence[Finding], marks: _Marks, inbound: int) -> str:
    numbers = marks.node_findings.get(node.key, [])
    classes = ["node"]
    if node.asset is None:
        classes.append("external")
    else:
        classes.append(f"stage-{node.asset.stage}")
    if numbers:
        classes.append("flagged")
    if node.key in marks.overlap_nodes:
        classes.append("overlap")
    if node.key in marks.issue_nodes:
        classes.append("issue")
    severity = next((s for s in SEVERITIES if any(findings[n].severity == s for n in numbers)), None)
    tooltip = escape(_node_tooltip(node, findings, numbers, inbound))
    parts = [
        f'<g{_attrs(class_=" ".join(classes), data_node=node.key)}'
        f'{_attrs(data_node_type="external" if node.asset is None else "asset")}'
        f'{_attrs(data_findings=" ".join(map(str, numbers)) or None, data_severity=severity)}>'
        f"<title>{tooltip}</title>"]
    if node.key in marks.overlap_nodes:
        parts.append(f'<circle class="ring"{_attrs(cx=node.x, cy=node.y, r=node.r + 4)}/>')
    if node.asset is None:
        side = node.r * 2
        box = _attrs(x=node.x - node.r, y=node.y - node.r, width=side, height=side)
        parts.append(f'<rect class="shape" rx="2"{box}/>')
    else:
        parts.append(f'<circle class="shape"{_attrs(cx=node.x, cy=node.y, r=node.r)}/>')
    if geometry.labels:
        base = node.y + geometry.r_max + 16
        parts.append(f'<text class="label"{_attrs(x=node.x, y=base)}>{escape(_truncate(node.label, 22))}</text>')
        sub = (f"{_money(node.asset.monthly_cost)} · {node.asset.stage}" if node.asset is not None
               else "external")
        parts.append(f'<text class="sub"{_attrs(x=node.x, y=base + 13)}>{escape(sub)}</text>')
    parts.append("</g>")
    if node.asset is not None and geometry.labels:
        return f'<a{_attrs(href=f"#asset-{node.key}")}>{"".join(parts)}</a>'
    return "".join(parts)


# ---------------------------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class _Bar:
    label: str
    value: float
    css: str = ""
    note: str = ""


def _fold(bars: list[_Bar], noun: str) -> list[_Bar]:
    """Keep the biggest bars; one bar sums the rest, so the chart still adds up."""
    if len(bars) <= MAX_BARS:
        return bars
    kept, rest = bars[: MAX_BARS - 1], bars[MAX_BARS - 1:]
    return [*kept, _Bar(f"{len(rest)} other {noun}", math.fsum(b.value for b in rest), "other")]


def _bar_chart(bars: Sequence[_Bar], *, chart: str, axis: str, money: bool) -> Markup:
    """Horizontal bars with value labels and an x axis with 1-2-5 ticks."""
    label_w, plot_w, value_w, bar_h, gap, top = 128.0, 300.0, 72.0, 18.0, 8.0, 6.0
    plot_x = label_w + 8
    rows_h = len(bars) * (bar_h + gap)
    axis_y = top + rows_h + 2
    height = axis_y + 40
    width = plot_x + plot_w + value_w
    largest = max((bar.value for bar in bars), default=0.0)
    step = _nice_step(largest)
    scale_max = step * max(1, math.ceil(largest / step)) if largest > 0 else step
    fmt = _money if money else (lambda v: f"{v:,.0f}")
    out = [f'<svg class="chart"{_attrs(data_chart=chart, role="img")}'
           f'{_attrs(aria_label=axis, viewBox=f"0 0 {_n(width)} {_n(height)}", width=width, height=height)}>']
    ticks = round(scale_max / step)
    for i in range(ticks + 1):
        value = step * i
        x = plot_x + plot_w * value / scale_max
        out.append(f'<line class="grid"{_attrs(x1=x, x2=x, y1=top - 2, y2=axis_y)}/>')
        out.append(f'<text class="tick"{_attrs(x=x, y=axis_y + 13)}>{escape(fmt(value))}</text>')
    out.append(f'<line class="axis"{_attrs(x1=plot_x, x2=plot_x + plot_w, y1=axis_y, y2=axis_y)}/>')
    out.append(f'<text class="axis-title"{_attrs(x=plot_x + plot_w / 2, y=axis_y + 31)}>{escape(axis)}</text>')
    for i, bar in enumerate(bars):
        y = top + i * (bar_h + gap)
        w = plot_w * bar.value / scale_max if scale_max else 0.0
        text = f"{bar.label}: {fmt(bar.value)}" + (f" ({bar.note})" if bar.note else "")
        out.append(
            f'<g class="bar {escape(bar.css)}"{_attrs(data_label=bar.label, data_value=_plain(bar.value))}>'
            f"<title>{escape(text)}</title>"
            f'<text class="bar-label"{_attrs(x=label_w, y=y + bar_h * 0.72)}>{escape(_truncate(bar.label, 20))}</text>'
            f'<rect{_attrs(x=plot_x, y=y, width=max(w, 0.5), height=bar_h)} rx="2"/>'
            f'<text class="bar-value"{_attrs(x=plot_x + w + 5, y=y + bar_h * 0.72)}>{escape(fmt(bar.value))}</text>'
            "</g>")
    out.append("</svg>")
    return Markup("".join(out))


def _charts(summary: _Summary) -> list[dict[str, Any]]:
    def plural(n: int, noun: str) -> str:
        return f"{n} {noun}{'s' if n != 1 else ''}"

    teams = _fold([_Bar(team, cost, "team", plural(n, "asset")) for team, cost, n in summary.cost_by_team], "teams")
    stages = [_Bar(stage, cost, f"stage-{stage}", plural(n, "asset")) for stage, cost, n in summary.cost_by_stage]
    kinds = _fold([_Bar(kind, float(n), "kind") for kind, n in summary.count_by_kind], "kinds")
    return [
        {"title": "Monthly cost by team", "svg": _bar_chart(teams, chart="cost-by-team", axis="Monthly cost (USD)",
                                                             money=True)},
        {"title": "Monthly cost by stage", "svg": _bar_chart(stages, chart="cost-by-stage",
                                                              axis="Monthly cost (USD)", money=True)},
        {"title": "Assets by kind", "svg": _bar_chart(kinds, chart="count-by-kind", axis="Number of assets",
                                                       money=False)},
    ]


# ---------------------------------------------------------------------------------------------- pages


def _timestamp(generated_at: datetime | None) -> str:
    moment = generated_at or datetime.now(UTC)
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_html(assets: Sequence[AssetSpec], findings: Sequence[Finding], *, title: str = "AI footprint",
                generated_at: datetime | None = None) -> str:
    """The footprint report as one self-contained HTML page (no network access needed to view it).

    Args:
        assets: the footprint, in the order the inventory lists them.
        findings: what analysis found, in the order the findings table lists them.
        title: the page's heading.
        generated_at: when the report was made (defaults to now); fix it for reproducible output.

    Returns:
        The page. The same arguments always render the same string.

    Example::

        html = render_html(footprint.assets, findings, title="Acme AI footprint")
    """
    summary = _summarise(assets, findings)
    known = {asset.id for asset in assets}
    graph, compact = _graph_svg(assets, findings)
    flagged: dict[str, list[str]] = {}
    for finding in findings:
        for asset_id in dict.fromkeys(finding.assets):
            flagged.setdefault(asset_id, []).append(finding.severity)
    inventory = [
        {"asset": asset, "cost": _money(asset.monthly_cost), "owner": asset.owner or "—",
         "severity": next((s for s in SEVERITIES if s in flagged.get(asset.id, [])), ""),
         "findings": len(flagged.get(asset.id, []))}
        for asset in assets]
    return _environment().get_template("report.html.j2").render(
        title=title,
        generated=_timestamp(generated_at),
        summary=summary,
        total_cost=_money(summary.monthly_cost),
        annual_cost=_money(summary.monthly_cost * 12),
        severities=SEVERITIES,
        findings=findings,
        known=known,
        graph=graph,
        compact=compact,
        charts=_charts(summary),
        inventory=inventory,
        stages=STAGES,
    )


def _cell(value: object) -> str:
    """Markdown table cell: pipes and backslashes escaped, one line, no raw HTML tags."""
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> list[str]:
    """Lines of a Markdown table; ``align`` holds ``l`` or ``r`` per column."""
    rule = ["---:" if (align[i:i + 1] == "r") else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "| " + " | ".join(rule) + " |"]
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return lines


def render_markdown(assets: Sequence[AssetSpec], findings: Sequence[Finding], *, title: str = "AI footprint",
                    generated_at: datetime | None = None) -> str:
    """The footprint report as Markdown: totals, findings, cost by team and stage, inventory.

    Args:
        assets: the footprint, in the order the inventory lists them.
        findings: what analysis found, in the order the findings table lists them.
        title: the document's heading.
        generated_at: when the report was made (defaults to now); fix it for reproducible output.

    Example::

        text = render_markdown(footprint.assets, findings)
    """
    summary = _summarise(assets, findings)
    by_severity = ", ".join(f"{summary.findings[s]} {s}" for s in SEVERITIES)
    lines = [
        f"# {' '.join(title.split())}", "",
        f"Generated {_timestamp(generated_at)}", "",
        f"- Assets: {summary.assets}",
        f"- Teams: {summary.teams}",
        f"- Monthly cost: {_money(summary.monthly_cost)}",
        f"- Handoffs: {summary.handoffs}",
        f"- Findings: {len(findings)} ({by_severity})", "",
        "## Findings", "",
    ]
    if findings:
        lines += _table(["Severity", "Finding", "Assets", "Fix"],
                        ([f.severity, f.title, ", ".join(f.assets), f.fix or "—"] for f in findings))
    else:
        lines.append("No findings.")
    lines += ["", "## Monthly cost by team", ""]
    lines += _table(["Team", "Assets", "Monthly cost"],
                    [*([team, n, _money(cost)] for team, cost, n in summary.cost_by_team),
                     ["Total", summary.assets, _money(summary.monthly_cost)]], "lrr")
    lines += ["", "## Monthly cost by stage", ""]
    lines += _table(["Stage", "Assets", "Monthly cost"],
                    [*([stage, n, _money(cost)] for stage, cost, n in summary.cost_by_stage),
                     ["Total", summary.assets, _money(summary.monthly_cost)]], "lrr")
    lines += ["", "## Inventory", ""]
    lines += _table(["Id", "Name", "Kind", "Team", "Owner", "Stage", "Monthly cost", "Capabilities"],
                    ([a.id, a.name or "—", a.kind, a.team, a.owner or "—", a.stage, _money(a.monthly_cost),
                      ", ".join(a.capabilities) or "—"] for a in assets), "llllllrl")
    return "\n".join(lines) + "\n"
