"""The n8n importer: realistic exports become automation assets; broken ones fail with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton.catalog.importers.n8n import N8nImporter
from baton.catalog.model import UNASSIGNED_TEAM, DiscoveredAsset
from baton.errors import SpecError

FIXTURES = Path(__file__).parent / "fixtures" / "n8n"


def read(name: str) -> list[DiscoveredAsset]:
    path = FIXTURES / name
    return N8nImporter().read(path, path.read_text(encoding="utf-8"))


def read_text(text: str, name: str = "export.json") -> list[DiscoveredAsset]:
    return N8nImporter().read(Path(name), text)


def workflow(name: str = "Flow", nodes: object = None, **extra: object) -> dict[str, object]:
    return {"name": name, "nodes": [] if nodes is None else nodes, "connections": {}, **extra}


def test_inbound_lead_workflow_becomes_a_sales_automation() -> None:
    [found] = read("inbound-lead.json")
    asset = found.asset
    assert asset.id == "n8n-inbound-lead-scoring"
    assert asset.name == "Inbound lead scoring"
    assert (asset.kind, asset.vendor, asset.stage) == ("automation", "n8n", "production")
    assert (asset.team, asset.owner) == ("sales", "dana@acme.example")
    assert asset.purpose == ("Scores every inbound lead from the website form with GPT-4o-mini "
                             "and routes hot leads to sales.")
    assert asset.capabilities == ["text-generation"]
    assert asset.models == ["openai:gpt-4o-mini"]
    assert asset.data == ["company", "contact", "message"]
    assert asset.feeds == []
    assert asset.notes == ""
    assert (found.provenance.kind, found.provenance.locator) == ("n8n", "workflow Q2xKk7M3p9sYtR1a")
    assert found.provenance.source.endswith("inbound-lead.json")
    assert found.evidence == (
        "workflow is active in n8n",
        "trigger node 'Website form' (n8n-nodes-base.webhook): POST /inbound-lead",
        "node 'Score lead' (@n8n/n8n-nodes-langchain.openAi): AI node → text-generation using openai:gpt-4o-mini",
        "node 'Update HubSpot contact' (n8n-nodes-base.hubspot) uses credential hubspotAppToken "
        "('HubSpot app token'): hubspot holds contact, company",
        "node 'Notify sales' (n8n-nodes-base.slack) sends to slack (#sales-hot-leads)",
        "node 'Notify sales' (n8n-nodes-base.slack) uses credential slackApi ('Slack bot'): slack holds message",
        "tags: leads",
    )


def test_support_triage_agent_with_disabled_and_unknown_nodes() -> None:
    [found] = read("support-triage.json")
    asset = found.asset
    assert asset.id == "n8n-support-ticket-triage"
    assert (asset.stage, asset.team, asset.owner) == ("experiment", "support", None)
    assert asset.capabilities == ["chat-agent", "classification", "text-generation"]  # summarization is disabled
    assert asset.models == ["anthropic:claude-3-5-sonnet-20241022"]
    assert asset.data == ["contact", "ticket"]
    assert asset.purpose == ("n8n workflow 'Support ticket triage': zendesk trigger → chat-agent, classification, "
                             "text-generation (anthropic:claude-3-5-sonnet-20241022) → zendesk, foo bar")
    assert "node 'Summarize thread' (@n8n/n8n-nodes-langchain.chainSummarization) is disabled: ignored" \
        in found.evidence
    assert "node 'Enrich with FooBar' (n8n-nodes-custom.fooBar): unknown node type, kept as a generic step" \
        in found.evidence
    assert "node 'Triage agent' (@n8n/n8n-nodes-langchain.agent): AI node → chat-agent" in found.evidence
    assert "node 'Classify ticket' (@n8n/n8n-nodes-langchain.textClassifier): AI node → classification" \
        in found.evidence


def test_workflow_without_ai_is_still_an_automation() -> None:
    [found] = read("nightly-sync.json")
    asset = found.asset
    assert asset.id == "n8n-nightly-orders-sync"
    assert (asset.stage, asset.team, asset.owner) == ("production", UNASSIGNED_TEAM, None)
    assert (asset.capabilities, asset.models, asset.feeds) == ([], [], [])
    assert asset.data == ["database", "document"]
    assert asset.notes == "no AI nodes"
    assert asset.purpose == "n8n workflow 'Nightly orders sync': schedule trigger → postgres, google sheets"
    assert found.evidence[-1] == "no AI node found: an automation without AI"
    assert "trigger node 'Every night at 2am' (n8n-nodes-base.scheduleTrigger)" in found.evidence


def test_array_export_links_workflows_and_reads_models_from_http_bodies() -> None:
    router, research = read("lead-enrichment-all.json")
    assert router.asset.id == "n8n-lead-enrichment-router"
    assert router.asset.feeds == ["n8n-company-research-gpt"]
    assert router.asset.notes == "no AI nodes"
    assert (router.asset.team, router.asset.stage) == ("sales", "production")
    assert router.provenance.locator == "workflow EnR1cHr0ut3r0001"
    assert ("node 'Research company' (n8n-nodes-base.executeWorkflow) hands work to workflow "
            "Company research (GPT) → n8n-company-research-gpt") in router.evidence
    assert any(line.startswith("node 'Clearbit lookup' (n8n-nodes-base.httpRequest) calls https://company.clearbit")
               for line in router.evidence)
    assert research.asset.id == "n8n-company-research-gpt"
    assert (research.asset.capabilities, research.asset.models) == (["text-generation"], ["openai:gpt-4o"])
    assert (research.asset.owner, research.asset.stage, research.asset.notes) == ("li@acme.example", "experiment", "")
    assert research.asset.data == []


def test_malformed_json_names_file_and_line() -> None:
    with pytest.raises(SpecError) as error:
        read("malformed.json")
    assert error.value.location.line == 14
    assert str(error.value).startswith(f"{FIXTURES / 'malformed.json'}:14: malformed JSON: Expecting ',' delimiter")


def test_recognises_workflow_json_only() -> None:
    importer = N8nImporter()
    for name in ("inbound-lead.json", "lead-enrichment-all.json", "malformed.json"):
        assert importer.recognises(FIXTURES / name, (FIXTURES / name).read_text(encoding="utf-8"))
    assert not importer.recognises(Path("a.json"), '{"name": "x", "nodes": []}')
    assert not importer.recognises(Path("a.json"), "[]")
    assert not importer.recognises(Path("a.json"), "[1, 2]")
    assert not importer.recognises(Path("a.yaml"), json.dumps(workflow()))
    assert not importer.recognises(Path("a.json"), "{not json")


def test_top_level_that_is_not_a_workflow() -> None:
    with pytest.raises(SpecError, match=r"^x\.json:1: workflow 1 is not an n8n workflow"):
        read_text('{"name": "Flow", "nodes": []}', "x.json")
    text = json.dumps([workflow("A"), {"name": "B"}], indent=2)
    with pytest.raises(SpecError, match=r"^x\.json:8: workflow 2 is not an n8n workflow") as error:
        read_text(text, "x.json")
    assert text.splitlines()[error.value.location.line - 1] == '    "name": "B"'


def test_nodes_must_be_a_list() -> None:
    text = json.dumps(workflow("Flow", nodes={"a": 1}), indent=2)
    with pytest.raises(SpecError, match=r"^x\.json:3: nodes: nodes of workflow 'Flow' must be a list, not dict"):
        read_text(text, "x.json")


def test_node_without_type_names_its_line() -> None:
    nodes = [{"id": "n1", "name": "Start", "type": "n8n-nodes-base.manualTrigger", "parameters": {}},
             {"id": "n2", "name": "Mystery", "parameters": {}}]
    text = json.dumps(workflow("Flow", nodes=nodes), indent=2)
    with pytest.raises(SpecError) as error:
        read_text(text, "x.json")
    assert error.value.location.line == text.splitlines().index('      "id": "n2",') + 1
    assert error.value.location.field == "nodes[1].type"
    assert "node Mystery of workflow 'Flow' has no type" in str(error.value)


def test_unknown_node_types_never_raise() -> None:
    nodes = [{"id": "n1", "name": "Weird", "type": "n8n-nodes-acme.thing", "parameters": {"x": [1, {"y": None}]}},
             {"id": "n2", "name": "Odd", "type": "@acme/n8n-nodes-x.aiMagic", "parameters": "not a dict",
              "credentials": {"acmeApi": {"id": "1", "name": "Acme"}}}]
    [found] = read_text(json.dumps(workflow("Odd one", nodes=nodes)))
    assert found.asset.capabilities == []
    assert found.asset.notes == "no AI nodes"
    assert "node 'Weird' (n8n-nodes-acme.thing): unknown node type, kept as a generic step" in found.evidence
    assert ("node 'Odd' (@acme/n8n-nodes-x.aiMagic) uses credential acmeApi ('Acme'): "
            "system not mapped to data classes") in found.evidence


def test_colliding_names_get_the_n8n_id() -> None:
    text = json.dumps([workflow("Lead sync", id="aaa1"), workflow("Lead sync", id="bbb2"), workflow("Lead sync")])
    assert [found.asset.id for found in read_text(text)] == ["n8n-lead-sync", "n8n-lead-sync-bbb2", "n8n-lead-sync-3"]


@pytest.mark.parametrize(("node_type", "parameters", "capability", "models"), [
    ("@n8n/n8n-nodes-langchain.lmChatOpenAi", {"model": {"__rl": True, "value": "gpt-4o", "mode": "list"}},
     "text-generation", ["openai:gpt-4o"]),
    ("@n8n/n8n-nodes-langchain.lmChatGoogleGemini", {"modelName": "models/gemini-1.5-flash"},
     "text-generation", ["google:gemini-1.5-flash"]),
    ("@n8n/n8n-nodes-langchain.lmChatOllama", {"model": "llama3.2:latest"}, "text-generation",
     ["ollama:llama3.2:latest"]),
    ("@n8n/n8n-nodes-langchain.lmChatAzureOpenAi", {"model": "gpt-4o-deploy"}, "text-generation",
     ["azure-openai:gpt-4o-deploy"]),
    ("@n8n/n8n-nodes-langchain.lmChatAwsBedrock", {"model": "anthropic.claude-3-haiku-20240307-v1:0"},
     "text-generation", ["bedrock:anthropic.claude-3-haiku-20240307-v1:0"]),
    ("@n8n/n8n-nodes-langchain.lmChatGroq", {"model": "={{ $json.model }}"}, "text-generation", []),
    ("@n8n/n8n-nodes-langchain.lmChatMistralCloud", {"model": "mistral-large-latest"}, "text-generation",
     ["mistral:mistral-large-latest"]),
    ("@n8n/n8n-nodes-langchain.chainSummarization", {}, "summarization", []),
    ("@n8n/n8n-nodes-langchain.chainRetrievalQa", {}, "retrieval", []),
    ("@n8n/n8n-nodes-langchain.sentimentAnalysis", {}, "sentiment-analysis", []),
    ("@n8n/n8n-nodes-langchain.informationExtractor", {}, "extraction", []),
    ("@n8n/n8n-nodes-langchain.embeddingsOpenAi", {"options": {"model": "text-embedding-3-small"}}, "embeddings",
     ["openai:text-embedding-3-small"]),
    ("@n8n/n8n-nodes-langchain.vectorStorePinecone", {"mode": "retrieve-as-tool"}, "retrieval", []),
    ("@n8n/n8n-nodes-langchain.openAi", {"resource": "image", "model": "dall-e-3"}, "image-generation",
     ["openai:dall-e-3"]),
    ("n8n-nodes-base.openAi", {"resource": "chat", "model": "gpt-3.5-turbo"}, "text-generation",
     ["openai:gpt-3.5-turbo"]),
    ("n8n-nodes-base.httpRequest", {"url": "https://api.anthropic.com/v1/messages",
                                    "bodyParameters": {"parameters": [{"name": "model", "value": "claude-3-haiku"}]}},
     "text-generation", ["anthropic:claude-3-haiku"]),
    ("n8n-nodes-base.httpRequest", {"url": "https://acme.openai.azure.com/openai/deployments/emb/embeddings"},
     "embeddings", []),
    ("n8n-nodes-base.httpRequest", {"url": "https://bedrock-runtime.eu-west-1.amazonaws.com/model/amazon.titan-text-express-v1/invoke"},
     "text-generation", ["bedrock:amazon.titan-text-express-v1"]),
])
def test_ai_node_mapping(node_type: str, parameters: dict[str, object], capability: str, models: list[str]) -> None:
    nodes = [{"id": "n1", "name": "AI", "type": node_type, "typeVersion": 1, "parameters": parameters}]
    [found] = read_text(json.dumps(workflow("AI flow", nodes=nodes)))
    assert (found.asset.capabilities, found.asset.models, found.asset.notes) == ([capability], models, "")


def test_memory_and_tool_sub_nodes_are_not_capabilities() -> None:
    nodes = [{"id": "n1", "name": "Memory", "type": "@n8n/n8n-nodes-langchain.memoryBufferWindow", "parameters": {}},
             {"id": "n2", "name": "Web", "type": "n8n-nodes-base.httpRequest", "parameters": {"url": "={{ $json.u }}"}}]
    [found] = read_text(json.dumps(workflow("Helpers", nodes=nodes)))
    assert found.asset.capabilities == []
    assert "node 'Web' (n8n-nodes-base.httpRequest) calls a URL set by an expression" in found.evidence


@pytest.mark.parametrize(("credential", "data"), [
    ("salesforceOAuth2Api", ["company", "contact"]),
    ("gmailOAuth2", ["contact", "email-content"]),
    ("zendeskApi", ["contact", "ticket"]),
    ("stripeApi", ["financial", "payment_card"]),
    ("postgres", ["database"]),
    ("hubspotApi", ["company", "contact"]),
])
def test_credentials_reveal_data_classes(credential: str, data: list[str]) -> None:
    nodes = [{"id": "n1", "name": "System", "type": "n8n-nodes-base.noOp", "parameters": {},
              "credentials": {credential: {"id": "c1", "name": "account"}}}]
    [found] = read_text(json.dumps(workflow("Data", nodes=nodes)))
    assert found.asset.data == data


def test_feeds_from_webhook_calls_and_unresolved_workflow_ids() -> None:
    caller = workflow("Caller", id="c1", nodes=[
        {"id": "n1", "name": "Post", "type": "n8n-nodes-base.httpRequest",
         "parameters": {"url": "https://n8n.acme.example/webhook/intake"}},
        {"id": "n2", "name": "Run", "type": "n8n-nodes-base.executeWorkflow", "parameters": {"workflowId": "987"}},
        {"id": "n3", "name": "Dynamic", "type": "n8n-nodes-base.executeWorkflow",
         "parameters": {"workflowId": "={{ $json.target }}"}},
    ])
    intake = workflow("Intake", id="i1", nodes=[
        {"id": "n4", "name": "Hook", "type": "n8n-nodes-base.webhook", "parameters": {"path": "intake"}}])
    found, _ = read_text(json.dumps([caller, intake]))
    assert found.asset.feeds == ["n8n-intake", "n8n-987"]
    assert "node 'Dynamic' (n8n-nodes-base.executeWorkflow) runs a workflow that cannot be identified from the export" \
        in found.evidence


def test_team_tag_forms_and_plain_string_tags() -> None:
    [found] = read_text(json.dumps(workflow("Tagged", tags=["team/ops", "owner: li@acme.example", "misc"])))
    assert (found.asset.team, found.asset.owner) == ("ops", "li@acme.example")
    assert "tags: misc" in found.evidence


def test_sticky_note_markdown_is_stripped() -> None:
    sticky = {"id": "s", "name": "Note", "type": "n8n-nodes-base.stickyNote",
              "parameters": {"content": "# Title\n- Sends the **daily** [digest](https://x.example) to `#ops`! More."}}
    [found] = read_text(json.dumps(workflow("Digest", nodes=[sticky])))
    assert found.asset.purpose == "Sends the daily digest to #ops!"
