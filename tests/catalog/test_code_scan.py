"""The code scanner: AI SDK use in Python and JS/TS, grouped into one proposed asset per project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from baton.catalog.importers.code_scan import Hit, ScanResult, scan_tree
from baton.catalog.model import UNASSIGNED_TEAM, DiscoveredAsset, slugify
from baton.errors import NotFound

FIXTURES = Path(__file__).parent / "fixtures" / "code"


@pytest.fixture(scope="module")
def scanned() -> ScanResult:
    return scan_tree(FIXTURES)


def _asset(result: ScanResult, ident: str) -> DiscoveredAsset:
    return next(found for found in result.assets if found.asset.id == ident)


def _scan(tmp_path: Path, files: dict[str, str], **options: str) -> ScanResult:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return scan_tree(tmp_path, **options)


def _evidence(hits: list[Hit]) -> list[str]:
    return [hit.evidence() for hit in hits]


def test_every_hit_with_its_file_and_line(scanned: ScanResult) -> None:
    assert _evidence(scanned.hits) == [
        "reports/reports/legacy_export.py:3 anthropic import anthropic",
        "reports/reports/legacy_export.py:7 anthropic model= model=claude-3-opus-20240229",
        "reports/reports/summary.py:7 bedrock boto3.client(bedrock-runtime)",
        "reports/reports/summary.py:11 bedrock invoke_model model=anthropic.claude-3-haiku-20240307-v1:0",
        "sales-bot/bot/score.py:5 langchain import langgraph.graph",
        "sales-bot/bot/score.py:6 openai import openai",
        "sales-bot/bot/score.py:18 openai chat.completions.create model=gpt-4o-mini",
        "sales-bot/bot/score.py:26 openai embeddings.create model=text-embedding-3-small",
        "sales-bot/bot/score.py:29 langchain StateGraph",
        "sales-bot/tests/check_score.py:3 openai import openai",
        "support-agent/src/triage.ts:1 anthropic import @ai-sdk/anthropic",
        "support-agent/src/triage.ts:2 openai import @ai-sdk/openai",
        "support-agent/src/triage.ts:3 vercel-ai import ai",
        "support-agent/src/triage.ts:11 vercel-ai generateText",
        "support-agent/src/triage.ts:12 anthropic anthropic() model=claude-3-5-haiku-latest",
        "support-agent/src/triage.ts:20 vercel-ai embed",
        "support-agent/src/triage.ts:21 openai openai.embedding() model=text-embedding-3-small",
    ]
    assert {hit.language for hit in scanned.hits if hit.file.endswith(".ts")} == {"typescript"}


def test_node_modules_and_plain_code_propose_nothing(scanned: ScanResult) -> None:
    assert not any("node_modules" in hit.file for hit in scanned.hits)
    assert scanned.files_scanned == 9  # node_modules/openai/index.js is not read
    assert [found.asset.id for found in scanned.assets] == ["code-reports", "code-sales-bot", "code-support-agent"]


def test_a_syntax_error_falls_back_to_regular_expressions(scanned: ScanResult) -> None:
    [warning] = scanned.warnings
    assert warning.startswith("reports/reports/legacy_export.py:5: not valid Python")
    assert "regular expressions" in warning


def test_sales_bot_is_an_agent_owned_through_codeowners(scanned: ScanResult) -> None:
    found = _asset(scanned, "code-sales-bot")
    asset = found.asset
    assert (asset.name, asset.kind, asset.vendor, asset.owner, asset.team) == (
        "sales-bot", "agent", "openai", "@dana", UNASSIGNED_TEAM)
    assert asset.models == ["openai:gpt-4o-mini", "openai:text-embedding-3-small"]
    assert asset.capabilities == ["agent-framework", "embeddings", "text-generation"]
    assert asset.purpose == "Scores inbound leads and drafts the first reply for the sales team."
    assert asset.stage == "experiment"
    assert found.provenance.kind == "code"
    assert found.provenance.source == (FIXTURES / "sales-bot").as_posix()
    assert found.provenance.locator == "sales-bot/bot/score.py:5"
    assert "sales-bot/tests/check_score.py:3 openai import openai" in found.evidence


def test_support_agent_uses_the_vercel_ai_sdk(scanned: ScanResult) -> None:
    asset = _asset(scanned, "code-support-agent").asset
    assert (asset.kind, asset.vendor, asset.owner) == ("automation", "anthropic, openai", None)
    assert asset.models == ["anthropic:claude-3-5-haiku-latest", "openai:text-embedding-3-small"]
    assert asset.capabilities == ["embeddings", "text-generation"]
    assert asset.purpose == "Triages support tickets and suggests a first answer."


def test_reports_uses_bedrock_and_its_readme_is_the_purpose(scanned: ScanResult) -> None:
    asset = _asset(scanned, "code-reports").asset
    assert asset.models == ["anthropic:claude-3-opus-20240229", "bedrock:anthropic.claude-3-haiku-20240307-v1:0"]
    assert asset.purpose == "Writes the monthly revenue summary for the finance team with Claude on Amazon Bedrock."
    assert asset.owner is None  # /reports/bot/ in CODEOWNERS covers a folder inside it, not the unit


def test_team_and_owner_arguments_win() -> None:
    result = scan_tree(FIXTURES, team="growth", owner="lee@acme.example")
    assert {(found.asset.team, found.asset.owner) for found in result.assets} == {("growth", "lee@acme.example")}


def test_python_model_names_by_provider(tmp_path: Path) -> None:
    code = '''import litellm
from langchain_anthropic import ChatAnthropic
from langchain_openai import OpenAIEmbeddings
from crewai import Agent

MODEL = "gpt-4o"
llm = ChatAnthropic(model="claude-3-5-sonnet-20240620")
litellm.completion(model="groq/llama3-70b", messages=[])
litellm.completion(model=MODEL, messages=[])
Agent(role="r", goal="g", backstory="b")
vectors = OpenAIEmbeddings(model="text-embedding-3-large")
'''
    result = _scan(tmp_path, {"app.py": code, "requirements.txt": "litellm\n"})
    assert _evidence(result.hits) == [
        "app.py:1 litellm import litellm",
        "app.py:2 anthropic import langchain_anthropic",
        "app.py:3 openai import langchain_openai",
        "app.py:4 crewai import crewai",
        "app.py:7 anthropic ChatAnthropic model=claude-3-5-sonnet-20240620",
        "app.py:8 groq litellm.completion model=llama3-70b",
        "app.py:9 openai litellm.completion model=gpt-4o",
        "app.py:10 crewai Agent",
        "app.py:11 openai OpenAIEmbeddings model=text-embedding-3-large",
    ]
    [found] = result.assets
    assert found.asset.id == slugify(tmp_path.name, prefix="code")
    assert found.asset.kind == "agent"
    assert found.asset.vendor == "openai, anthropic, groq"
    assert found.asset.capabilities == ["agent-framework", "embeddings", "text-generation"]
    assert found.asset.purpose == f"Code in {tmp_path.name} using openai, anthropic, crewai, groq, litellm"


def test_google_vertex_huggingface_and_bedrock_clients(tmp_path: Path) -> None:
    code = '''import boto3
import vertexai
from google import genai
from sentence_transformers import SentenceTransformer
from vertexai.generative_models import GenerativeModel


class Summariser:
    def __init__(self) -> None:
        self.runtime = boto3.Session().client(service_name="bedrock-agent-runtime")
        self.gemini = genai.Client()

    def run(self, text: str) -> None:
        self.gemini.models.generate_content(model="gemini-2.0-flash", contents=text)
        self.gemini.models.embed_content(model="text-embedding-004", contents=text)
        GenerativeModel("gemini-1.5-pro")
        SentenceTransformer("all-MiniLM-L6-v2")
'''
    result = _scan(tmp_path, {"svc/main.py": code})
    assert _evidence(result.hits) == [
        "svc/main.py:2 vertex import vertexai",
        "svc/main.py:3 google import google.genai",
        "svc/main.py:4 huggingface import sentence_transformers",
        "svc/main.py:5 vertex import vertexai.generative_models",
        "svc/main.py:10 bedrock boto3.Session.client(bedrock-agent-runtime)",
        "svc/main.py:14 google models.generate_content model=gemini-2.0-flash",
        "svc/main.py:15 google models.embed_content model=text-embedding-004",
        "svc/main.py:16 vertex GenerativeModel model=gemini-1.5-pro",
        "svc/main.py:17 huggingface SentenceTransformer model=all-MiniLM-L6-v2",
    ]
    assert [found.asset.id for found in result.assets] == ["code-svc"]  # first-level directory, no marker


def test_javascript_require_and_model_properties(tmp_path: Path) -> None:
    code = """const OpenAI = require("openai");
const { BedrockRuntimeClient } = require('@aws-sdk/client-bedrock-runtime');
import { ChatAnthropic } from "@langchain/anthropic";
import { createReactAgent } from "@langchain/langgraph/prebuilt";

const client = new OpenAI();
await client.chat.completions.create({ model: "gpt-4o", messages });
const body = { modelId: 'anthropic.claude-3-haiku-20240307-v1:0' };
const unrelated = { model: 'sedan' };
"""
    result = _scan(tmp_path, {"web/package.json": "{}", "web/lib/agent.mjs": code, "web/README.md": "# Web\n"})
    assert _evidence(result.hits) == [
        "web/lib/agent.mjs:1 openai import openai",
        "web/lib/agent.mjs:2 bedrock import @aws-sdk/client-bedrock-runtime",
        "web/lib/agent.mjs:3 anthropic import @langchain/anthropic",
        "web/lib/agent.mjs:4 langchain import @langchain/langgraph",
        "web/lib/agent.mjs:7 openai chat.completions.create",
        "web/lib/agent.mjs:7 openai model: model=gpt-4o",
        "web/lib/agent.mjs:8 bedrock modelId: model=anthropic.claude-3-haiku-20240307-v1:0",
    ]
    [found] = result.assets
    assert found.asset.kind == "agent"
    assert found.asset.purpose == "Code in web using openai, bedrock, anthropic, langchain"


def test_codeowners_last_matching_rule_wins(tmp_path: Path) -> None:
    files = {"services/billing/app.py": "import openai\n", "services/billing/setup.py": "",
             "tools/x.py": "import anthropic\n", ".github/CODEOWNERS": "*  @platform\n/services/  @payments # team\n"}
    result = _scan(tmp_path, files)
    assert {found.asset.id: found.asset.owner for found in result.assets} == {
        "code-billing": "@payments", "code-tools": "@platform"}


def test_same_named_units_get_their_path_as_id(tmp_path: Path) -> None:
    files = {"a/api/package.json": "{}", "a/api/i.js": "import OpenAI from 'openai'\n",
             "b/api/package.json": "{}", "b/api/i.js": "import OpenAI from 'openai'\n"}
    assert [found.asset.id for found in _scan(tmp_path, files).assets] == ["code-a-api", "code-b-api"]


def test_root_level_files_and_large_files(tmp_path: Path) -> None:
    files = {"main.py": "import anthropic\n", "big.py": "import openai\n" + "#" * (1024 * 1024)}
    result = _scan(tmp_path, files)
    assert [hit.file for hit in result.hits] == ["main.py"]
    assert result.files_scanned == 1
    assert result.warnings == ["big.py: skipped, larger than 1 MiB"]
    assert result.assets[0].asset.name == tmp_path.name


def test_invalid_escapes_are_not_warnings(tmp_path: Path) -> None:
    result = _scan(tmp_path, {"p/x.py": 'import re\nimport openai\nPATTERN = "\\d+"\n'})
    assert _evidence(result.hits) == ["p/x.py:2 openai import openai"]
    assert result.warnings == []


def test_a_missing_root_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        scan_tree(tmp_path / "nowhere")


def test_the_fixture_tree_can_be_scanned_from_a_copy(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "repo")
    copied = scan_tree(tmp_path / "repo")
    assert _evidence(copied.hits) == _evidence(scan_tree(FIXTURES).hits)
    assert _asset(copied, "code-sales-bot").asset.owner == "@dana"


def test_hits_are_sorted_by_file_even_across_directory_levels(tmp_path: Path) -> None:
    result = _scan(tmp_path, {"b.py": "import openai\n", "a/x.py": "import anthropic\n", "c.ts": "import 'ai';\n"})
    assert [hit.file for hit in result.hits] == ["a/x.py", "b.py", "c.ts"]
    assert {found.asset.id for found in result.assets} == {"code-a", slugify(tmp_path.name, prefix="code")}
