"""Find the AI a code tree already uses: SDK and framework imports, and the models the code names.

Python is read with :mod:`ast` (a file that does not parse is read with regular expressions instead, and
the result says so in ``warnings``); JavaScript and TypeScript are read with regular expressions. Each
finding is a :class:`Hit` with its ``file:line``. Hits are grouped into project units — the nearest
directory holding ``pyproject.toml``, ``setup.py``, ``package.json`` or ``requirements.txt``, else the
first-level directory under the root, else the root — and each unit with a hit becomes one proposed
asset (stage ``experiment``), for a person to confirm.

How a named model's provider is decided, first rule that applies:

1. a ``provider/model`` prefix as LiteLLM writes it (``groq/llama3-70b`` → ``groq:llama3-70b``), or
   ``provider:model`` as LangChain's ``init_chat_model`` does;
2. a Bedrock model id (``anthropic.claude-3-haiku-…``) → ``bedrock``;
3. what the call is made on (``OpenAI()`` client, ``ChatAnthropic``, a ``bedrock-runtime`` client);
4. the model's family (``gpt-*`` → openai, ``claude*`` → anthropic, ``gemini*`` → google, ...);
5. the only model vendor the file imports. Otherwise the model is not reported.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import tomllib
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Final, Literal

from baton.catalog.model import UNASSIGNED_TEAM, DiscoveredAsset, Provenance, slugify
from baton.errors import NotFound
from baton.spec.models import AssetSpec

Language = Literal["python", "javascript", "typescript"]

MAX_FILE_BYTES: Final = 1024 * 1024
SKIP_DIRS: Final = frozenset({"node_modules", ".venv", "venv", ".git", "dist", "build", "__pycache__", "site-packages"})
LANGUAGES: Final[Mapping[str, Language]] = MappingProxyType({
    ".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".tsx": "typescript"})
UNIT_MARKERS: Final = ("pyproject.toml", "setup.py", "package.json", "requirements.txt")
FRAMEWORKS: Final = frozenset({"langchain", "llamaindex", "crewai", "litellm", "vercel-ai"})
"""Providers that route to a model vendor rather than being one; a vendor only when nothing else is found."""

PYTHON_PACKAGES: Final[Mapping[str, str]] = MappingProxyType({
    "openai": "openai", "anthropic": "anthropic", "google.genai": "google", "google.generativeai": "google",
    "vertexai": "vertex", "langchain": "langchain", "langgraph": "langchain", "langchain_openai": "openai",
    "langchain_anthropic": "anthropic", "langchain_google_genai": "google", "langchain_google_vertexai": "vertex",
    "langchain_aws": "bedrock", "langchain_mistralai": "mistral", "langchain_cohere": "cohere",
    "langchain_groq": "groq", "langchain_ollama": "ollama", "langchain_huggingface": "huggingface",
    "llama_index": "llamaindex", "crewai": "crewai", "litellm": "litellm", "mistralai": "mistral",
    "cohere": "cohere", "groq": "groq", "ollama": "ollama", "transformers": "huggingface",
    "sentence_transformers": "huggingface", "huggingface_hub": "huggingface"})
JS_PACKAGES: Final[Mapping[str, str]] = MappingProxyType({
    "openai": "openai", "@anthropic-ai/sdk": "anthropic", "@google/generative-ai": "google", "@google/genai": "google",
    "@google-cloud/vertexai": "vertex", "ai": "vercel-ai", "@ai-sdk/openai": "openai",
    "@ai-sdk/anthropic": "anthropic", "@ai-sdk/google": "google", "@ai-sdk/google-vertex": "vertex",
    "@ai-sdk/amazon-bedrock": "bedrock", "@ai-sdk/mistral": "mistral", "@ai-sdk/cohere": "cohere",
    "@ai-sdk/groq": "groq", "langchain": "langchain", "@langchain/openai": "openai",
    "@langchain/anthropic": "anthropic", "@langchain/google-genai": "google", "@langchain/aws": "bedrock",
    "llamaindex": "llamaindex", "@aws-sdk/client-bedrock-runtime": "bedrock",
    "@aws-sdk/client-bedrock-agent-runtime": "bedrock", "@mistralai/mistralai": "mistral",
    "cohere-ai": "cohere", "groq-sdk": "groq", "ollama": "ollama", "@huggingface/inference": "huggingface"})

MODEL_KEYWORDS: Final = frozenset({"model", "model_id", "modelId", "model_name"})
MODEL_CONSTRUCTORS: Final = frozenset({"GenerativeModel", "SentenceTransformer", "CrossEncoder", "from_pretrained"})
BEDROCK_SERVICES: Final = frozenset({"bedrock-runtime", "bedrock-agent-runtime"})
_EMBED_CALLS: Final = frozenset({"embed_content", "embed_documents", "embed_query", "embed"})
_TEXT_CALLS: Final = frozenset({"completion", "acompletion", "converse", "converse_stream", "invoke_model",
                                "invoke_model_with_response_stream", "generate_content", "GenerativeModel"})
_TEXT_SUFFIXES: Final = ("chat.completions.create", "completions.create", "messages.create", "responses.create")
_AGENT_CALLS: Final = frozenset({"create_react_agent", "AgentExecutor", "create_tool_calling_agent",
                                 "initialize_agent", "StateGraph", "Crew", "Agent"})

_PREFIXED = re.compile(r"^(openai|anthropic|groq|ollama|bedrock|vertex_ai|gemini|mistral|cohere|huggingface)[/:](.+)$")
_PREFIX_PROVIDER: Final[Mapping[str, str]] = MappingProxyType({"vertex_ai": "vertex", "gemini": "google"})
_BEDROCK_ID = re.compile(
    r"^(?:[a-z]{2}\.)?(?:anthropic|amazon|meta|cohere|ai21|mistral|stability|deepseek|writer)\.[\w.:-]+$"
    r"|^arn:aws:bedrock:")
_FAMILIES: Final = (
    (re.compile(r"^(gpt-|chatgpt|o\d(?:$|-)|text-embedding-|davinci|babbage|whisper|dall-e|tts-)"), "openai"),
    (re.compile(r"^claude"), "anthropic"),
    (re.compile(r"^(gemini|text-bison|chat-bison|textembedding-gecko)"), "google"),
    (re.compile(r"^(mistral|mixtral|codestral|ministral|pixtral|open-mistral|open-mixtral)"), "mistral"),
    (re.compile(r"^(command|embed-english|embed-multilingual)"), "cohere"),
)

_PY_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+\(?([\w, \t]+)|import[ \t]+([\w., \t]+))", re.M)
_PY_MODEL = re.compile(r"""\b(model|model_id|modelId|model_name)\s*=\s*(['"])([^'"\n]+)\2""")
_PY_BEDROCK = re.compile(r"""\.client\(\s*(?:service_name\s*=\s*)?(['"])(bedrock-(?:agent-)?runtime)\1""")
_JS_IMPORT = re.compile(r"""(?:\bfrom|\bimport|\brequire)\s*\(?\s*(['"])([^'"\n]+)\1""")
_JS_MODEL = re.compile(r"""['"]?\b(model|modelId|modelName)['"]?\s*:\s*(['"`])([^'"`\n$]+)\2""")
_JS_PROVIDER_CALL = re.compile(
    r"""\b(openai|anthropic|google|vertex|bedrock|mistral|cohere|groq|ollama)(?:\.(\w+))?\(\s*(['"`])([^'"`\n]+)\3""")
_JS_CALLS: Final = (
    (re.compile(r"\b(generateText|streamText|generateObject|streamObject)\s*\("), "vercel-ai", "text-generation"),
    (re.compile(r"\b(embed|embedMany)\s*\("), "vercel-ai", "embeddings"),
    (re.compile(r"\.(chat\.completions\.create)\s*\("), "openai", "text-generation"),
    (re.compile(r"\.(embeddings\.create)\s*\("), "openai", "embeddings"),
    (re.compile(r"\.(messages\.create)\s*\("), "anthropic", "text-generation"),
    (re.compile(r"\.(generateContent)\s*\("), "google", "text-generation"),
)


@dataclass(frozen=True)
class Hit:
    """One use of AI found in code.

    Attributes:
        file: path relative to the scanned root, with ``/`` separators.
        line: 1-based line number.
        language: ``python``, ``javascript`` or ``typescript``.
        provider: ``openai``, ``anthropic``, ``google``, ``bedrock``, ``vercel-ai``, ``langchain``, ...
        what: the import (``import openai``) or the call (``chat.completions.create``).
        model: the model named at this line, if any.
        capabilities: what the use shows the code does (``text-generation``, ``embeddings``, ...).
    """

    file: str
    line: int
    language: Language
    provider: str
    what: str
    model: str | None = None
    capabilities: tuple[str, ...] = ()

    def evidence(self) -> str:
        """``bot/score.py:12 openai chat.completions.create model=gpt-4o-mini``."""
        text = f"{self.file}:{self.line} {self.provider} {self.what}"
        return f"{text} model={self.model}" if self.model else text


@dataclass
class ScanResult:
    """What :func:`scan_tree` found: proposed assets, every hit, how many files were read, and warnings."""

    assets: list[DiscoveredAsset] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    files_scanned: int = 0
    warnings: list[str] = field(default_factory=list)


def scan_tree(root: Path, *, team: str | None = None, owner: str | None = None) -> ScanResult:
    """Scan a directory tree for AI SDK use and propose one asset per project unit that uses AI.

    Args:
        root: the directory to scan.
        team: team of every proposed asset (default ``unassigned``).
        owner: owner of every proposed asset (default: from ``CODEOWNERS``, else none).

    Returns:
        The proposed assets (sorted by id), every hit (sorted by file and line), and warnings.

    Raises:
        NotFound: ``root`` is not a directory.
    """
    if not root.is_dir():
        raise NotFound("directory", str(root), "give the root of a code tree")
    result = ScanResult()
    for path in _source_files(root):
        rel = path.relative_to(root).as_posix()
        if path.stat().st_size > MAX_FILE_BYTES:
            result.warnings.append(f"{rel}: skipped, larger than 1 MiB")
            continue
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as error:
            result.warnings.append(f"{rel}: skipped, unreadable ({error.strerror or error})")
            continue
        result.files_scanned += 1
        language = LANGUAGES[path.suffix]
        if language == "python":
            hits, warning = _scan_python(text, rel)
            if warning:
                result.warnings.append(warning)
        else:
            hits = _scan_js(text, rel, language)
        result.hits.extend(hits)
    result.hits.sort(key=lambda hit: (hit.file, hit.line))
    result.assets = _propose(root, result.hits, team=team, owner=owner)
    return result


def _source_files(root: Path) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = Path(directory, name)
            if path.suffix in LANGUAGES and path.is_file():
                yield path


def _model_provider(model: str, callee: str | None, vendors: set[str]) -> tuple[str, str] | None:
    """``(provider, model)`` for a model named in code, by the rules in the module docstring."""
    if prefixed := _PREFIXED.match(model):
        return _PREFIX_PROVIDER.get(prefixed.group(1), prefixed.group(1)), prefixed.group(2)
    if _BEDROCK_ID.match(model):
        return "bedrock", model
    if callee and callee not in FRAMEWORKS:
        return callee, model
    for pattern, provider in _FAMILIES:
        if pattern.match(model.lower()):
            return provider, model
    return (next(iter(vendors)), model) if len(vendors) == 1 else None


def _capability(what: str, model: str | None) -> str | None:
    last = what.rsplit(".", 1)[-1]
    if (what.endswith("embeddings.create") or last in _EMBED_CALLS or last.endswith(("Embeddings", "Embedding"))
            or "SentenceTransformer" in last or (model and "embed" in model.lower())):
        return "embeddings"
    if last in _AGENT_CALLS:
        return "agent-framework"
    if (what.endswith(_TEXT_SUFFIXES) or last in _TEXT_CALLS or re.match(r"Chat[A-Z]", last)) or model:
        return "text-generation"
    return None


def _import_capabilities(module: str, names: Iterable[str]) -> tuple[str, ...]:
    names = list(names)
    text = " ".join([module, *names]).lower()
    segments = set(re.split(r"[./]", module.lstrip("@")))
    found = set()
    if segments & {"langgraph", "crewai"} or ("langchain" in text and "agent" in text):
        found.add("agent-framework")
    if segments & {"llama_index", "llamaindex"} or any(word in text for word in ("vectorstore", "vector_store",
                                                                                 "retriever")):
        found.add("retrieval")
    if any(name.endswith(("Embeddings", "Embedding")) for name in names):
        found.add("embeddings")
    return tuple(sorted(found))


def _python_provider(module: str) -> str | None:
    parts = module.split(".")
    for size in range(len(parts), 0, -1):
        if provider := PYTHON_PACKAGES.get(".".join(parts[:size])):
            return provider
    return "langchain" if parts[0].startswith("langchain_") else None


def _scan_python(text: str, rel: str) -> tuple[list[Hit], str | None]:
    """Hits in one Python file, and a warning when it had to be read with regular expressions."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=rel)
    except (SyntaxError, ValueError, RecursionError) as error:
        where = f"{rel}:{error.lineno}" if isinstance(error, SyntaxError) and error.lineno else rel
        reason = error.msg if isinstance(error, SyntaxError) else str(error)
        return _scan_python_regex(text, rel), f"{where}: not valid Python ({reason}); scanned with regular expressions"
    found: list[tuple[int, int, Hit]] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if provider := _python_provider(alias.name):
                    aliases[alias.asname or alias.name.split(".")[0]] = provider
                    hit = Hit(rel, node.lineno, "python", provider, f"import {alias.name}",
                              capabilities=_import_capabilities(alias.name, []))
                    found.append((node.lineno, node.col_offset, hit))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [alias.name for alias in node.names]
            module = node.module
            provider = _python_provider(module)
            if provider is None:
                module = next((f"{module}.{n}" for n in names if _python_provider(f"{module}.{n}")), module)
                provider = _python_provider(module)
            if provider:
                aliases.update({alias.asname or alias.name: provider for alias in node.names})
                found.append((node.lineno, node.col_offset, Hit(rel, node.lineno, "python", provider,
                                                                f"import {module}",
                                                                capabilities=_import_capabilities(module, names))))
    vendors = {hit.provider for _, _, hit in found} - FRAMEWORKS
    constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
    variables: dict[str, str] = {}
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Assign)), key=lambda n: n.lineno):
        if isinstance(node.value, ast.Call):
            provider = "bedrock" if _bedrock_service(node.value) else _resolve(node.value.func, aliases, variables)[0]
            if provider:
                variables.update({name: provider for t in node.targets if (name := _dotted(t))})
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found.extend((node.lineno, node.col_offset, hit)
                         for hit in _call_hits(node, rel, aliases, variables, constants, vendors))
    return [hit for _, _, hit in sorted(found, key=lambda item: (item[0], item[1]))], None


def _call_hits(node: ast.Call, rel: str, aliases: dict[str, str], variables: dict[str, str],
               constants: dict[str, str], vendors: set[str]) -> list[Hit]:
    if service := _bedrock_service(node):
        return [Hit(rel, node.lineno, "python", "bedrock", f"{_dotted(node.func)}({service})")]
    callee, what = _resolve(node.func, aliases, variables)
    models = [_literal(kw.value, constants) for kw in node.keywords if kw.arg in MODEL_KEYWORDS]
    if what.rsplit(".", 1)[-1] in MODEL_CONSTRUCTORS and node.args:
        models.append(_literal(node.args[0], constants))
    hits = []
    for model in filter(None, models):
        if named := _model_provider(model, callee, vendors):
            capability = _capability(what, named[1])
            hits.append(Hit(rel, node.lineno, "python", named[0], what, named[1],
                            (capability,) if capability else ()))
    if not hits and callee and (capability := _capability(what, None)):
        hits.append(Hit(rel, node.lineno, "python", callee, what, capabilities=(capability,)))
    return hits


def _dotted(expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        base = _dotted(expr.value)
        return f"{base}.{expr.attr}" if base else None
    if isinstance(expr, ast.Call):
        return _dotted(expr.func)
    return None


def _resolve(func: ast.expr, aliases: dict[str, str], variables: dict[str, str]) -> tuple[str | None, str]:
    """The provider a call is made on (or None) and how the call is shown (a client variable's name dropped)."""
    dotted = _dotted(func)
    if dotted is None:
        return None, func.attr if isinstance(func, ast.Attribute) else "call"
    parts = dotted.split(".")
    for size in range(len(parts), 0, -1):
        prefix = ".".join(parts[:size])
        if prefix in variables:
            return variables[prefix], ".".join(parts[size:]) or prefix
    return aliases.get(parts[0]), dotted


def _literal(expr: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value or None
    return constants.get(expr.id) if isinstance(expr, ast.Name) else None


def _bedrock_service(node: ast.Call) -> str | None:
    if not (isinstance(node.func, ast.Attribute) and node.func.attr == "client"):
        return None
    values = [*node.args[:1], *(kw.value for kw in node.keywords if kw.arg == "service_name")]
    services = {v.value for v in values if isinstance(v, ast.Constant) and v.value in BEDROCK_SERVICES}
    return str(services.pop()) if services else None


def _scan_python_regex(text: str, rel: str) -> list[Hit]:
    found: list[tuple[int, Hit]] = []
    for match in _PY_IMPORT.finditer(text):
        line = _line(text, match.start(1) if match.group(1) else match.start(3))
        names = [n.split()[0] for n in (match.group(2) or match.group(3)).split(",") if n.split()]
        modules = [m for m in ([match.group(1), *(f"{match.group(1)}.{n}" for n in names)] if match.group(1)
                               else names) if _python_provider(m)]
        for module in modules[:1] if match.group(1) else modules:
            found.append((match.start(), Hit(rel, line, "python", str(_python_provider(module)), f"import {module}",
                                             capabilities=_import_capabilities(module, names))))
    vendors = {hit.provider for _, hit in found} - FRAMEWORKS
    for match in _PY_BEDROCK.finditer(text):
        found.append((match.start(), Hit(rel, _line(text, match.start()), "python", "bedrock",
                                         f"client({match.group(2)})")))
    for match in _PY_MODEL.finditer(text):
        if named := _model_provider(match.group(3), None, vendors):
            found.append((match.start(), Hit(rel, _line(text, match.start()), "python", named[0], f"{match.group(1)}=",
                                             named[1], ("embeddings" if "embed" in named[1] else "text-generation",))))
    return [hit for _, hit in sorted(found, key=lambda item: item[0])]


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _scan_js(text: str, rel: str, language: Language) -> list[Hit]:
    """Hits in one JavaScript or TypeScript file."""
    found: list[tuple[int, Hit]] = []
    for match in _JS_IMPORT.finditer(text):
        parts = match.group(2).split("/")
        package = "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]
        provider = JS_PACKAGES.get(package) or ("langchain" if package.startswith("@langchain/") else None)
        provider = provider or ("llamaindex" if package.startswith("@llamaindex/") else None)
        if provider:
            found.append((match.start(2), Hit(rel, _line(text, match.start(2)), language, provider, f"import {package}",
                                              capabilities=_import_capabilities(match.group(2), []))))
    imported = {hit.provider for _, hit in found}
    vendors = imported - FRAMEWORKS
    for match in _JS_PROVIDER_CALL.finditer(text):
        if match.group(1) in imported:
            what = f"{match.group(1)}.{match.group(2)}()" if match.group(2) else f"{match.group(1)}()"
            model = match.group(4)
            found.append((match.start(), Hit(rel, _line(text, match.start()), language, match.group(1), what, model,
                                             (_capability(what, model) or "text-generation",))))
    for match in _JS_MODEL.finditer(text):
        if named := _model_provider(match.group(3), None, vendors):
            found.append((match.start(), Hit(rel, _line(text, match.start()), language, named[0], f"{match.group(1)}:",
                                             named[1], (_capability("", named[1]) or "text-generation",))))
    for pattern, provider, capability in _JS_CALLS:
        if provider in imported:
            found.extend((m.start(), Hit(rel, _line(text, m.start()), language, provider, m.group(1),
                                         capabilities=(capability,))) for m in pattern.finditer(text))
    return [hit for _, hit in sorted(found, key=lambda item: item[0])]


def _unit_of(file: PurePosixPath, root: Path) -> PurePosixPath:
    for directory in file.parents:
        if any((root / directory / marker).is_file() for marker in UNIT_MARKERS):
            return directory
    return PurePosixPath(file.parts[0]) if len(file.parts) > 1 else PurePosixPath(".")


def _propose(root: Path, hits: list[Hit], *, team: str | None, owner: str | None) -> list[DiscoveredAsset]:
    units: dict[PurePosixPath, list[Hit]] = {}
    for hit in hits:
        units.setdefault(_unit_of(PurePosixPath(hit.file), root), []).append(hit)
    names = {unit: root.resolve().name if unit == PurePosixPath(".") else unit.name for unit in units}
    taken = Counter(slugify(name, prefix="code") for name in names.values())
    rules = _codeowners(root)
    assets = []
    for unit, unit_hits in units.items():
        ident = slugify(names[unit], prefix="code")
        if taken[ident] > 1:
            ident = slugify(unit.as_posix(), prefix="code")
        counts = Counter(hit.provider for hit in unit_hits)
        ranked = sorted(counts, key=lambda p: (-counts[p], p))
        vendors = [p for p in ranked if p not in FRAMEWORKS] or ranked
        capabilities = sorted({c for hit in unit_hits for c in hit.capabilities})
        purpose = _describe(root / unit) or f"Code in {names[unit]} using {', '.join(ranked)}"
        spec = AssetSpec(
            id=ident, name=names[unit], kind="agent" if "agent-framework" in capabilities else "automation",
            vendor=", ".join(vendors), team=team or UNASSIGNED_TEAM, owner=owner or _owner_for(rules, unit),
            purpose=purpose, capabilities=capabilities, stage="experiment",
            models=sorted({f"{hit.provider}:{hit.model}" for hit in unit_hits if hit.model}))
        first = unit_hits[0]
        assets.append(DiscoveredAsset(spec, Provenance((root / unit).as_posix(), f"{first.file}:{first.line}", "code"),
                                      tuple(hit.evidence() for hit in unit_hits)))
    return sorted(assets, key=lambda found: found.asset.id)


def _describe(directory: Path) -> str | None:
    """The first paragraph of the README, else the pyproject or package.json description."""
    for readme in sorted(directory.glob("README*")):
        if readme.is_file() and (paragraph := _first_paragraph(readme.read_text(encoding="utf-8", errors="replace"))):
            return paragraph
    try:
        if (pyproject := directory / "pyproject.toml").is_file():
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            described = data.get("project", {}).get("description") or data.get("tool", {}).get("poetry", {}).get(
                "description")
            if isinstance(described, str) and described.strip():
                return described.strip()
        if (package := directory / "package.json").is_file():
            described = json.loads(package.read_text(encoding="utf-8")).get("description")
            if isinstance(described, str) and described.strip():
                return described.strip()
    except (ValueError, AttributeError, OSError):
        return None
    return None


def _first_paragraph(text: str) -> str | None:
    paragraph: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and set(line) <= set("=-~*^#"):  # an underline makes the line above it a title
            if len(paragraph) > 1:
                break
            paragraph = []
        elif not line or line.startswith(("#", "<", "![", "[![", "..")):
            if paragraph:
                break
        else:
            paragraph.append(line)
    joined = " ".join(paragraph)
    return (joined[:297] + "...") if len(joined) > 300 else joined or None


def _codeowners(root: Path) -> list[tuple[str, str]]:
    """``(pattern, first owner)`` rules of the tree's CODEOWNERS file, in file order."""
    for candidate in (root / "CODEOWNERS", root / ".github" / "CODEOWNERS", root / "docs" / "CODEOWNERS"):
        if candidate.is_file():
            rules = []
            for line in candidate.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 2:
                    rules.append((parts[0], parts[1]))
            return rules
    return []


def _owner_for(rules: list[tuple[str, str]], unit: PurePosixPath) -> str | None:
    """The owner of the last CODEOWNERS rule covering the unit's directory (GitHub's last-match-wins)."""
    owner = None
    parts = unit.parts if unit != PurePosixPath(".") else ()
    for pattern, who in rules:
        anchored = pattern.startswith("/") or "/" in pattern.strip("/")
        bare = pattern.strip("/")
        if bare in ("*", "**") or (anchored and any(fnmatch.fnmatchcase("/".join(parts[:size]), bare)
                                                    for size in range(1, len(parts) + 1))) or (
                not anchored and any(fnmatch.fnmatchcase(part, bare) for part in parts)):
            owner = who
    return owner
