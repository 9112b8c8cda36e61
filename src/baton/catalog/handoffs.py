"""Handoffs: the directed graph of ``feeds`` and what is weak about it.

Nodes are assets, Baton workflows and anything else a ``feeds`` list names (marked ``external``);
an edge ``a → b`` means asset ``a`` hands work to ``b``. Retired assets stay as nodes (something may
still point at them) but their own feeds are ignored: they no longer run.

Findings: ``handoff-without-contract``, ``cross-team-without-review``, ``handoff-without-owner``,
``manual-cleanup``, ``cycle`` and ``single-point-of-failure``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import networkx as nx

from baton.catalog.model import UNASSIGNED_TEAM, Finding, Severity
from baton.catalog.overlap import join_words, number_word, plural, total_cost
from baton.spec.models import AssetSpec, HumanStep, WorkflowSpec

NodeKind = Literal["asset", "workflow", "external"]
_CHAIN_HOPS = 6  # how far upstream a manual-cleanup chain is traced
_CYCLE_BUDGET = 2_000_000  # edge visits the loop search may spend before it stops
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def feed_graph(assets: Mapping[str, AssetSpec], workflows: Mapping[str, WorkflowSpec]) -> Any:
    """A ``networkx.DiGraph``: node attributes ``kind``, ``team`` and ``owner``; one edge per distinct feed."""
    graph = nx.DiGraph()
    for asset in assets.values():
        graph.add_node(asset.id, kind="asset", team=asset.team, owner=asset.owner or None)
    for name, workflow in workflows.items():
        if name not in graph:
            graph.add_node(name, kind="workflow", team=workflow.team, owner=workflow.owner or None)
    for asset in assets.values():
        if asset.stage == "retired":
            continue
        for target in asset.feeds:
            if target not in graph:
                graph.add_node(target, kind="external", team=None, owner=None)
            graph.add_edge(asset.id, target)
    return graph


def handoff_findings(
    graph: Any,
    assets: Mapping[str, AssetSpec],
    workflows: Mapping[str, WorkflowSpec],
    *,
    sensitive_data: Sequence[str],
    manual_cleanup_phrases: Sequence[str],
    spof_min_feeders: int,
    max_cycles: int,
    max_cycle_length: int,
) -> list[Finding]:
    """Every handoff finding of the graph."""
    findings: list[Finding] = []
    for source, target in graph.edges:
        findings.extend(_edge_findings(graph, assets[source], target, assets, workflows, sensitive_data))
    findings.extend(_manual_cleanup(graph, assets, manual_cleanup_phrases))
    findings.extend(_cycles(graph, assets, max_cycles, max_cycle_length))
    findings.extend(_single_points_of_failure(graph, assets, spof_min_feeders))
    return findings


def _team(graph: Any, node: str) -> str | None:
    team: str | None = graph.nodes[node]["team"]
    return None if team in (None, "", UNASSIGNED_TEAM) else team


def _edge_findings(
    graph: Any,
    source: AssetSpec,
    target: str,
    assets: Mapping[str, AssetSpec],
    workflows: Mapping[str, WorkflowSpec],
    sensitive_data: Sequence[str],
) -> list[Finding]:
    found: list[Finding] = []
    kind: NodeKind = graph.nodes[target]["kind"]
    source_team, target_team = _team(graph, source.id), _team(graph, target)
    crosses = source_team is not None and target_team is not None and source_team != target_team
    involved = [source, *([assets[target]] if kind == "asset" else [])]
    edge = {"monthly_cost": total_cost([source]), "edge": [source.id, target], "teams": [source_team, target_team]}
    if crosses and not source.contract:
        sensitive = [d for d in source.data if any(word in d.lower() for word in sensitive_data)]
        severity: Severity = "high" if sensitive else "medium"
        what = f"{join_words(sensitive)} data" if sensitive else "work"
        found.append(Finding(
            kind="handoff-without-contract", severity=severity,
            title=f"{source.id} ({source_team}) hands {what} to {target} ({target_team}) with no agreed format",
            assets=tuple(a.id for a in involved),
            evidence=edge | {"data": list(source.data), "sensitive_data": sensitive},
            fix=(f"Agree a contract (a JSON Schema) for what {source.id} sends to {target}, set it as "
                 f"{source.id}'s contract, and let {target_team} reject records that break it.")))
    if kind == "workflow" and crosses:
        workflow = workflows[target]
        if not any(isinstance(step, HumanStep) for step in workflow.all_steps()):
            found.append(Finding(
                kind="cross-team-without-review", severity="medium",
                title=(f"{source.id} ({source_team}) feeds the Baton workflow {target} ({target_team}), "
                       f"and no person reviews what comes out"),
                assets=(source.id,), evidence=edge | {"workflow": target},
                fix=f"Add a human step to {target} (at least for low-confidence or high-value items)."))
    # An unowned asset (either end) already has its own unowned-asset finding; only the rest is said here.
    if kind != "asset" and (kind == "external" or not graph.nodes[target]["owner"]):
        where = "is not in the footprint, so nobody is known to own it" if kind == "external" else "has no owner"
        found.append(Finding(
            kind="handoff-without-owner", severity="low",
            title=f"{source.id} hands work to {target}, which {where}",
            assets=(source.id,), evidence=edge | {"target_kind": kind},
            fix=f"Add {target} to the footprint with an owner, or stop {source.id} handing work to it."))
    return found


def _manual_cleanup(graph: Any, assets: Mapping[str, AssetSpec], phrases: Sequence[str]) -> list[Finding]:
    found = []
    lowered = [p.lower() for p in phrases]
    for asset in assets.values():
        if asset.stage == "retired" or graph.in_degree(asset.id) == 0:
            continue
        sentences = [s for text in (asset.purpose, asset.notes) for s in _SENTENCE.split(text.strip()) if s]
        matched = [p for p, low in zip(phrases, lowered, strict=True) if any(low in s.lower() for s in sentences)]
        if not matched:
            continue
        chain = _upstream_chain(graph, asset.id)
        quote = next(s for s in sentences if any(low in s.lower() for low in lowered))
        involved = [assets[n] for n in chain if n in assets]
        if len(chain) == 2:
            title = f"Work handed from {chain[0]} to {chain[1]} still ends in manual cleanup"
        else:
            title = f"Work handed along {' → '.join(chain)} still ends in manual cleanup at {asset.id}"
        found.append(Finding(
            kind="manual-cleanup", severity="medium", title=title, assets=tuple(chain),
            evidence={"monthly_cost": total_cost(involved), "chain": chain, "matched": matched,
                      "fed_by": sorted(graph.predecessors(asset.id)), "quote": quote.strip()},
            fix=(f"Replace the manual step at {asset.id} with a Baton workflow that takes "
                 f"{chain[-2]}'s output under a contract, cleans it in code and routes exceptions to a person.")))
    return found


def _upstream_chain(graph: Any, node: str) -> list[str]:
    """The longest shortest-path into ``node`` (within a few hops), from its farthest source to ``node``."""
    reverse = graph.reverse(copy=False)
    distances = nx.single_source_shortest_path_length(reverse, node, cutoff=_CHAIN_HOPS)
    farthest = min(distances, key=lambda n: (-distances[n], n))
    path: list[str] = nx.shortest_path(graph, farthest, node)
    return path


def _cycles(graph: Any, assets: Mapping[str, AssetSpec], limit: int, max_length: int) -> list[Finding]:
    """Up to ``limit`` simple cycles of at most ``max_length`` tools, shortest first, in a stable order."""
    cycles, complete = find_cycles(graph, limit=limit, max_length=max_length)
    found = []
    for cycle in cycles:
        loop = " → ".join([*cycle, cycle[0]])
        if len(cycle) == 1:
            title = f"{cycle[0]} hands work back to itself in a loop"
        elif len(cycle) == 2:
            title = f"{cycle[0]} and {cycle[1]} hand work back and forth in a loop"
        else:
            title = f"{number_word(len(cycle)).capitalize()} tools hand work round in a loop ({loop})"
        involved = [assets[n] for n in cycle if n in assets]
        found.append(Finding(
            kind="cycle", severity="medium", title=title, assets=tuple(cycle),
            evidence={"monthly_cost": total_cost(involved), "cycle": [*cycle, cycle[0]], "search_complete": complete},
            fix=("Decide which tool owns the item and break the loop: stop one of these handoffs, or cap "
                 "how many times an item may go round before a person decides.")))
    return found


def _single_points_of_failure(graph: Any, assets: Mapping[str, AssetSpec], minimum: int) -> list[Finding]:
    found = []
    for node in graph.nodes:
        kind: NodeKind = graph.nodes[node]["kind"]
        feeders = sorted(graph.predecessors(node))
        if kind == "workflow" or len(feeders) < minimum:
            continue
        asset = assets.get(node)
        production = asset is not None and asset.stage == "production"
        involved = [assets[f] for f in feeders] + ([asset] if asset else [])
        count = len(feeders)
        title = (f"{plural(count, 'tool')} hand work to {node}; if it stops, "
                 f"{'all ' + number_word(count) if count > 2 else 'both'} stop")
        cost = total_cost(involved)
        found.append(Finding(
            kind="single-point-of-failure", severity="high" if production else "medium", title=title,
            assets=(node, *feeders),
            evidence={"monthly_cost": cost, "target": node, "feeders": feeders, "target_kind": kind,
                      "stage": asset.stage if asset else None, "owner": asset.owner if asset else None,
                      "feeders_monthly_cost": total_cost(assets[f] for f in feeders)},
            fix=(f"Give {node} a named backup owner and monitoring, and move the {number_word(count)} feeds "
                 f"onto contracted Baton workflows that queue and retry work while it is down.")))
    return found


def find_cycles(
    graph: Any, *, limit: int, max_length: int, budget: int = _CYCLE_BUDGET
) -> tuple[list[list[str]], bool]:
    """Simple cycles, shortest first, each starting at its smallest node; and whether the search finished.

    Iterative deepening over lengths 1..``max_length`` inside strongly connected components; each
    cycle is found once, from its smallest node, through larger nodes only. The search stops at
    ``limit`` cycles or after ``budget`` edge visits (``networkx.simple_cycles`` recomputes components
    per start node, which is far too slow on a 10,000-node graph with one large component).
    """
    names = sorted(graph.nodes)
    number = {name: i for i, name in enumerate(names)}
    component: dict[int, int] = {}
    for label, members in enumerate(nx.strongly_connected_components(graph)):
        component.update({number[m]: label for m in members})
    successors: dict[int, list[int]] = {}
    for source, target in graph.edges:
        a, b = number[source], number[target]
        if component[a] == component[b]:
            successors.setdefault(a, []).append(b)
    for targets in successors.values():
        targets.sort()
    closing = {node: set(targets) for node, targets in successors.items()}
    found: list[list[str]] = []
    visits = 0
    for length in range(1, max_length + 1):
        for start in sorted(successors):
            if len(found) >= limit:
                return found, False
            path, on_path = [start], {start}
            stack = [iter(successors[start])] if length > 1 else []
            if length == 1 and start in closing[start]:
                found.append([names[start]])
            while stack:
                visits += 1
                if visits > budget:
                    return found, False
                step = next(stack[-1], None)
                if step is None:
                    stack.pop()
                    on_path.discard(path.pop())
                    continue
                if step <= start or step in on_path:
                    continue
                path.append(step)
                if len(path) == length:
                    if start in closing.get(step, ()):
                        found.append([names[n] for n in path])
                        if len(found) >= limit:
                            return found, False
                    path.pop()
                else:
                    on_path.add(step)
                    stack.append(iter(successors.get(step, ())))
    return found, True
