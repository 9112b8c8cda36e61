"""The offline ``local`` provider and the provider registry, on real files in tmp_path."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from baton.errors import ConfigError, NotFound, SpecError
from baton.models import (
    Completion,
    CompletionRequest,
    LocalProvider,
    ModelError,
    ProviderRegistry,
    parse_model_ref,
    resolve_model,
)
from baton.spec.models import ClassifierSpec, OfflineSpec

_BILLING = [
    "I was charged twice on my invoice this month",
    "refund the duplicate payment on my credit card",
    "my invoice shows the wrong amount",
    "please update the billing address on the invoice",
    "why was my card charged after I cancelled",
    "I need a refund for last month's payment",
    "the payment failed but the invoice says paid",
    "send me a copy of the invoice and receipt",
    "charge on my statement I do not recognise",
    "change the card used for payment and billing",
    "invoice total includes tax twice",
    "requesting refund of the annual payment",
    "billing cycle date is wrong on my invoice",
]
_TECHNICAL = [
    "the app crashes when I open the dashboard",
    "error 500 when saving a report",
    "login page keeps spinning and never loads",
    "the export to CSV produces an empty file",
    "API returns timeout errors since the upgrade",
    "sync with the server fails with an error",
    "the mobile app crashes on startup",
    "password reset email never arrives and login fails",
    "page is blank after the latest update",
    "integration webhook returns error 401",
    "the dashboard charts do not load",
    "bug: saving settings throws an exception",
    "app freezes when uploading a large file",
]
_SALES = [
    "we want a quote for 200 seats",
    "can we get a demo of the enterprise plan",
    "pricing for a team of fifty people",
    "interested in upgrading to the enterprise tier",
    "do you offer volume discounts for seats",
    "book a demo with your sales team",
    "what does the premium plan cost per seat",
    "we are evaluating vendors and need a proposal",
    "talk to sales about a multi year contract",
    "quote for adding 30 more licenses",
    "enterprise plan trial and pricing please",
    "schedule a call about purchasing seats",
    "request proposal for company wide rollout",
]


def _write_csv(path: Path, rows: list[tuple[str, str]], header: str = "text,label") -> Path:
    lines = [header] + [f'"{text}",{label}' for text, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def workflow_dir(tmp_path: Path) -> Path:
    """A workflow directory with ticket training data and an offline routing template."""
    rows = (
        [(t, "billing") for t in _BILLING]
        + [(t, "technical") for t in _TECHNICAL]
        + [(t, "sales") for t in _SALES]
    )
    (tmp_path / "data").mkdir()
    _write_csv(tmp_path / "data" / "tickets.csv", rows)
    (tmp_path / "offline").mkdir()
    (tmp_path / "offline" / "route.yaml.j2").write_text(
        "queue: {{ prediction.label | tojson }}\n"
        "confidence: {{ prediction.confidence }}\n"
        "customer: {{ input.customer | tojson }}\n"
        "urgent: {{ (prediction.label == 'technical') | tojson }}\n"
        "due: 2025-01-31\n",
        encoding="utf-8",
    )
    (tmp_path / "offline" / "draft.yaml.j2").write_text(
        "subject: {{ ('Re: ' ~ input.subject) | tojson }}\nbody: {{ input.message | tojson }}\n",
        encoding="utf-8",
    )
    return tmp_path


_ROUTE = OfflineSpec(
    classifier=ClassifierSpec(train="data/tickets.csv", text="{{ input.subject }} {{ input.message }}"),
    template="offline/route.yaml.j2",
)


def _request(
    base_dir: Path, offline: OfflineSpec | None, subject: str, message: str, prompt: str = "Route this."
) -> CompletionRequest:
    return CompletionRequest(
        prompt=prompt,
        output_schema=None,
        context={"input": {"subject": subject, "message": message, "customer": 'Acme: "East"'}, "steps": {}},
        offline=offline,
        base_dir=base_dir,
        model="",
        step="support/route",
    )


def test_classifier_routes_an_obvious_ticket_and_the_template_shapes_the_output(workflow_dir: Path) -> None:
    provider = LocalProvider()
    request = _request(
        workflow_dir,
        _ROUTE,
        "Refund",
        "I was charged twice, please refund the payment on my invoice",
        prompt="Route this support ticket to a queue.",
    )

    completion = provider.complete(request)

    assert completion.provider == "local"
    assert completion.model == "local/tickets+route"
    assert completion.output["queue"] == "billing"
    assert completion.output["confidence"] > 0.5
    assert completion.output["customer"] == 'Acme: "East"'
    assert completion.output["urgent"] is False
    assert completion.output["due"] == "2025-01-31"  # a string: outputs are JSON, which has no dates
    assert completion.input_tokens == 7  # words in the prompt
    # words in the rendered YAML: queue: "billing" confidence: 0.x customer: "Acme: \"East\"" urgent: ...
    assert completion.output_tokens == 11
    assert completion.cost_usd == 0.0


@pytest.mark.parametrize(
    ("subject", "message", "label"),
    [
        ("Crash", "the app crashes with an error when I open the dashboard", "technical"),
        ("Pricing", "we would like a quote and a demo of the enterprise plan for 80 seats", "sales"),
        ("Invoice", "my invoice total is wrong and I need a refund", "billing"),
    ],
)
def test_prediction_is_the_obvious_label_with_probabilities(
    workflow_dir: Path, subject: str, message: str, label: str
) -> None:
    classifier = LocalProvider().classifier(workflow_dir / "data" / "tickets.csv")

    prediction = classifier.predict(f"{subject} {message}")

    assert prediction["label"] == label
    assert prediction["confidence"] > 0.5
    assert set(prediction["probabilities"]) == {"billing", "sales", "technical"}
    assert prediction["confidence"] == max(prediction["probabilities"].values())
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert classifier.labels == ("billing", "sales", "technical")
    assert classifier.examples == 39


def test_same_input_gives_the_same_output_even_after_retraining(workflow_dir: Path) -> None:
    request = _request(workflow_dir, _ROUTE, "Login", "password reset never arrives")
    first = LocalProvider().complete(request)
    again = LocalProvider().complete(request)  # a fresh provider trains its own model
    assert first == again
    assert LocalProvider().complete(request) == first


def test_training_happens_once_per_file_version(workflow_dir: Path) -> None:
    provider = LocalProvider()
    request = _request(workflow_dir, _ROUTE, "Refund", "refund my payment")
    csv_path = workflow_dir / "data" / "tickets.csv"

    provider.complete(request)
    provider.complete(request)
    same = provider.classifier(csv_path)

    assert provider.trainings == 1
    assert provider.cached_classifiers == 1
    assert provider.classifier(workflow_dir / "data" / ".." / "data" / "tickets.csv") is same

    with csv_path.open("a", encoding="utf-8") as handle:
        handle.write('"charged for a seat I removed",billing\n')
    stat = csv_path.stat()
    os.utime(csv_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    retrained = provider.classifier(csv_path)
    assert retrained is not same
    assert retrained.examples == 40
    assert provider.trainings == 2
    assert provider.cached_classifiers == 1


def test_concurrent_first_requests_train_once(workflow_dir: Path) -> None:
    provider = LocalProvider()
    request = _request(workflow_dir, _ROUTE, "Demo", "book a demo for the enterprise plan")
    results: list[Completion] = []
    lock = threading.Lock()

    def ask() -> None:
        completion = provider.complete(request)
        with lock:
            results.append(completion)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert provider.trainings == 1
    assert len(results) == 6
    assert all(result == results[0] for result in results)
    assert results[0].output["queue"] == "sales"


def test_template_only_step_needs_no_classifier(workflow_dir: Path) -> None:
    offline = OfflineSpec(template="offline/draft.yaml.j2")
    completion = LocalProvider().complete(_request(workflow_dir, offline, "Hello", "Thanks: we'll call you"))
    assert completion.output == {"subject": "Re: Hello", "body": "Thanks: we'll call you"}
    assert completion.model == "local/template:draft"


def test_step_without_offline_block_says_what_to_do(workflow_dir: Path) -> None:
    with pytest.raises(ModelError) as caught:
        LocalProvider().complete(_request(workflow_dir, None, "a", "b"))
    error = caught.value
    assert error.code == "model_error"
    assert error.retryable is False
    assert "support/route" in str(error)
    assert "offline:" in str(error)
    assert "BATON_MODEL" in str(error)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("- just\n- a list\n", "rendered a list, not a YAML mapping"),
        ("plain text answer\n", "rendered a str, not a YAML mapping"),
        ("", "rendered a NoneType"),
        ("reason: {{ input.message }}\n", "did not render valid YAML at line 1"),
    ],
)
def test_template_that_renders_no_yaml_mapping_is_a_model_error(
    workflow_dir: Path, template: str, problem: str
) -> None:
    path = workflow_dir / "offline" / "bad.yaml.j2"
    path.write_text(template, encoding="utf-8")
    offline = OfflineSpec(template="offline/bad.yaml.j2")
    with pytest.raises(ModelError) as caught:
        LocalProvider().complete(_request(workflow_dir, offline, "x", "note: this: breaks YAML"))
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)


def test_template_using_prediction_without_classifier_names_the_file_and_line(workflow_dir: Path) -> None:
    offline = OfflineSpec(template="offline/route.yaml.j2")
    with pytest.raises(SpecError) as caught:
        LocalProvider().complete(_request(workflow_dir, offline, "x", "y"))
    assert caught.value.location.file == workflow_dir / "offline" / "route.yaml.j2"
    assert caught.value.location.line == 1
    assert "'prediction' is undefined" in caught.value.problem


def test_missing_template_file_is_not_found(workflow_dir: Path) -> None:
    offline = OfflineSpec(template="offline/nope.yaml.j2")
    with pytest.raises(NotFound, match=r"nope\.yaml\.j2"):
        LocalProvider().complete(_request(workflow_dir, offline, "x", "y"))


def _train(path: Path) -> None:
    LocalProvider().classifier(path)


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        ("", 1, "training data file is empty"),
        ('text,category\n"a b",x\n', 1, "no 'label' column (found: text, category)"),
        ('body,label\n"a b",x\n', 1, "no 'text' column"),
        ("text,label\n", 1, "header but no examples"),
        ('text,label\n"charge refund",billing\n"invoice wrong",billing\n', 2, "has the label 'billing'"),
        ('text,label\n"charge refund",billing\n\n"app crash",\n', 4, "row has no label"),
    ],
)
def test_bad_training_data_names_the_file_and_line(
    tmp_path: Path, content: str, line: int, problem: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        _train(path)
    assert caught.value.location.file == path
    assert caught.value.location.line == line
    assert problem in caught.value.problem
    assert f"{path}:{line}" in str(caught.value)


def test_missing_training_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"missing\.csv: training data file does not exist"):
        _train(tmp_path / "missing.csv")


def test_training_data_without_words_is_a_spec_error(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "dots.csv", [("...", "a"), ("!!", "b")])
    with pytest.raises(SpecError, match="cannot train on this data"):
        _train(path)


def test_header_with_byte_order_mark_and_extra_columns_is_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(
        "\ufeffid, Text ,Label\n1,refund my invoice,billing\n2,app crash error,technical\n", encoding="utf-8"
    )
    classifier = LocalProvider().classifier(path)
    assert classifier.labels == ("billing", "technical")
    assert classifier.predict("invoice refund please")["label"] == "billing"


# --- registry -----------------------------------------------------------------------------------


def test_local_resolves_to_one_shared_provider() -> None:
    registry = ProviderRegistry()
    provider, model = registry.resolve(None, default="local")
    assert isinstance(provider, LocalProvider)
    assert model == ""
    again, named = registry.resolve("local:tickets-v2", default="openai:gpt-4o-mini")
    assert again is provider
    assert named == "tickets-v2"


def test_unknown_provider_is_a_config_error_that_lists_what_exists() -> None:
    with pytest.raises(ConfigError) as caught:
        ProviderRegistry().resolve("mistral:large", default="local")
    message = str(caught.value)
    assert "'mistral'" in message
    assert "available are: local, openai" in message
    assert "connectors work" in message


def test_default_is_used_when_the_step_names_no_model() -> None:
    with pytest.raises(ConfigError, match="'anthropic'"):
        ProviderRegistry().resolve(None, default="anthropic:claude")


def test_registry_accepts_other_providers() -> None:
    class Echo:
        name = "echo"

        def complete(self, request: CompletionRequest) -> Completion:
            return Completion(request.prompt, self.name, request.model, 0, 0, 0.0)

    provider, model = ProviderRegistry({"echo": Echo}).resolve("Echo:v1", default="local")
    assert provider.name == "echo"
    assert model == "v1"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("local", ("local", "")), (" openai:gpt-4o-mini ", ("openai", "gpt-4o-mini")), ("x:a:b", ("x", "a:b"))],
)
def test_model_references_split_into_provider_and_model(ref: str, expected: tuple[str, str]) -> None:
    assert parse_model_ref(ref) == expected


def test_empty_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="names no provider"):
        parse_model_ref(":gpt")


def test_resolve_model_uses_a_shared_registry() -> None:
    first: Any = resolve_model("local", default="local")[0]
    assert resolve_model(None, default="local")[0] is first
