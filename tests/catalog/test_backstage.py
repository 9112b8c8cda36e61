"""The Backstage importer: AI entities of catalog-info.yaml become assets; broken files fail with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from baton.catalog.importers.backstage import BackstageImporter
from baton.catalog.model import UNASSIGNED_TEAM, DiscoveredAsset
from baton.errors import SpecError

FIXTURES = Path(__file__).parent / "fixtures" / "backstage"


def read(name: str, importer: BackstageImporter | None = None) -> dict[str, DiscoveredAsset]:
    path = FIXTURES / name
    found = (importer or BackstageImporter()).read(path, path.read_text(encoding="utf-8"))
    return {item.asset.id: item for item in found}


def read_text(text: str, importer: BackstageImporter | None = None) -> list[DiscoveredAsset]:
    return (importer or BackstageImporter()).read(Path("catalog-info.yaml"), textwrap.dedent(text).lstrip())


def test_multi_document_catalog_keeps_ai_entities_in_order() -> None:
    importer = BackstageImporter()
    found = read("catalog-info.yaml", importer)
    assert list(found) == ["lead-scorer", "crm-mcp", "lead-vectors", "sales-copilot"]
    assert importer.last_skipped == 4  # System, Group, billing-portal, billing-api


def test_llm_component() -> None:
    found = read("catalog-info.yaml")["lead-scorer"]
    asset = found.asset
    assert (asset.name, asset.kind, asset.vendor) == ("Lead Scorer", "automation", "")
    assert (asset.team, asset.owner, asset.stage) == ("sales", None, "production")
    assert asset.purpose == "Scores inbound leads with GPT-4o and writes the score back to the CRM."
    assert asset.capabilities == ["classification", "text-generation"]
    assert asset.models == ["openai:gpt-4o"]
    assert asset.data == ["company", "contact"]
    assert asset.monthly_cost == 420.0
    assert asset.feeds == ["lead-vectors"]
    assert found.provenance.kind == "backstage"
    assert found.provenance.locator == "Component:default/lead-scorer at line 22"
    assert found.evidence == (
        "Component:default/lead-scorer is AI: tag llm, annotation openai.com/model, "
        "annotation baton.dev/monthly-cost, annotation baton.dev/data",
        "owner group:sales → team sales",
        "lifecycle production → stage production",
        "depends on resource:lead-vectors → feeds lead-vectors",
        "depends on resource:default/crm-postgres (not defined in this file)",
        "part of system lead-management",
        "provides API lead-scoring-api",
    )


def test_mcp_server_api() -> None:
    found = read("catalog-info.yaml")["crm-mcp"]
    asset = found.asset
    assert (asset.name, asset.kind, asset.stage, asset.team) == ("CRM MCP server", "automation", "experiment", "sales")
    assert asset.capabilities == ["mcp-server"]
    assert found.provenance.locator == "API:default/crm-mcp at line 51"
    assert found.evidence[0] == "API:default/crm-mcp is AI: spec.type mcp-server, tag mcp"


def test_rag_resource() -> None:
    asset = read("catalog-info.yaml")["lead-vectors"].asset
    assert (asset.name, asset.kind, asset.stage, asset.team) == ("lead-vectors", "automation", "pilot", "platform")
    assert asset.capabilities == ["retrieval"]
    assert (asset.models, asset.feeds, asset.monthly_cost) == ([], [], 0)


def test_ai_resource_agent_owned_by_a_user() -> None:
    found = read("catalog-info.yaml")["sales-copilot"]
    asset = found.asset
    assert (asset.name, asset.kind, asset.stage) == ("Sales Copilot", "agent", "experiment")
    assert (asset.team, asset.owner) == ("sales", "dana")
    assert asset.capabilities == ["chat-agent"]
    assert asset.models == ["anthropic:claude-3-5-sonnet"]
    assert asset.monthly_cost == 1250.5
    assert asset.feeds == ["lead-scorer", "crm-mcp"]
    assert "depends on api:billing-api (not an AI entity)" in found.evidence
    assert found.evidence[0] == "AiResource:default/sales-copilot is AI: kind AiResource, spec.type agent, " \
        "annotation baton.dev/monthly-cost"


def test_non_default_namespace_prefixes_the_id() -> None:
    found = read("payments-catalog.yaml")["payments-fraud-model"]
    asset = found.asset
    assert (asset.kind, asset.team, asset.owner, asset.stage) == ("model", "risk", None, "retired")
    assert asset.capabilities == ["ml-prediction"]
    assert asset.models == ["huggingface:acme/fraud-detector-v2"]
    assert asset.purpose.startswith("Gradient-boosted fraud score")
    assert found.provenance.locator == "Component:payments/fraud-model at line 1"


def test_malformed_yaml_names_file_and_line() -> None:
    with pytest.raises(SpecError) as error:
        read("malformed.yaml")
    assert error.value.location.line == 6
    assert str(error.value) == (f"{FIXTURES / 'malformed.yaml'}:6: malformed YAML: expected ',' or ']', but got ':' "
                                "(while parsing a flow sequence at line 5)")


def test_missing_metadata_name() -> None:
    with pytest.raises(SpecError) as error:
        read("missing-name.yaml")
    assert str(error.value) == (f"{FIXTURES / 'missing-name.yaml'}:12: metadata.name: is required "
                                "(every Backstage entity needs metadata.name)")


def test_missing_metadata_entirely_points_at_the_document() -> None:
    with pytest.raises(SpecError, match=r"^catalog-info\.yaml:3: metadata\.name: is required"):
        read_text("""
            # comment
            ---
            apiVersion: backstage.io/v1alpha1
            kind: Component
            spec: {type: agent}
            """)


def test_duplicate_entity_refs() -> None:
    with pytest.raises(SpecError) as error:
        read_text("""
            apiVersion: backstage.io/v1alpha1
            kind: Component
            metadata: {name: bot}
            ---
            apiVersion: backstage.io/v1alpha1
            kind: Component
            metadata:
              name: Bot
            """)
    assert error.value.location.line == 8
    assert "entity Component:default/Bot is defined twice in this file (first at line 1)" in str(error.value)


def test_same_name_in_another_kind_gets_a_distinct_id() -> None:
    found = read_text("""
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: helper, tags: [llm]}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: API
        metadata: {name: helper, namespace: default}
        spec: {type: mcp}
        """)
    assert [item.asset.id for item in found] == ["helper", "helper-api"]
    assert found[0].asset.team == UNASSIGNED_TEAM


def test_duplicate_yaml_keys_are_errors() -> None:
    with pytest.raises(SpecError, match=r"^catalog-info\.yaml:5: metadata\.name: key 'name' is given twice"):
        read_text("""
            apiVersion: backstage.io/v1alpha1
            kind: Component
            metadata:
              name: a
              name: b
            """)


@pytest.mark.parametrize(("snippet", "reason"), [
    ("metadata: {name: x, tags: [genai]}", "tag genai"),
    ("metadata: {name: x, annotations: {acme.com/llm-provider: bedrock}}", "annotation acme.com/llm-provider"),
    ("metadata: {name: x, annotations: {ai.backstage.io/risk: low}}", "annotation ai.backstage.io/risk"),
    ("metadata: {name: x}\nspec: {type: chatbot}", "spec.type chatbot"),
])
def test_what_makes_an_entity_ai(snippet: str, reason: str) -> None:
    [found] = read_text(f"apiVersion: backstage.io/v1alpha1\nkind: Component\n{snippet}\n")
    assert found.evidence[0] == f"Component:default/x is AI: {reason}"


def test_non_ai_entities_are_skipped_and_counted() -> None:
    importer = BackstageImporter()
    found = read_text("""
        apiVersion: backstage.io/v1alpha1
        kind: Location
        metadata: {name: root}
        spec: {targets: [./a.yaml]}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: User
        metadata: {name: dana, tags: [ai]}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: website}
        spec: {type: website, owner: web}
        """, importer)
    assert (found, importer.last_skipped) == ([], 3)


def test_kinds_stages_owners_and_costs() -> None:
    found = read_text("""
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: helpdesk-assistant
          labels: {team: support, data: ticket}
          annotations: {baton.dev/monthly-cost: "lots", baton.dev/capabilities: "summarization, triage"}
        spec: {type: assistant, lifecycle: beta, owner: "user:default/li"}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata:
          name: support-bot
          annotations: {baton.dev/models: "openai:gpt-4o-mini, claude-3-haiku"}
        spec: {type: chatbot, owner: support-team}
        """)
    assistant, bot = (item.asset for item in found)
    assert (assistant.kind, assistant.stage, assistant.team, assistant.owner) == ("assistant", "pilot", "support", "li")
    assert (assistant.monthly_cost, assistant.data) == (0, ["ticket"])
    assert assistant.capabilities == ["conversation", "summarization", "triage"]
    assert "annotation baton.dev/monthly-cost 'lots' is not a non-negative number: ignored" in found[0].evidence
    assert (bot.kind, bot.team, bot.owner) == ("chatbot", "support-team", None)
    assert bot.models == ["openai:gpt-4o-mini", "claude-3-haiku"]


def test_recognises_backstage_yaml_only(tmp_path: Path) -> None:
    importer = BackstageImporter()
    for name in ("catalog-info.yaml", "payments-catalog.yaml", "malformed.yaml", "missing-name.yaml"):
        assert importer.recognises(FIXTURES / name, (FIXTURES / name).read_text(encoding="utf-8"))
    assert importer.recognises(Path("x.yml"), "apiVersion: acme.io/v1\nkind: AiResource\nmetadata: {name: a}\n")
    assert not importer.recognises(Path("x.yaml"), "assets:\n  - id: a\n")
    assert not importer.recognises(Path("x.yaml"), "apiVersion: apps/v1\nkind: Deployment\n")
    assert not importer.recognises(Path("x.yaml"), "a: [1\n")
    assert not importer.recognises(Path("catalog-info.json"), '{"apiVersion": "backstage.io/v1alpha1", "kind": "API"}')
