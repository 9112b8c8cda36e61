"""Overlap: groups of assets that do the same job, and what they cost together.

Two assets are scored on three signals, each in ``[0, 1]``:

- *purpose*: cosine similarity of TF-IDF vectors of ``name + purpose + notes`` (English stop words
  removed; the vectoriser is fitted on every asset analysed, so rare words weigh more);
- *capabilities*: Jaccard overlap of the ``capabilities`` lists;
- *data*: Jaccard overlap of the ``data`` lists.

The combined score is their weighted sum. Pairs at or above the threshold are joined into groups
(connected components), so every asset belongs to at most one group.

Scale: the pairwise scores are computed block by block (a few hundred rows against the remaining
columns, upper triangle only) with sparse matrix products, so 10,000 assets never need a dense
10,000 by 10,000 matrix, and no Python loop runs per pair, only per hit.

This module also holds the wording helpers every analysis uses (money, counts, lists of names).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from baton.catalog.model import Finding, Severity
from baton.spec.models import AssetSpec, WorkflowSpec

_BLOCK_CELLS = 4_000_000  # rows x columns scored at once (a few tens of MB per array)
_DENSE_CELLS = 20_000_000  # features x assets below which a transposed matrix is kept dense
_EPSILON = 1e-6  # float32 rounding slack when comparing with the threshold
_SPLIT_STEP = 0.05  # threshold increase when an oversized group is cut again
_MAX_PAIRS_SHOWN = 50  # pairwise scores kept as evidence per group
_WORKFLOW_HOPS = 3  # how far downstream a group's handoffs are followed to find a Baton workflow
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "eleven", "twelve")


# ------------------------------------------------------------------------------------------ wording


def money(amount: float) -> str:
    """``2150`` → ``$2,150``; ``1023.5`` → ``$1,023.50``."""
    if math.isclose(amount, round(amount)):
        return f"${round(amount):,}"
    return f"${amount:,.2f}"


def number_word(count: int) -> str:
    """``6`` → ``six``; above twelve, digits with thousands separators."""
    return _NUMBER_WORDS[count] if 0 <= count < len(_NUMBER_WORDS) else f"{count:,}"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 tool``, ``3 tools``, ``12,000 tools``."""
    word = singular if count == 1 else (many or f"{singular}s")
    return f"{count:,} {word}"


def join_words(items: Iterable[str]) -> str:
    """``a``; ``a and b``; ``a, b and c``."""
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def total_cost(assets: Iterable[AssetSpec]) -> float:
    """Combined monthly cost, as an int when it is whole (so evidence reads 2150, not 2150.0)."""
    amount = sum(a.monthly_cost for a in assets)
    return int(amount) if float(amount).is_integer() else round(float(amount), 2)


# ------------------------------------------------------------------------------------------ scoring


@dataclass(frozen=True)
class PairScore:
    """How alike two assets (indexes into the analysed sequence) are, overall and per signal."""

    first: int
    second: int
    score: float
    purpose: float
    capabilities: float
    data: float


def score_pairs(
    assets: Sequence[AssetSpec],
    *,
    purpose_weight: float,
    capability_weight: float,
    data_weight: float,
    threshold: float,
    max_neighbours: int | None = None,
) -> list[PairScore]:
    """Every pair ``first < second`` whose combined score reaches ``threshold``, in index order.

    With ``max_neighbours``, each asset keeps only its most similar partners further down the list:
    a footprint with a thousand copies of one tool then yields thousands of pairs, not half a million,
    and still joins them all into one group.
    """
    n = len(assets)
    if n < 2:
        return []
    text = _tfidf([" ".join((a.name, a.purpose, a.notes)) for a in assets]) if purpose_weight > 0 else None
    capabilities = _binary([a.capabilities for a in assets]) if capability_weight > 0 else None
    data = _binary([a.data for a in assets]) if data_weight > 0 else None
    block = max(1, min(n, _BLOCK_CELLS // n))
    found: list[PairScore] = []
    for start in range(0, n, block):
        stop = min(n, start + block)
        shape = (stop - start, n - start)
        cosine = text.block(start, stop) if text else np.zeros(shape, dtype=np.float32)
        capability = capabilities.jaccard(start, stop) if capabilities else np.zeros(shape, dtype=np.float32)
        shared_data = data.jaccard(start, stop) if data else np.zeros(shape, dtype=np.float32)
        combined = purpose_weight * cosine + capability_weight * capability + data_weight * shared_data
        rows = np.arange(start, stop)[:, None]
        columns = np.arange(start, n)[None, :]
        combined[columns <= rows] = -1.0  # each pair once, never an asset with itself
        if max_neighbours is not None and combined.shape[1] > max_neighbours:
            # Keep exactly each row's k best columns (ties broken arbitrarily but deterministically).
            best = np.argpartition(combined, -max_neighbours, axis=1)[:, -max_neighbours:]
            keep = np.zeros(combined.shape, dtype=bool)
            np.put_along_axis(keep, best, True, axis=1)
            combined[~keep] = -1.0
        for row, column in np.argwhere(combined >= threshold - _EPSILON):
            found.append(PairScore(
                first=start + int(row), second=start + int(column), score=float(combined[row, column]),
                purpose=float(cosine[row, column]), capabilities=float(capability[row, column]),
                data=float(shared_data[row, column])))
    return found


class _Gram:
    """Row-block products ``M[start:stop] @ M[start:].T`` of a sparse matrix, dense when affordable."""

    def __init__(self, matrix: Any) -> None:
        self.matrix = matrix.tocsr()
        n, features = self.matrix.shape
        self.dense_t = self.matrix.T.toarray() if n * features <= _DENSE_CELLS else None
        self.sizes = np.diff(self.matrix.indptr).astype(np.float32)

    def block(self, start: int, stop: int) -> np.ndarray[Any, Any]:
        rows = self.matrix[start:stop]
        if self.dense_t is not None:
            return np.asarray(rows @ self.dense_t[:, start:], dtype=np.float32)
        return np.asarray((rows @ self.matrix[start:].T).toarray(), dtype=np.float32)

    def jaccard(self, start: int, stop: int) -> np.ndarray[Any, Any]:
        """Shared / combined items of the binary rows (0 when both are empty)."""
        shared = self.block(start, stop)
        union = self.sizes[start:stop, None] + self.sizes[None, start:] - shared
        ratio: np.ndarray[Any, Any] = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
        return ratio


def _tfidf(texts: list[str]) -> _Gram | None:
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32)
    try:
        return _Gram(vectorizer.fit_transform(texts))
    except ValueError:  # empty vocabulary: every text is blank or stop words only
        return None


def _identity(items: list[str]) -> list[str]:
    return items


def _binary(lists: list[list[str]]) -> _Gram | None:
    vectorizer = CountVectorizer(analyzer=_identity, binary=True, dtype=np.float32)
    try:
        return _Gram(vectorizer.fit_transform(lists))
    except ValueError:  # nobody lists any
        return None


# ------------------------------------------------------------------------------------------ findings


def overlap_findings(
    assets: Sequence[AssetSpec],
    *,
    graph: Any,
    workflows: Mapping[str, WorkflowSpec],
    purpose_weight: float,
    capability_weight: float,
    data_weight: float,
    threshold: float,
    max_group_size: int,
) -> list[Finding]:
    """One ``overlap`` finding per group of assets doing the same job (retired assets excluded)."""
    live = [a for a in assets if a.stage != "retired"]
    pairs = score_pairs(live, purpose_weight=purpose_weight, capability_weight=capability_weight,
                        data_weight=data_weight, threshold=threshold, max_neighbours=max_group_size)
    findings = []
    for members, group_pairs in split_groups(pairs, threshold=threshold, max_size=max_group_size):
        findings.append(_group_finding([live[i] for i in members], group_pairs, live, graph, workflows))
    return findings


def split_groups(
    pairs: list[PairScore], *, threshold: float, max_size: int
) -> list[tuple[list[int], list[PairScore]]]:
    """Connected components of the pairs, each with its pairs; a component above ``max_size`` is split.

    In a large footprint weak links chain unrelated assets into one huge component (A is like B, B is
    like C, ...). Such a component is cut again with its threshold raised by ``_SPLIT_STEP`` until every
    part fits; assets left without a partner drop out. A component whose links would all be cut is
    kept whole: its members really are alike (forty copies of the same assistant, say).
    """
    groups: list[tuple[list[int], list[PairScore]]] = []
    pending = [(pairs, threshold)]
    while pending:
        links, floor = pending.pop()
        for component, own in _components(links):
            raised = floor + _SPLIT_STEP
            if len(component) <= max_size or all(p.score < raised - _EPSILON for p in own):
                groups.append((component, own))
            else:
                pending.append(([p for p in own if p.score >= raised - _EPSILON], raised))
    return sorted(groups, key=lambda group: group[0])


def _components(links: list[PairScore]) -> list[tuple[list[int], list[PairScore]]]:
    """Connected components of the pairs' graph: (sorted members, their pairs in the given order).

    scipy's C labelling, not a Python graph: splitting a big footprint relabels it hundreds of times.
    """
    if not links:
        return []
    ends = np.fromiter((end for p in links for end in (p.first, p.second)), dtype=np.int64, count=2 * len(links))
    nodes, index = np.unique(ends, return_inverse=True)
    edges = sparse.coo_matrix((np.ones(len(links), dtype=np.int8), (index[0::2], index[1::2])),
                              shape=(len(nodes), len(nodes)))
    _, labels = csgraph.connected_components(edges, directed=False)
    members: dict[int, list[int]] = {}
    for node, label in zip(nodes.tolist(), labels.tolist(), strict=True):
        members.setdefault(label, []).append(node)
    own: dict[int, list[PairScore]] = {}
    for pair, label in zip(links, labels[index[0::2]].tolist(), strict=True):
        own.setdefault(label, []).append(pair)
    return [(members[label], own[label]) for label in members]  # nodes come sorted from np.unique


def _group_finding(
    members: list[AssetSpec],
    pairs: list[PairScore],
    live: Sequence[AssetSpec],
    graph: Any,
    workflows: Mapping[str, WorkflowSpec],
) -> Finding:
    cost = total_cost(members)
    shared = _shared(members, "capabilities")
    label = next((c for c in shared if 2 * len(shared[c]) >= len(members)), None)
    teams = _teams_by_weight(members)
    kind_of_tool = f"{label} tools" if label else "tools that do the same job"
    title = f"{len(members):,} {kind_of_tool} in {join_words(teams)}"
    title += f" cost {money(cost)}/month together" if cost else (" overlap" if label else "")
    severity: Severity = "high" if cost >= 1000 or len(members) >= 3 else "medium"
    target, reached_by = _consolidation_target(members, graph, workflows)
    if target in workflows:
        senders = f"all {number_word(len(members))}" if len(reached_by) == len(members) else join_words(reached_by)
        fix = (f"Pick one owner and consolidate onto the Baton workflow {target} ({senders} already "
               f"{'hands' if len(reached_by) == 1 else 'hand'} work to it); retire "
               f"{join_words(m.id for m in members)} once it runs.")
    else:
        cheapest = next(m for m in members if m.id == target)
        others = [m for m in members if m is not cheapest]
        fix = (f"Pick one owner and consolidate onto {cheapest.id}, the cheapest at {money(cheapest.monthly_cost)}"
               f"/month; retire {join_words(m.id for m in others)} to save {money(total_cost(others))}/month.")
    strongest = sorted(pairs, key=lambda p: (-p.score, p.first, p.second))[:_MAX_PAIRS_SHOWN]
    evidence: dict[str, Any] = {
        "monthly_cost": cost,
        "capability": label,
        "shared_capabilities": shared,
        "shared_data": _shared(members, "data"),
        "teams": teams,
        "owners": {m.id: m.owner for m in members},
        "costs": {m.id: m.monthly_cost for m in members},
        "consolidate_onto": target,
        "pairs": [{"assets": [live[p.first].id, live[p.second].id], "score": round(p.score, 3),
                   "purpose": round(p.purpose, 3), "capabilities": round(p.capabilities, 3),
                   "data": round(p.data, 3)} for p in strongest],
        "pairs_total": len(pairs),
    }
    return Finding(kind="overlap", severity=severity, title=title, assets=tuple(m.id for m in members),
                   evidence=evidence, fix=fix)


def _shared(members: list[AssetSpec], field: str) -> dict[str, list[str]]:
    """Values of ``field`` held by two or more members, most widely held (then listed earliest) first."""
    holders: dict[str, list[str]] = {}
    rank: dict[str, int] = {}
    for member in members:
        for position, value in enumerate(dict.fromkeys(getattr(member, field))):
            holders.setdefault(value, []).append(member.id)
            rank[value] = rank.get(value, 0) + position
    common = [v for v in holders if len(holders[v]) > 1]
    common.sort(key=lambda v: (-len(holders[v]), rank[v], v))
    return {v: holders[v] for v in common}


def _teams_by_weight(members: list[AssetSpec]) -> list[str]:
    count: dict[str, int] = {}
    spend: dict[str, float] = {}
    for member in members:
        count[member.team] = count.get(member.team, 0) + 1
        spend[member.team] = spend.get(member.team, 0.0) + member.monthly_cost
    return sorted(count, key=lambda t: (-count[t], -spend[t], t))


def _consolidation_target(
    members: list[AssetSpec], graph: Any, workflows: Mapping[str, WorkflowSpec]
) -> tuple[str, list[str]]:
    """The Baton workflow most members already hand work to (within a few hops), else the cheapest member."""
    reach: dict[str, list[tuple[str, int]]] = {}
    for member in members:
        if member.id not in graph:
            continue
        distances = nx.single_source_shortest_path_length(graph, member.id, cutoff=_WORKFLOW_HOPS)
        for node, distance in distances.items():
            if node in workflows and node != member.id:
                reach.setdefault(node, []).append((member.id, distance))
    if reach:
        best = min(reach, key=lambda w: (-len(reach[w]), sum(d for _, d in reach[w]), w))
        return best, [m for m, _ in reach[best]]
    cheapest = min(members, key=lambda m: m.monthly_cost)
    return cheapest.id, []
