"""Import the AI entities of Backstage ``catalog-info.yaml`` files as footprint assets.

A file may hold several documents (``---``). ``Component``, ``Resource``, ``API`` and ``AiResource`` entities
become assets when they are about AI; ``System``, ``Group``, ``User``, ``Domain``, ``Location`` and every
non-AI entity are skipped and counted in :attr:`BackstageImporter.last_skipped`.

An entity is AI when it is an ``AiResource``, its ``spec.type`` is in :data:`_AI_TYPES`, a tag is in
:data:`_AI_TAGS`, or an annotation key or value names an AI provider (:data:`_AI_WORDS`) or lives under
``ai.backstage.io/`` or ``baton.dev/``.

Capabilities come from ``spec.type`` and tags (:data:`_CAPABILITIES`), tags already in the shared capability
vocabulary (:data:`_VOCABULARY`), and the annotation ``baton.dev/capabilities`` (comma list):

==========================================  =================
type or tag                                 capability
==========================================  =================
agent, ai-agent                             chat-agent
llm, genai                                  text-generation
ml, ml-model                                ml-prediction
mcp, mcp-server                             mcp-server
chatbot, assistant, copilot                 conversation
rag, vector-database, vector-store          retrieval
==========================================  =================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from baton.catalog.model import UNASSIGNED_TEAM, DiscoveredAsset, Provenance, SourceKind, slugify, validate_asset
from baton.errors import Location, SpecError
from baton.spec.yaml_source import SourceMap, join_path

_ASSET_KINDS = frozenset({"component", "resource", "api", "airesource"})
_AI_TYPES = frozenset({"ai-agent", "agent", "llm", "model", "ml-model", "mcp-server", "mcp", "chatbot", "assistant"})
_AI_TAGS = frozenset({"ai", "genai", "llm", "ml", "agent", "mcp", "rag", "chatbot", "copilot"})
_AI_WORDS = ("openai", "anthropic", "bedrock", "gemini", "vertex-ai", "huggingface")
_AI_PREFIXES = ("ai.backstage.io/", "baton.dev/")
_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "bedrock": "bedrock", "gemini": "google",
              "google": "google", "vertex-ai": "vertex-ai", "huggingface": "huggingface", "mistral": "mistral"}
_ASSET_KIND_BY_TYPE = {"agent": "agent", "ai-agent": "agent", "model": "model", "ml-model": "model",
                       "llm": "model", "chatbot": "chatbot", "assistant": "assistant"}
_CAPABILITIES = {
    "agent": "chat-agent", "ai-agent": "chat-agent", "llm": "text-generation", "genai": "text-generation",
    "ml": "ml-prediction", "ml-model": "ml-prediction", "mcp": "mcp-server", "mcp-server": "mcp-server",
    "chatbot": "conversation", "assistant": "conversation", "copilot": "conversation", "rag": "retrieval",
    "vector-database": "retrieval", "vector-store": "retrieval",
}
_VOCABULARY = frozenset({"text-generation", "chat-agent", "summarization", "classification", "sentiment-analysis",
                         "extraction", "retrieval", "embeddings", "image-generation", "transcription", "translation",
                         "mcp-server", "ml-prediction", "conversation"})
_STAGES = {"experimental": "experiment", "production": "production", "deprecated": "retired"}
_REF = re.compile(r"^(?:(?P<kind>[^:/]+):)?(?:(?P<namespace>[^:/]+)/)?(?P<name>[^:/]+)$")
_ENTITY_TEXT = re.compile(r"^apiVersion:\s*['\"]?backstage\.io/", re.MULTILINE)


class BackstageImporter:
    """Reads Backstage catalog files; keeps only AI entities.

    Attributes:
        last_skipped: how many entities the last :meth:`read` skipped (non-asset kinds and non-AI entities).
    """

    kind: SourceKind = "backstage"

    def __init__(self) -> None:
        self.last_skipped = 0

    def recognises(self, path: Path, text: str) -> bool:
        """A ``.yaml``/``.yml`` file with at least one Backstage entity document.

        A file that does not parse but starts a document with ``apiVersion: backstage.io/...`` is claimed too,
        so that :meth:`read` reports where it is broken.
        """
        if path.suffix.lower() not in (".yaml", ".yml"):
            return False
        try:
            return any(_is_entity(value) for value, _ in _documents(path, text))
        except SpecError:
            return bool(_ENTITY_TEXT.search(text))

    def read(self, path: Path, text: str) -> list[DiscoveredAsset]:
        """One asset per AI entity, in document order.

        Raises:
            SpecError: malformed YAML, an entity without ``metadata.name``, the same entity twice in the file,
                or an entity that cannot be expressed as a valid asset — each with file and line.
        """
        self.last_skipped = 0
        entities: list[_Entity] = []
        first_line: dict[str, int] = {}
        for value, source in _documents(path, text):
            if not _is_entity(value):
                continue
            entity = _entity(value, source)
            if entity.ref.lower() in first_line:
                raise SpecError(source.locate("metadata.name"), f"entity {entity.ref} is defined twice in this file "
                                f"(first at line {first_line[entity.ref.lower()]})", "keep one definition")
            first_line[entity.ref.lower()] = entity.line
            entities.append(entity)
        ai = [entity for entity in entities if entity.reasons]
        self.last_skipped = len(entities) - len(ai)
        ids: dict[str, str] = {}
        for entity in ai:
            asset_id = entity.slug
            if asset_id in ids.values():
                asset_id = slugify(f"{asset_id}-{entity.kind}")
            ids[entity.ref.lower()] = asset_id
        others = {entity.ref.lower() for entity in entities} - set(ids)
        return [_asset(path, entity, ids, others) for entity in ai]


@dataclass(frozen=True)
class _Entity:
    data: dict[str, Any]
    source: SourceMap
    kind: str
    namespace: str
    name: str
    reasons: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"

    @property
    def line(self) -> int:
        return self.source.lines.get("", 0)

    @property
    def slug(self) -> str:
        prefix = "" if self.namespace == "default" else slugify(self.namespace)
        return slugify(self.name, prefix=prefix)


def _documents(path: Path, text: str) -> list[tuple[Any, SourceMap]]:
    """Every document of ``text`` as plain values with a map of field path → line (1-based, in the file)."""
    found: list[tuple[Any, SourceMap]] = []
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise SpecError(Location(path), f"malformed YAML: {exc}") from exc
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node() guarantees a document follows
                break
            source = SourceMap(path)
            _map_lines(node, "", source)
            found.append((loader.construct_document(node), source))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = exc.context_mark
        started = f" ({exc.context} at line {context.line + 1})" if exc.context and context and exc.problem else ""
        raise SpecError(Location(path, mark.line + 1 if mark else 0),
                        f"malformed YAML: {exc.problem or exc.context}{started}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(Location(path), f"malformed YAML: {exc}") from exc
    finally:
        loader.dispose()
    return found


def _map_lines(node: yaml.Node, path: str, source: SourceMap) -> None:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            child = join_path(path, key)
            if key in seen:
                raise SpecError(Location(source.file, key_node.start_mark.line + 1, child),
                                f"key '{key}' is given twice", "keep one; YAML would silently drop the first")
            seen.add(key)
            source.lines[child] = key_node.start_mark.line + 1
            _map_lines(value_node, child, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _map_lines(item, join_path(path, index), source)


def _is_entity(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    api_version, kind = value.get("apiVersion"), value.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return False
    return api_version.startswith("backstage.io/") or kind.lower() == "airesource"


def _entity(value: dict[str, Any], source: SourceMap) -> _Entity:
    metadata = _dict(value.get("metadata"))
    name = metadata.get("name")
    if isinstance(name, int | float) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not name.strip():
        raise SpecError(source.locate("metadata.name"), "is required",
                        "every Backstage entity needs metadata.name")
    namespace = str(metadata.get("namespace") or "default")
    kind: str = value["kind"]
    return _Entity(value, source, kind, namespace, name.strip(),
                   _ai_reasons(kind, _dict(value.get("spec")), metadata) if kind.lower() in _ASSET_KINDS else ())


def _ai_reasons(kind: str, spec: dict[str, Any], metadata: dict[str, Any]) -> tuple[str, ...]:
    reasons = ["kind AiResource"] if kind.lower() == "airesource" else []
    if _lower(spec.get("type")) in _AI_TYPES:
        reasons.append(f"spec.type {_lower(spec.get('type'))}")
    reasons += [f"tag {tag}" for tag in _tags(metadata) if tag in _AI_TAGS]
    for key, value in _dict(metadata.get("annotations")).items():
        text = f"{key} {value}".lower()
        if str(key).startswith(_AI_PREFIXES) or any(word in text for word in _AI_WORDS):
            reasons.append(f"annotation {key}")
    return tuple(reasons)


def _asset(path: Path, entity: _Entity, ids: dict[str, str], others: set[str]) -> DiscoveredAsset:
    spec, metadata = _dict(entity.data.get("spec")), _dict(entity.data.get("metadata"))
    annotations, labels = _dict(metadata.get("annotations")), _dict(metadata.get("labels"))
    spec_type = _lower(spec.get("type"))
    evidence = [f"{entity.ref} is AI: {', '.join(entity.reasons)}"]
    team, owner = _team_and_owner(spec.get("owner"), labels, entity.namespace, evidence)
    lifecycle = _lower(spec.get("lifecycle"))
    stage = _STAGES.get(lifecycle, "pilot")
    evidence.append(f"lifecycle {lifecycle or '(none)'} → stage {stage}")
    cost = _monthly_cost(annotations.get("baton.dev/monthly-cost"), evidence)
    fields = {
        "id": ids[entity.ref.lower()],
        "name": str(metadata.get("title") or entity.name),
        "kind": _ASSET_KIND_BY_TYPE.get(spec_type, "automation"),
        "vendor": str(annotations.get("baton.dev/vendor") or ""),
        "team": team, "owner": owner,
        "purpose": str(metadata.get("description") or "").strip() or f"Backstage {entity.kind} {entity.name}",
        "capabilities": _capabilities(spec_type, _tags(metadata), annotations),
        "data": sorted(set(_split(labels.get("data")) + _split(annotations.get("baton.dev/data")))),
        "models": _models(spec, annotations),
        "monthly_cost": cost, "stage": stage,
        "feeds": _feeds(entity, spec, ids, others, evidence),
    }
    if spec.get("system"):
        evidence.append(f"part of system {spec['system']}")
    evidence += [f"provides API {ref}" for ref in _strings(spec.get("providesApis"))]
    asset = validate_asset(fields, where=Location(path, entity.line), what=f"{entity.ref}")
    locator = f"{entity.ref} at line {entity.line}"
    return DiscoveredAsset(asset, Provenance(str(path), locator, "backstage"), tuple(evidence))


def _team_and_owner(ref: object, labels: dict[str, Any], namespace: str,
                    evidence: list[str]) -> tuple[str, str | None]:
    """``group:sales`` → team sales; ``user:dana`` → owner dana, team from ``labels.team``."""
    label_team = str(labels.get("team") or UNASSIGNED_TEAM)
    parsed = _parse_ref(ref, "group", namespace) if isinstance(ref, str) else None
    if parsed is None:
        evidence.append(f"no usable spec.owner; team {label_team}")
        return label_team, None
    kind, _, who = parsed
    if kind == "user":
        evidence.append(f"owner {ref} → owner {who}, team {label_team}")
        return label_team, who
    evidence.append(f"owner {ref} → team {who}")
    return who, None


def _capabilities(spec_type: str, tags: list[str], annotations: dict[str, Any]) -> list[str]:
    found = {_CAPABILITIES[item] for item in [spec_type, *tags] if item in _CAPABILITIES}
    found.update(tag for tag in tags if tag in _VOCABULARY)
    found.update(_split(annotations.get("baton.dev/capabilities")))
    return sorted(found)


def _models(spec: dict[str, Any], annotations: dict[str, Any]) -> list[str]:
    """Models named by ``*model*`` annotations (provider from the key's domain) and ``spec.model(s)``."""
    named: list[tuple[str, str]] = []
    for key, value in annotations.items():
        domain, _, leaf = str(key).lower().rpartition("/")
        if "model" in leaf:
            provider = next((name for word, name in _PROVIDERS.items() if word in domain), "")
            named += [(provider, model) for model in _split(value)]
    provider = _lower(spec.get("provider"))
    named += [(_PROVIDERS.get(provider, provider), model)
              for model in _strings(spec.get("model")) + _strings(spec.get("models"))]
    found: list[str] = []
    for provider, model in named:
        full = model if ":" in model or not provider else f"{provider}:{model}"
        if full not in found:
            found.append(full)
    return found


def _feeds(entity: _Entity, spec: dict[str, Any], ids: dict[str, str], others: set[str],
           evidence: list[str]) -> list[str]:
    """AI entities of this file that ``spec.dependsOn`` / ``spec.consumesApis`` name; the rest become evidence."""
    feeds: list[str] = []
    refs = [(ref, "component") for ref in _strings(spec.get("dependsOn"))]
    refs += [(ref, "api") for ref in _strings(spec.get("consumesApis"))]
    for ref, default_kind in refs:
        parsed = _parse_ref(ref, default_kind, entity.namespace)
        full = f"{parsed[0]}:{parsed[1]}/{parsed[2]}" if parsed else ref.lower()
        if full in ids:
            if ids[full] not in feeds:
                feeds.append(ids[full])
            evidence.append(f"depends on {ref} → feeds {ids[full]}")
        elif full in others:
            evidence.append(f"depends on {ref} (not an AI entity)")
        else:
            evidence.append(f"depends on {ref} (not defined in this file)")
    return feeds


def _monthly_cost(value: object, evidence: list[str]) -> float:
    if value is None:
        return 0.0
    try:
        cost = float(str(value).strip().lstrip("$").replace(",", ""))
    except ValueError:
        cost = -1.0
    if cost < 0 or cost != cost:  # negative, unparsable or NaN
        evidence.append(f"annotation baton.dev/monthly-cost {value!r} is not a non-negative number: ignored")
        return 0.0
    return cost


def _parse_ref(ref: str, default_kind: str, default_namespace: str) -> tuple[str, str, str] | None:
    """``[kind:][namespace/]name`` → (kind, namespace, name), lower case as Backstage compares them."""
    match = _REF.match(ref.strip())
    if not match:
        return None
    return ((match["kind"] or default_kind).lower(), (match["namespace"] or default_namespace).lower(),
            match["name"].lower())


def _tags(metadata: dict[str, Any]) -> list[str]:
    return [tag.lower() for tag in _strings(metadata.get("tags"))]


def _split(value: object) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()] if isinstance(value, str) else []


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _lower(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
