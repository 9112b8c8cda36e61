"""Import n8n workflow exports (the UI's "Download" or ``n8n export:workflow [--all]``) as footprint assets.

Each workflow becomes one ``automation`` asset. What it does is read from its nodes:

AI nodes → ``capabilities`` (by node type after its package; :data:`_AI_NODES`, then :data:`_AI_PREFIXES`):

- text-generation: ``openAi``, ``googleGemini``, ``anthropic``, ``perplexity``, ``chainLlm``, ``lmChat*`` / ``lm*``
  (OpenAI, Anthropic, Gemini, Mistral, Ollama, Azure OpenAI, Bedrock, Groq, ...), ``httpRequest`` to an AI host
- image-generation / transcription: ``openAi`` with ``resource: image`` / ``resource: audio``
- chat-agent: ``agent``, ``openAiAssistant``; summarization: ``chainSummarization``
- retrieval: ``chainRetrievalQa``, ``vectorStore*``, ``retriever*``
- classification: ``textClassifier``; sentiment-analysis: ``sentimentAnalysis``
- extraction: ``informationExtractor``, ``mistralAi``; embeddings: ``embeddings*``, HTTP to ``.../embeddings``

Models come from ``model``, ``modelId``, ``modelName``, ``options.model`` (plain or resource-locator values)
or, for HTTP requests, the JSON body / body parameters / Bedrock URL, prefixed with the provider
(``openai:gpt-4o-mini``). Expressions (``={{ ... }}``) are not evaluated.

Credentials (``node.credentials`` keys, matched by prefix, case-insensitive) → ``data``: see :data:`_SYSTEM_DATA`
(CRM → contact, company; email → contact, email-content; helpdesk → ticket, contact; payments → payment_card,
financial; accounting → financial; databases → database; chat → message; documents and sheets → document).

``executeWorkflow`` / ``toolWorkflow`` nodes, and HTTP requests to another workflow's webhook in the same file,
become ``feeds``; triggers, messages sent, other HTTP calls, disabled and unknown nodes become evidence lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from baton.catalog.model import UNASSIGNED_TEAM, DiscoveredAsset, Provenance, SourceKind, slugify, validate_asset
from baton.errors import Location, SpecError

_LANGCHAIN = "@n8n/n8n-nodes-langchain"
_BUILT_IN = ("n8n-nodes-base", _LANGCHAIN)
_STICKY = "n8n-nodes-base.stickyNote"

#: Exact AI node types (part after the package) → capability.
_AI_NODES: dict[str, str] = {
    "openAi": "text-generation", "googleGemini": "text-generation", "anthropic": "text-generation",
    "perplexity": "text-generation", "chainLlm": "text-generation", "agent": "chat-agent",
    "openAiAssistant": "chat-agent", "chainSummarization": "summarization", "chainRetrievalQa": "retrieval",
    "textClassifier": "classification", "sentimentAnalysis": "sentiment-analysis",
    "informationExtractor": "extraction", "mistralAi": "extraction",
}
#: Prefixes of AI node types → capability (checked after the exact table).
_AI_PREFIXES: tuple[tuple[str, str], ...] = (
    ("lmChat", "text-generation"), ("lm", "text-generation"), ("embeddings", "embeddings"),
    ("vectorStore", "retrieval"), ("retriever", "retrieval"),
)
#: Words in a node type or host → the provider that prefixes its models (first match wins).
_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("azure", "azure-openai"), ("bedrock", "bedrock"), ("vertex", "vertex-ai"), ("gemini", "google"),
    ("generativelanguage", "google"), ("palm", "google"), ("openai", "openai"), ("anthropic", "anthropic"),
    ("mistral", "mistral"), ("ollama", "ollama"), ("groq", "groq"), ("cohere", "cohere"), ("deepseek", "deepseek"),
    ("openrouter", "openrouter"), ("perplexity", "perplexity"),
)
_AI_HOSTS = frozenset({"api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "api.mistral.ai",
                       "api.groq.com", "api.cohere.ai", "api.cohere.com"})
_AI_HOST_PATTERN = re.compile(r"^(?:[\w-]+\.openai\.azure\.com|bedrock-runtime\.[\w-]+\.amazonaws\.com)$")

_CRM, _EMAIL, _HELPDESK = ("contact", "company"), ("contact", "email-content"), ("ticket", "contact")
_PAYMENT, _DB, _CHAT, _DOCS = ("payment_card", "financial"), ("database",), ("message",), ("document",)
#: Credential-type prefix (lower case) → the system it names → the data classes that system holds.
_SYSTEM_DATA: dict[str, tuple[str, ...]] = {
    "hubspot": _CRM, "salesforce": _CRM, "pipedrive": _CRM, "zoho": _CRM, "copper": _CRM, "affinity": _CRM,
    "freshworkscrm": _CRM, "microsoftdynamics": _CRM,
    "gmail": _EMAIL, "microsoftoutlook": _EMAIL, "imap": _EMAIL, "smtp": _EMAIL, "sendgrid": _EMAIL,
    "mailgun": _EMAIL, "mailchimp": _EMAIL, "mailjet": _EMAIL, "postmark": _EMAIL,
    "zendesk": _HELPDESK, "freshdesk": _HELPDESK, "intercom": _HELPDESK, "helpscout": _HELPDESK,
    "servicenow": _HELPDESK, "jira": ("ticket",),
    "stripe": _PAYMENT, "paypal": _PAYMENT, "square": _PAYMENT, "paddle": _PAYMENT, "chargebee": _PAYMENT,
    "quickbooks": ("financial",), "xero": ("financial",),
    "postgres": _DB, "mysql": _DB, "microsoftsql": _DB, "mongodb": _DB, "redis": _DB, "snowflake": _DB,
    "supabase": _DB, "oracle": _DB,
    "slack": _CHAT, "microsoftteams": _CHAT, "discord": _CHAT, "telegram": _CHAT, "mattermost": _CHAT,
    "whatsapp": _CHAT, "twilio": _CHAT,
    "googlesheets": _DOCS, "googledrive": _DOCS, "googledocs": _DOCS, "airtable": _DOCS, "notion": _DOCS,
    "dropbox": _DOCS, "microsoftexcel": _DOCS, "microsoftonedrive": _DOCS,
}
_SENDERS = frozenset({"slack", "microsoftTeams", "discord", "telegram", "mattermost", "whatsApp", "twilio", "gmail",
                      "emailSend", "microsoftOutlook", "sendGrid", "mailgun"})
_UTILITIES = frozenset({"if", "switch", "set", "merge", "code", "function", "functionItem", "noOp", "stickyNote",
                        "wait", "splitInBatches", "splitOut", "filter", "aggregate", "sort", "limit",
                        "removeDuplicates", "itemLists", "dateTime", "crypto", "html", "xml", "markdown",
                        "respondToWebhook", "stopAndError", "renameKeys", "summarize", "executeWorkflow",
                        "httpRequest", "compareDatasets", "executionData"})
_TRIGGERS = frozenset({"webhook", "cron", "interval", "start"})
_CHANNEL_KEYS = ("channelId", "channel", "chatId", "sendTo", "toEmail", "toRecipients")
_JSON_MODEL = re.compile(r'"model"\s*:\s*"([^"{}]+)"')
_TAG = re.compile(r"^\s*(team|owner)\s*[:/=]\s*(\S.*?)\s*$", re.IGNORECASE)


class N8nImporter:
    """Reads n8n workflow exports: one workflow object, or an array of them."""

    kind: SourceKind = "n8n"

    def recognises(self, path: Path, text: str) -> bool:
        """A ``.json`` file whose top level (an object, or an array of objects) has ``nodes`` and ``connections``.

        A ``.json`` file that does not parse but mentions both keys is also claimed, so that :meth:`read`
        reports where it is broken instead of the file being silently ignored.
        """
        if path.suffix.lower() != ".json":
            return False
        try:
            data = json.loads(text)
        except ValueError:
            return '"nodes"' in text and '"connections"' in text
        items = data if isinstance(data, list) else [data]
        return bool(items) and all(isinstance(item, dict) and "nodes" in item and "connections" in item
                                   for item in items)

    def read(self, path: Path, text: str) -> list[DiscoveredAsset]:
        """One ``automation`` asset per workflow in the export.

        Raises:
            SpecError: malformed JSON, a top level that is not a workflow, ``nodes`` that is not a list,
                or a node without ``type`` — each with the file and (best-effort) line.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(Location(path, exc.lineno), f"malformed JSON: {exc.msg} (column {exc.colno})",
                            "re-export the workflow from n8n") from exc
        lines = _Lines(text)
        items = data if isinstance(data, list) else [data]
        workflows = [_check(path, item, index, lines) for index, item in enumerate(items)]
        ids = _asset_ids(workflows)
        by_n8n_id = {str(wf.data["id"]): ids[i] for i, wf in enumerate(workflows) if wf.data.get("id")}
        hooks = {_text(node["parameters"].get("path")).strip("/"): ids[i]
                 for i, wf in enumerate(workflows) for node in wf.data["nodes"]
                 if _short(node["type"]) == "webhook" and isinstance(node.get("parameters"), dict)
                 and node["parameters"].get("path")}
        return [_asset(path, wf, ids[i], by_n8n_id, hooks) for i, wf in enumerate(workflows)]


@dataclass(frozen=True)
class _Workflow:
    data: dict[str, Any]
    line: int
    name: str


@dataclass
class _Scan:
    """What one workflow's nodes reveal."""

    capabilities: set[str] = field(default_factory=set)
    models: list[str] = field(default_factory=list)
    data: set[str] = field(default_factory=set)
    feeds: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    ai_nodes: int = 0


@dataclass
class _Lines:
    """Best-effort line numbers of JSON keys, searched in the raw text from a moving cursor."""

    text: str
    cursor: int = 0

    def find(self, key: str, value: object = None, *, advance: bool = False) -> int:
        """The 1-based line of ``"key": value`` (or of ``"key"``) at or after the cursor; 0 if not found."""
        target = re.escape(json.dumps(key)) + r"\s*:"
        if value is not None:
            encoded = {json.dumps(value), json.dumps(value, ensure_ascii=False)}
            target += r"\s*(?:" + "|".join(re.escape(item) for item in encoded) + ")"
        match = re.compile(target).search(self.text, self.cursor)
        if not match:
            return 0
        if advance:
            self.cursor = match.end()
        return self.text.count("\n", 0, match.start()) + 1


def _check(path: Path, item: object, index: int, lines: _Lines) -> _Workflow:
    where = f"workflow {index + 1}"
    if not isinstance(item, dict) or "nodes" not in item or "connections" not in item:
        line = lines.find("name", item.get("name"), advance=True) if isinstance(item, dict) else 0
        raise SpecError(Location(path, line or 1), f"{where} is not an n8n workflow: it needs 'nodes' and "
                        "'connections'", "export it with n8n's Download button or `n8n export:workflow`")
    name = _text(item.get("name")) or _text(item.get("id"))
    line = lines.find("name", item.get("name"), advance=True) if item.get("name") else 0
    if not name:
        raise SpecError(Location(path, line or 1, "name"), f"{where} has neither a name nor an id")
    nodes = item["nodes"]
    if not isinstance(nodes, list):
        raise SpecError(Location(path, lines.find("nodes") or line, "nodes"),
                        f"nodes of workflow '{name}' must be a list, not {type(nodes).__name__}")
    for number, node in enumerate(nodes):
        node = _dict(node)
        if not isinstance(node.get("type"), str) or not node["type"]:
            label = node.get("name") or node.get("id")
            found = (lines.find("id", node["id"]) if node.get("id") else 0) or \
                (lines.find("name", node["name"]) if node.get("name") else 0)
            raise SpecError(Location(path, found or line, f"nodes[{number}].type"),
                            f"node {label or number + 1} of workflow '{name}' has no type",
                            "every n8n node names its type, e.g. n8n-nodes-base.webhook")
    return _Workflow(item, line, name)


def _asset_ids(workflows: list[_Workflow]) -> list[str]:
    """``n8n-<name>``; a name used twice in the file gets the n8n id (or its position) appended."""
    ids: list[str] = []
    for index, wf in enumerate(workflows):
        asset_id = slugify(wf.name, prefix="n8n")
        if asset_id in ids:
            asset_id = slugify(f"{wf.name} {wf.data.get('id') or index + 1}", prefix="n8n")
        ids.append(asset_id)
    return ids


def _asset(path: Path, wf: _Workflow, asset_id: str, by_n8n_id: dict[str, str],
           hooks: dict[str, str]) -> DiscoveredAsset:
    scan = _Scan()
    for node in wf.data["nodes"]:
        _scan_node(node, scan, by_n8n_id, hooks)
    team, owner, tags = UNASSIGNED_TEAM, None, []
    raw_tags = wf.data.get("tags")
    for tag in raw_tags if isinstance(raw_tags, list) else []:
        label = _text(tag.get("name") if isinstance(tag, dict) else tag)
        match = _TAG.match(label)
        if match and match.group(1).lower() == "team":
            team = match.group(2)
        elif match:
            owner = match.group(2)
        elif label:
            tags.append(label)
    if tags:
        scan.evidence.append(f"tags: {', '.join(tags)}")
    if not scan.ai_nodes:
        scan.evidence.append("no AI node found: an automation without AI")
    active = wf.data.get("active") is True
    scan.evidence.insert(0, f"workflow is {'active' if active else 'inactive'} in n8n")
    fields = {
        "id": asset_id, "name": wf.name, "kind": "automation", "vendor": "n8n", "team": team, "owner": owner,
        "purpose": _sticky_purpose(wf.data["nodes"]) or _describe(wf.name, scan),
        "capabilities": sorted(scan.capabilities), "data": sorted(scan.data), "models": scan.models,
        "stage": "production" if active else "experiment", "feeds": scan.feeds,
        "notes": "" if scan.ai_nodes else "no AI nodes",
    }
    asset = validate_asset(fields, where=Location(path, wf.line), what=f"workflow '{wf.name}'")
    locator = f"workflow {wf.data.get('id') or wf.name}"
    return DiscoveredAsset(asset, Provenance(str(path), locator, "n8n"), tuple(scan.evidence))


def _scan_node(node: dict[str, Any], scan: _Scan, by_n8n_id: dict[str, str], hooks: dict[str, str]) -> None:
    node_type: str = node["type"]
    short, label = _short(node_type), f"node '{node.get('name', '?')}' ({node_type})"
    params = _dict(node.get("parameters"))
    if node_type == _STICKY:
        return
    if node.get("disabled") is True:
        scan.evidence.append(f"{label} is disabled: ignored")
        return
    if node_type.rpartition(".")[0] not in _BUILT_IN:
        scan.evidence.append(f"{label}: unknown node type, kept as a generic step")
        scan.outputs.append(_words(short))
    ai = _ai_node(node_type, short, params)
    if ai:
        capability, models = ai
        scan.ai_nodes += 1
        scan.capabilities.add(capability)
        for model in models:
            _add(scan.models, model)
        shown = f" using {', '.join(models)}" if models else ""
        scan.evidence.append(f"{label}: AI node → {capability}{shown}")
    elif short.endswith("Trigger") or short in _TRIGGERS:
        scan.triggers.append(_words(short))
        route = f": {params.get('httpMethod', 'GET')} /{_text(params.get('path')).strip('/')}" \
            if short == "webhook" else ""
        scan.evidence.append(f"trigger {label}{route}")
    elif short in ("executeWorkflow", "toolWorkflow"):
        _feed_workflow(params, label, scan, by_n8n_id)
    elif short == "httpRequest":
        url = _text(params.get("url")).removeprefix("=")
        hook = re.search(r"/webhook(?:-test)?/([^?#]+)", url)
        target = hooks.get(hook.group(1).strip("/")) if hook else None
        if target:
            _add(scan.feeds, target)
            scan.evidence.append(f"{label} calls the webhook of {target}")
        else:
            shown = url if url and not url.startswith("{{") else "a URL set by an expression"
            scan.evidence.append(f"{label} calls {shown}")
        scan.outputs.append(f"http {urlsplit(url).hostname or 'request'}")
    elif node_type.startswith("n8n-nodes-base.") and short not in _UTILITIES:
        scan.outputs.append(_words(short))
        if short in _SENDERS:
            channel = next((_shown(params.get(key)) for key in _CHANNEL_KEYS if _shown(params.get(key))), "")
            scan.evidence.append(f"{label} sends to {_words(short)}" + (f" ({channel})" if channel else ""))
    for credential, ref in _dict(node.get("credentials")).items():
        name = f" ('{ref['name']}')" if isinstance(ref, dict) and ref.get("name") else ""
        system = next((prefix for prefix in _SYSTEM_DATA if credential.lower().startswith(prefix)), None)
        if system:
            scan.data.update(_SYSTEM_DATA[system])
            scan.evidence.append(f"{label} uses credential {credential}{name}: {system} holds "
                                 f"{', '.join(_SYSTEM_DATA[system])}")
        elif not _provider(credential):
            scan.evidence.append(f"{label} uses credential {credential}{name}: system not mapped to data classes")


def _ai_node(node_type: str, short: str, params: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(capability, models) when the node calls a model; None otherwise."""
    if short == "httpRequest":
        return _ai_http(params)
    if node_type == "n8n-nodes-base.mistralAi" or node_type.startswith(_LANGCHAIN):
        capability = _AI_NODES.get(short) or next((cap for pre, cap in _AI_PREFIXES if short.startswith(pre)
                                                   and short[len(pre):][:1].isupper()), None)
    else:
        capability = _AI_NODES.get(short) if short in ("openAi", "perplexity") else None
    if capability is None:
        return None
    if short == "openAi":
        capability = {"image": "image-generation", "audio": "transcription"}.get(
            _text(params.get("resource")), capability)
    provider = _provider(short)
    options = _dict(params.get("options"))
    raw = [params.get(key) for key in ("model", "modelId", "modelName")] + [options.get("model")]
    return capability, _prefixed(provider, [_value(item) for item in raw])


def _ai_http(params: dict[str, Any]) -> tuple[str, list[str]] | None:
    url = _text(params.get("url")).removeprefix("=")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in _AI_HOSTS and not _AI_HOST_PATTERN.match(host):
        return None
    found = _JSON_MODEL.findall(_text(params.get("jsonBody")))
    body = _dict(params.get("bodyParameters"))
    found += [_text(item.get("value")) for item in body.get("parameters") or []
              if isinstance(item, dict) and item.get("name") == "model"]
    bedrock = re.search(r"/model/([^/]+)/", parts.path)
    found += [bedrock.group(1)] if bedrock else []
    capability = "embeddings" if "/embeddings" in parts.path else "text-generation"
    return capability, _prefixed(_provider(host), found)


def _feed_workflow(params: dict[str, Any], label: str, scan: _Scan, by_n8n_id: dict[str, str]) -> None:
    ref = params.get("workflowId")
    target_id = _value(ref)
    cached = _text(ref.get("cachedResultName")) if isinstance(ref, dict) else ""
    if not target_id or params.get("source") in ("parameter", "url", "localFile"):
        scan.evidence.append(f"{label} runs a workflow that cannot be identified from the export")
        return
    target = by_n8n_id.get(target_id) or slugify(cached or target_id, prefix="n8n")
    _add(scan.feeds, target)
    scan.outputs.append(f"workflow {target}")
    scan.evidence.append(f"{label} hands work to workflow {cached or target_id} → {target}")


def _sticky_purpose(nodes: list[Any]) -> str:
    """The first sentence of the first sticky note with text, markdown stripped."""
    for node in nodes:
        if node.get("type") != _STICKY:
            continue
        rows = [row.strip() for row in _text(_dict(node.get("parameters")).get("content")).splitlines()]
        body = [row for row in rows if row and not row.startswith("#")] or [row.lstrip("#") for row in rows if row]
        text = " ".join(re.sub(r"^(?:[-+*>]|\d+\.)\s+", "", row) for row in body)
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
        text = re.sub(r"(\*\*|__|~~|`|(?<!\w)[*_]|[*_](?!\w))", "", text)
        sentence = re.split(r"(?<=[.!?])\s+", " ".join(text.split()), maxsplit=1)[0].strip()
        if sentence:
            return sentence
    return ""


def _describe(name: str, scan: _Scan) -> str:
    parts = [" + ".join(dict.fromkeys(scan.triggers)) or "manual start"]
    if scan.capabilities:
        models = f" ({', '.join(scan.models)})" if scan.models else ""
        parts.append(", ".join(sorted(scan.capabilities)) + models)
    if scan.outputs:
        parts.append(", ".join(dict.fromkeys(scan.outputs)))
    return f"n8n workflow '{name}': " + " → ".join(parts)


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _short(node_type: str) -> str:
    return node_type.rpartition(".")[2]


def _words(short: str) -> str:
    """``googleSheetsTrigger`` → ``google sheets trigger``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", short).lower()


def _provider(text: str) -> str:
    lowered = text.lower()
    return next((provider for word, provider in _PROVIDERS if word in lowered), "")


def _prefixed(provider: str, models: list[str]) -> list[str]:
    found: list[str] = []
    for model in models:
        model = model.removeprefix("models/")
        if not model or model.startswith("{{"):
            continue
        model = f"{provider}:{model}" if provider else model
        if model not in found:
            found.append(model)
    return found


def _value(item: object) -> str:
    """A parameter's literal value: plain, ``=literal``, or a resource locator ``{"__rl": true, "value": ...}``."""
    if isinstance(item, dict):
        item = item.get("value")
    value = _text(item)
    return "" if value.startswith("={{") else value.removeprefix("=")


def _dict(item: object) -> dict[str, Any]:
    return item if isinstance(item, dict) else {}


def _shown(item: object) -> str:
    """What the n8n editor shows for a parameter: a locator's cached name, else its literal value."""
    return _text(_dict(item).get("cachedResultName")) or _value(item)


def _text(item: object) -> str:
    if isinstance(item, bool):
        return ""
    return item if isinstance(item, str) else str(item) if isinstance(item, int | float) else ""
