"""The footprint report: a self-contained HTML page and a Markdown document that add up."""

from __future__ import annotations

import math
import random
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from baton.catalog.model import Finding
from baton.catalog.report import render_html, render_markdown
from baton.spec.loader import load_footprint
from baton.spec.models import AssetSpec

FOOTPRINT = Path(__file__).parents[2] / "examples" / "demo" / "footprint.yaml"
WHEN = datetime(2025, 5, 1, 9, 30, tzinfo=UTC)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

FINDINGS = [
    Finding("overlap", "high", "Three lead scorers in two teams cost $2,150 a month.",
            ("hubspot-lead-scoring", "clay-gpt-lead-scorer", "lead-propensity-notebook"),
            {"shared_capabilities": ["lead-scoring"]}, "Retire two; lead-qualification replaces them."),
    Finding("handoff-without-contract", "high", "Marketing hands leads to operations with no contract.",
            ("clay-gpt-lead-scorer", "salesforce-einstein"), {}, "Add schemas/lead-score.json as the contract."),
    Finding("handoff-cycle", "medium", "Regie and Outreach feed each other | forever.",
            ("regie-sequence-writer", "outreach-reply-classifier"), {}, "Stop re-sequencing after two rounds."),
    Finding("unowned-asset", "medium", "Website chat has no owner.", ("website-faq-bot",), {}, "Name an owner."),
    Finding("manual-chain", "low", "The forecast ends in a spreadsheet cleaned by hand.",
            ("lead-propensity-notebook", "pipeline-forecast-sheet"),
            {"edges": [["lead-propensity-notebook", "pipeline-forecast-sheet"]]}, "Write the scores to a table."),
]


class Page(HTMLParser):
    """Checks that tags balance and collects attributes of every element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, attribute: str, value: str | None = None) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.elements
                if attribute in attrs and (value is None or attrs[attribute] == value)]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.errors == []
    assert page.stack == []
    return page


@pytest.fixture(scope="module")
def assets() -> list[AssetSpec]:
    return list(load_footprint(FOOTPRINT).assets)


@pytest.fixture(scope="module")
def html(assets: list[AssetSpec]) -> str:
    return render_html(assets, FINDINGS, title="Acme AI footprint", generated_at=WHEN)


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    return parse(html)


def test_the_page_is_well_formed_and_every_svg_is_xml(html: str, page: Page) -> None:
    assert html.startswith("<!DOCTYPE html>")
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) >= 4  # the graph and three charts
    for svg in svgs:
        ET.fromstring(svg)  # raises on unbalanced or unescaped SVG


def test_the_page_loads_nothing_from_the_network(html: str, page: Page) -> None:
    for tag, attrs in page.elements:
        for name in ("src", "href", "xlink:href", "action", "poster", "data"):
            assert not attrs.get(name, "").lower().lstrip().startswith(("http:", "https:", "//")), (tag, attrs)
        assert tag not in {"script", "link", "img", "iframe", "object", "embed"}, tag
    assert "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)


def test_header_shows_title_time_and_totals(assets: list[AssetSpec], page: Page) -> None:
    text = " ".join(" ".join(page.text).split())
    assert "Acme AI footprint" in text
    assert "Generated 2025-05-01 09:30 UTC" in text
    total = sum(a.monthly_cost for a in assets)
    assert total == 14593
    assert "Assets 25" in text
    assert "Teams 7" in text
    assert "Monthly cost $14,593" in text
    assert [attrs["data-severity-count"] for attrs in page.having("data-severity-count")] == ["high", "medium", "low"]
    assert "2 high" in text and "2 medium" in text and "1 low" in text


def test_graph_has_one_node_per_asset_and_one_edge_per_handoff(assets: list[AssetSpec], page: Page) -> None:
    asset_nodes = [attrs["data-node"] for attrs in page.having("data-node-type", "asset")]
    assert asset_nodes == [a.id for a in assets]
    edges = [(attrs["data-from"], attrs["data-to"]) for attrs in page.having("data-edge")]
    assert edges == [(a.id, target) for a in assets for target in a.feeds]
    assert len(edges) == 15
    # targets that are not assets (the Baton workflows) are drawn in their own cluster
    external = sorted(attrs["data-node"] for attrs in page.having("data-node-type", "external"))
    assert external == ["campaign-drafting", "lead-qualification", "support-routing"]
    teams = [attrs["data-team"] for attrs in page.having("data-team")]
    assert teams == ["marketing", "sales", "support", "operations", "finance", "hr", "engineering",
                     "external / workflows"]


def test_graph_highlights_what_the_findings_touch(page: Page) -> None:
    nodes = {attrs["data-node"]: attrs for attrs in page.having("data-node")}
    flagged = {key for key, attrs in nodes.items() if "flagged" in attrs["class"].split()}
    assert flagged == {asset for finding in FINDINGS for asset in finding.assets}
    overlap = {key for key, attrs in nodes.items() if "overlap" in attrs["class"].split()}
    assert overlap == {"hubspot-lead-scoring", "clay-gpt-lead-scorer", "lead-propensity-notebook"}
    assert nodes["website-faq-bot"]["data-findings"] == "3"
    assert nodes["website-faq-bot"]["data-severity"] == "medium"
    assert nodes["clay-gpt-lead-scorer"]["data-findings"] == "0 1"
    assert nodes["clay-gpt-lead-scorer"]["data-severity"] == "high"
    assert "data-findings" not in nodes["github-copilot"]

    edges = {(attrs["data-from"], attrs["data-to"]): attrs for attrs in page.having("data-edge")}
    flagged_edges = {pair for pair, attrs in edges.items() if "flagged" in attrs["class"].split()}
    assert flagged_edges == {
        ("clay-gpt-lead-scorer", "salesforce-einstein"),
        ("regie-sequence-writer", "outreach-reply-classifier"),
        ("outreach-reply-classifier", "regie-sequence-writer"),
        ("lead-propensity-notebook", "pipeline-forecast-sheet"),  # named in the evidence
    }
    dashed = {pair for pair, attrs in edges.items() if "no-contract" in attrs["class"].split()}
    assert dashed == {("clay-gpt-lead-scorer", "salesforce-einstein")}
    assert edges[("clay-gpt-lead-scorer", "salesforce-einstein")]["marker-end"] == "url(#fp-arrow-flagged)"
    assert edges[("gong-call-summaries", "hubspot-lead-scoring")]["marker-end"] == "url(#fp-arrow)"


def test_nodes_carry_a_tooltip_with_owner_cost_and_stage(html: str) -> None:
    match = re.search(r'data-node="website-faq-bot"[^>]*><title>(.*?)</title>', html, re.S)
    assert match
    tooltip = match.group(1)
    assert "owner —" in tooltip and "$500/month" in tooltip and "production" in tooltip
    assert "Website chat has no owner." in tooltip


def test_graph_layout_keeps_nodes_inside_their_team_and_apart(html: str) -> None:
    graph = ET.fromstring(re.search(r'<svg class="graph.*?</svg>', html, re.S).group(0))  # type: ignore[union-attr]
    boxes = {}
    for cluster in graph.iter("g"):
        if "data-team" in cluster.attrib:
            rect = cluster.find("rect")
            assert rect is not None
            boxes[cluster.attrib["data-team"]] = [float(rect.attrib[k]) for k in ("x", "y", "width", "height")]
    circles = []
    for node in graph.iter("g"):
        if node.attrib.get("data-node-type") == "asset":
            shape = next(c for c in node.iter("circle") if c.attrib["class"] == "shape")
            circles.append((float(shape.attrib["cx"]), float(shape.attrib["cy"]), float(shape.attrib["r"])))
    assert len(circles) == 25
    for i, (x1, y1, r1) in enumerate(circles):
        for x2, y2, r2 in circles[i + 1:]:
            assert math.hypot(x1 - x2, y1 - y2) > r1 + r2
    teams = list(boxes.values())
    for i, (x1, y1, w1, h1) in enumerate(teams):
        for x2, y2, w2, h2 in teams[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1  # clusters never overlap


def chart_bars(page: Page, chart: str) -> dict[str, float]:
    """Label and value of each bar of one chart."""
    found: dict[str, float] = {}
    in_chart = False
    for tag, attrs in page.elements:
        if tag == "svg":
            in_chart = attrs.get("data-chart") == chart
        elif in_chart and "data-value" in attrs:
            found[attrs["data-label"]] = float(attrs["data-value"])
    return found


def test_cost_charts_add_up(assets: list[AssetSpec], page: Page) -> None:
    def bars(chart: str) -> dict[str, float]:
        return chart_bars(page, chart)

    by_team: dict[str, float] = defaultdict(float)
    by_stage: dict[str, float] = defaultdict(float)
    for asset in assets:
        by_team[asset.team] += asset.monthly_cost
        by_stage[asset.stage] += asset.monthly_cost
    assert bars("cost-by-team") == dict(by_team)
    assert list(bars("cost-by-team")) == sorted(by_team, key=lambda team: -by_team[team])  # biggest first
    assert bars("cost-by-stage") == {"experiment": 260, "pilot": 599, "production": 13734}
    assert bars("cost-by-stage") == dict(by_stage)
    assert bars("count-by-kind") == dict(Counter(a.kind for a in assets))


def test_chart_values_and_axes_are_labelled_in_dollars(html: str) -> None:
    team_chart = re.search(r'<svg class="chart" data-chart="cost-by-team".*?</svg>', html, re.S)
    assert team_chart
    chart = team_chart.group(0)
    assert '<text class="bar-value" x="' in chart and ">$5,160</text>" in chart  # sales
    assert ">$0</text>" in chart and ">Monthly cost (USD)</text>" in chart


def test_findings_table_keeps_the_given_order(page: Page, html: str) -> None:
    rows = page.having("data-finding")
    assert [row["data-kind"] for row in rows] == [f.kind for f in FINDINGS]
    assert '<span class="badge high">high</span>' in html
    assert "Add schemas/lead-score.json as the contract." in html


def test_inventory_lists_every_asset_with_owner_or_dash(assets: list[AssetSpec], html: str) -> None:
    rows = re.findall(r'<tr id="asset-([a-z0-9_-]+)"(.*?)</tr>', html, re.S)
    assert [row[0] for row in rows] == [a.id for a in assets]
    faq = dict(rows)["website-faq-bot"]
    assert "<td>—</td>" in faq and "$500" in faq and "website-chat, demo-booking" in faq
    assert 'class="flagged sev-medium"' in faq


def test_user_text_is_escaped(assets: list[AssetSpec]) -> None:
    evil = "<script>alert(1)</script>"
    hostile = [assets[0].model_copy(update={"name": evil, "team": "a&b <i>", "feeds": ['wf"><b>x']}), *assets[1:]]
    finding = Finding("overlap", "high", evil, (assets[0].id,), {}, fix=evil)
    html = render_html(hostile, [finding], title=evil, generated_at=WHEN)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x" not in html and "<i>" not in html
    page = parse(html)
    assert "wf\"><b>x" in {attrs["data-node"] for attrs in page.having("data-node")}
    for svg in re.findall(r"<svg\b.*?</svg>", html, re.S):
        ET.fromstring(svg)


def test_output_is_deterministic(assets: list[AssetSpec], html: str) -> None:
    assert render_html(list(assets), list(FINDINGS), title="Acme AI footprint", generated_at=WHEN) == html
    once = render_markdown(assets, FINDINGS, generated_at=WHEN)
    assert render_markdown(assets, FINDINGS, generated_at=WHEN) == once


def test_no_findings_and_no_assets_still_render() -> None:
    html = render_html([], [], generated_at=WHEN)
    parse(html)
    assert "No findings." in html
    assert "No findings." in render_markdown([], [], generated_at=WHEN)


def table(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the table under ``## heading``, cells split on unescaped pipes."""
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines[2:]]


def test_markdown_totals_and_tables(assets: list[AssetSpec]) -> None:
    markdown = render_markdown(assets, FINDINGS, title="Acme AI footprint", generated_at=WHEN)
    assert markdown.startswith("# Acme AI footprint\n\nGenerated 2025-05-01 09:30 UTC\n")
    for line in ("- Assets: 25", "- Teams: 7", "- Monthly cost: $14,593", "- Handoffs: 15",
                 "- Findings: 5 (2 high, 2 medium, 1 low)"):
        assert line in markdown.splitlines()

    findings = table(markdown, "Findings")
    assert [row[0] for row in findings] == [f.severity for f in FINDINGS]
    assert findings[2][1] == "Regie and Outreach feed each other | forever."  # the pipe is escaped, not a column
    assert findings[0][2] == "hubspot-lead-scoring, clay-gpt-lead-scorer, lead-propensity-notebook"

    teams = table(markdown, "Monthly cost by team")
    assert teams[0] == ["sales", "6", "$5,160"]
    assert teams[-1] == ["Total", "25", "$14,593"]
    assert sum(int(row[2].strip("$").replace(",", "")) for row in teams[:-1]) == 14593
    stages = table(markdown, "Monthly cost by stage")
    assert stages == [["experiment", "1", "$260"], ["pilot", "2", "$599"], ["production", "22", "$13,734"],
                      ["Total", "25", "$14,593"]]

    inventory = table(markdown, "Inventory")
    assert [row[0] for row in inventory] == [a.id for a in assets]
    faq = next(row for row in inventory if row[0] == "website-faq-bot")
    assert faq == ["website-faq-bot", "Website chat (Drift)", "chatbot", "marketing", "—", "production", "$500",
                   "website-chat, demo-booking"]


def test_markdown_escapes_pipes_and_html(assets: list[AssetSpec]) -> None:
    odd = assets[0].model_copy(update={"name": "A | B\nC <b>", "capabilities": ["x|y"]})
    markdown = render_markdown([odd], [], generated_at=WHEN)
    row = next(line for line in markdown.splitlines() if line.startswith(f"| {odd.id} "))
    assert "A \\| B C &lt;b&gt;" in row and "x\\|y" in row
    assert len(re.split(r"(?<!\\)\|", row)) == 10  # eight cells, nothing split by the pipes inside them


def synthetic(count: int, edges: int, teams: int) -> list[AssetSpec]:
    rng = random.Random(7)
    kinds = ["agent", "assistant", "chatbot", "automation", "model", "content-tool"]
    stages = ["experiment", "pilot", "production", "retired"]
    feeds: dict[int, list[str]] = {i: [] for i in range(count)}
    for _ in range(edges):
        source = rng.randrange(count)
        target = f"asset-{rng.randrange(count)}" if rng.random() < 0.95 else f"workflow-{rng.randrange(40)}"
        feeds[source].append(target)
    return [AssetSpec(id=f"asset-{i}", name=f"Asset number {i}", kind=rng.choice(kinds),
                      team=f"team-{i % teams}", owner=None if i % 9 == 0 else f"owner{i}@example.com",
                      purpose="synthetic", capabilities=[f"cap-{i % 50}"], monthly_cost=rng.randrange(0, 5000),
                      stage=rng.choice(stages), feeds=feeds[i])
            for i in range(count)]


def test_a_large_footprint_renders_compactly() -> None:
    assets = synthetic(2000, 6000, 37)
    findings = [Finding("overlap", "medium", f"Overlap {i}", (f"asset-{i}", f"asset-{i + 1}"))
                for i in range(0, 200, 2)]
    html = render_html(assets, findings, generated_at=WHEN)
    assert len(html.encode()) < 5_000_000
    page = parse(html)
    assert len(page.having("data-node-type", "asset")) == 2000
    assert len(page.having("data-edge")) == 6000
    graph = re.search(r'<svg class="graph compact".*?</svg>', html, re.S)
    assert graph
    ET.fromstring(graph.group(0))
    assert 'class="label"' not in graph.group(0)  # no labels at this size, tooltips only
    bars = chart_bars(page, "cost-by-team")
    assert len(bars) == 20 and "18 other teams" in bars  # 37 teams: the smallest folded into one bar
    assert sum(bars.values()) == sum(a.monthly_cost for a in assets)  # whole dollars: exact
    markdown = render_markdown(assets, findings, generated_at=WHEN)
    assert f"- Monthly cost: ${sum(a.monthly_cost for a in assets):,.0f}" in markdown


def test_self_handoffs_and_repeated_targets_are_drawn(assets: list[AssetSpec]) -> None:
    looping = assets[0].model_copy(update={"feeds": [assets[0].id, "wf", "wf"], "monthly_cost": 12345.5})
    page = parse(html := render_html([looping, assets[1]], [], generated_at=WHEN))
    assert [(a["data-from"], a["data-to"]) for a in page.having("data-edge")] == [
        (looping.id, looping.id), (looping.id, "wf"), (looping.id, "wf")]
    assert [a["data-node"] for a in page.having("data-node-type", "external")] == ["wf"]
    assert chart_bars(page, "cost-by-team") == {"marketing": 12345.5 + assets[1].monthly_cost}
    for svg in re.findall(r"<svg\b.*?</svg>", html, re.S):
        ET.fromstring(svg)
