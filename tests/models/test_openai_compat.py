"""The ``openai`` provider against a real OpenAI-compatible server on loopback (FakeOpenAI)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.errors import ConfigError
from baton.models import (
    CompletionRequest,
    LocalProvider,
    ModelError,
    OpenAICompatibleProvider,
    Price,
    PriceTable,
    ProviderRegistry,
)
from fake_openai import FakeOpenAI

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"tier": {"type": "string", "enum": ["hot", "cold"]}, "score": {"type": "number"}},
    "required": ["tier", "score"],
}
_KEY = "sk-test-Secret0123456789abcdef"


def _request(prompt: str = "Score this lead: ACME wants 500 seats", *, schema: dict[str, Any] | None = _SCHEMA,
             model: str = "gpt-4o-mini") -> CompletionRequest:
    return CompletionRequest(prompt=prompt, output_schema=schema, context={}, offline=None, base_dir=Path("."),
                             model=model, step="leads/score")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply={"tier": "hot", "score": 0.91}) as server:
        yield server


@pytest.fixture
def provider(fake: FakeOpenAI) -> Iterator[OpenAICompatibleProvider]:
    made = OpenAICompatibleProvider(base_url=fake.base_url, timeout_s=5)
    yield made
    made.close()


@pytest.fixture
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATON_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


# --- answers --------------------------------------------------------------------------------------


def test_structured_output_is_parsed_and_the_schema_is_sent(fake: FakeOpenAI,
                                                            provider: OpenAICompatibleProvider) -> None:
    completion = provider.complete(_request())

    assert completion.output == {"tier": "hot", "score": 0.91}
    assert completion.provider == "openai"
    assert completion.model == "gpt-4o-mini"
    [sent] = fake.requests
    assert sent["model"] == "gpt-4o-mini"
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": _SCHEMA, "strict": False},
    }
    assert sent["messages"] == [
        {"role": "system", "content": "Answer with JSON only."},
        {"role": "user", "content": "Score this lead: ACME wants 500 seats"},
    ]


def test_without_a_schema_the_answer_is_text_and_no_format_is_asked(fake: FakeOpenAI,
                                                                    provider: OpenAICompatibleProvider) -> None:
    fake.reply = "Dear ACME, thank you for your interest."
    completion = provider.complete(_request("Write a reply", schema=None))

    assert completion.output == "Dear ACME, thank you for your interest."
    [sent] = fake.requests
    assert "response_format" not in sent
    assert sent["messages"] == [{"role": "user", "content": "Write a reply"}]


def test_tokens_and_cost_come_from_usage_and_the_price_table(fake: FakeOpenAI,
                                                             provider: OpenAICompatibleProvider) -> None:
    fake.prompt_tokens, fake.completion_tokens = 1_000, 500
    fake.model = "gpt-4o-mini-2024-07-18"  # OpenAI answers with the dated snapshot name

    completion = provider.complete(_request())

    assert (completion.input_tokens, completion.output_tokens) == (1_000, 500)
    assert completion.model == "gpt-4o-mini-2024-07-18"
    assert completion.cost_usd == pytest.approx((1_000 * 0.15 + 500 * 0.60) / 1_000_000)


def test_a_model_without_a_price_costs_zero_and_is_logged_once(fake: FakeOpenAI,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    provider = OpenAICompatibleProvider(base_url=fake.base_url, prices=PriceTable({}))
    with caplog.at_level("WARNING", logger="baton.models.openai_compat"):
        first = provider.complete(_request(model="llama3.1"))
        provider.complete(_request(model="llama3.1"))
    provider.close()

    assert first.cost_usd == 0.0
    assert first.input_tokens == 11
    assert [r.getMessage() for r in caplog.records] == [
        "no price for model 'openai:llama3.1'; its calls are recorded as costing $0 (add it to prices.yaml)"
    ]


def test_a_given_price_table_is_used(fake: FakeOpenAI) -> None:
    prices = PriceTable.default().merged({"openai:llama3.1": Price(1.0, 2.0)})
    fake.prompt_tokens, fake.completion_tokens = 2_000_000, 1_000_000
    provider = OpenAICompatibleProvider(base_url=fake.base_url, prices=prices)
    assert provider.complete(_request(model="llama3.1")).cost_usd == pytest.approx(4.0)
    provider.close()


def test_the_default_model_is_gpt_4o_mini(fake: FakeOpenAI, provider: OpenAICompatibleProvider) -> None:
    provider.complete(_request(model=""))
    assert fake.requests[0]["model"] == "gpt-4o-mini"


def test_json_in_a_code_fence_is_accepted(fake: FakeOpenAI, provider: OpenAICompatibleProvider) -> None:
    fake.reply = '```json\n{"tier": "cold", "score": 0.1}\n```'
    assert provider.complete(_request()).output == {"tier": "cold", "score": 0.1}


def test_an_answer_that_is_not_json_is_a_model_error(fake: FakeOpenAI, provider: OpenAICompatibleProvider) -> None:
    opening = "Sure! The lead looks hot to me. "
    fake.reply = opening + "x" * 400

    with pytest.raises(ModelError) as caught:
        provider.complete(_request())

    error = caught.value
    assert error.retryable is False
    assert "did not answer with JSON" in str(error)
    shown = 200 - len(opening)  # only the first 200 characters of the answer
    assert opening + "x" * shown + "..." in str(error)
    assert "x" * (shown + 1) not in str(error)
    assert "leads/score" in str(error)


def test_a_cut_off_answer_says_so(fake: FakeOpenAI, provider: OpenAICompatibleProvider) -> None:
    fake.reply, fake.finish_reason = '{"tier": "ho', "length"
    with pytest.raises(ModelError, match="cut off at the token limit"):
        provider.complete(_request())


def test_concurrent_calls_share_one_client(fake: FakeOpenAI, provider: OpenAICompatibleProvider) -> None:
    fake.reply = lambda body: {"tier": "hot", "score": len(body["messages"][-1]["content"])}
    results: list[Any] = []
    errors: list[BaseException] = []

    def call(i: int) -> None:
        try:
            results.append(provider.complete(_request("p" * (i + 1))).output["score"])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(results) == list(range(1, 9))
    assert len(fake.requests) == 8
    assert len({headers["authorization"] for headers in fake.request_headers}) == 1


# --- errors ---------------------------------------------------------------------------------------


def test_rate_limit_is_retryable_with_the_servers_retry_after(fake: FakeOpenAI,
                                                             provider: OpenAICompatibleProvider) -> None:
    fake.status, fake.headers, fake.error_message = 429, {"Retry-After": "7"}, "Rate limit reached for gpt-4o-mini"

    with pytest.raises(ModelError) as caught:
        provider.complete(_request())

    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0
    assert "429" in str(caught.value) and "Rate limit reached" in str(caught.value)
    assert len(fake.requests) == 1  # the SDK does not retry on its own; the engine does


def test_out_of_quota_is_not_retryable(fake: FakeOpenAI, provider: OpenAICompatibleProvider) -> None:
    fake.status, fake.error_code = 429, "insufficient_quota"
    with pytest.raises(ModelError) as caught:
        provider.complete(_request())
    assert caught.value.retryable is False
    assert "quota" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(fake: FakeOpenAI, provider: OpenAICompatibleProvider, status: int) -> None:
    fake.status = status
    with pytest.raises(ModelError) as caught:
        provider.complete(_request())
    assert caught.value.retryable is True
    assert caught.value.retry_after is None
    assert f"HTTP {status}" in str(caught.value)


def test_a_rejected_key_is_not_retryable_and_never_shown(fake: FakeOpenAI) -> None:
    fake.status = 401
    # OpenAI echoes (part of) the rejected key in its error message.
    fake.error_message = f"Incorrect API key provided: {_KEY}. You can find your API key at ..."
    provider = OpenAICompatibleProvider(base_url=fake.base_url, api_key=_KEY)

    with pytest.raises(ModelError) as caught:
        provider.complete(_request())
    provider.close()

    error = caught.value
    assert error.retryable is False
    assert "OPENAI_API_KEY" in str(error)
    assert "401" in str(error)
    for text in (str(error), repr(error), error.problem, error.hint, repr(provider)):
        assert _KEY not in text and "Secret0123" not in text
    assert error.__suppress_context__  # the SDK's exception, which holds the key's echo, is not chained
    assert fake.request_headers[0]["authorization"] == f"Bearer {_KEY}"


def test_a_key_echoed_by_another_error_is_scrubbed(fake: FakeOpenAI) -> None:
    fake.status, fake.error_message = 403, "Project of key sk-proj-abc***************wxyz may not use this model"
    provider = OpenAICompatibleProvider(base_url=fake.base_url, api_key=_KEY)
    with pytest.raises(ModelError) as caught:
        provider.complete(_request())
    provider.close()
    assert "sk-proj" not in str(caught.value) and "wxyz" not in str(caught.value)
    assert "[redacted]" in str(caught.value)
    assert caught.value.retryable is False


@pytest.mark.parametrize(("status", "words"), [(400, "rejected the request"), (404, "ollama pull")])
def test_bad_requests_are_not_retryable_and_say_what_to_check(
    fake: FakeOpenAI, provider: OpenAICompatibleProvider, status: int, words: str
) -> None:
    fake.status, fake.error_message = status, "The model `gpt-5-imaginary` does not exist"
    with pytest.raises(ModelError) as caught:
        provider.complete(_request(model="gpt-5-imaginary"))
    assert caught.value.retryable is False
    assert words in str(caught.value)
    assert "gpt-5-imaginary" in str(caught.value)


def test_a_server_that_does_not_answer_in_time_is_retryable(fake: FakeOpenAI) -> None:
    fake.delay_s = 2.0
    provider = OpenAICompatibleProvider(base_url=fake.base_url, timeout_s=0.2)
    with pytest.raises(ModelError) as caught:
        provider.complete(_request())
    provider.close()
    assert caught.value.retryable is True
    assert "within 0.2s" in str(caught.value)


def test_a_server_that_is_not_running_is_retryable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, so nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAICompatibleProvider(base_url=f"http://127.0.0.1:{port}/v1", timeout_s=5)
    with pytest.raises(ModelError) as caught:
        provider.complete(_request())
    provider.close()
    assert caught.value.retryable is True
    assert f"cannot reach http://127.0.0.1:{port}/v1" in str(caught.value)


# --- configuration --------------------------------------------------------------------------------


def test_without_a_key_a_remote_server_is_a_config_error_at_first_use(no_openai_env: None) -> None:
    provider = OpenAICompatibleProvider.from_env()  # creating it is fine: BATON_MODEL may never use it
    with pytest.raises(ConfigError) as caught:
        provider.complete(_request())
    assert "OPENAI_API_KEY" in str(caught.value)
    assert "BATON_OPENAI_BASE_URL" in str(caught.value)
    assert "https://api.openai.com/v1" in str(caught.value)


def test_a_loopback_server_needs_no_key(fake: FakeOpenAI, no_openai_env: None) -> None:
    provider = OpenAICompatibleProvider(base_url=fake.base_url.replace("127.0.0.1", "localhost"))
    assert provider.is_loopback
    assert provider.complete(_request()).output == {"tier": "hot", "score": 0.91}
    provider.close()
    assert fake.request_headers[0]["authorization"].startswith("Bearer ")


def test_a_malformed_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        OpenAICompatibleProvider(base_url="127.0.0.1:11434")


def test_credentials_in_the_base_url_are_never_shown(no_openai_env: None) -> None:
    provider = OpenAICompatibleProvider(base_url="https://user:hunter2@llm.example.com/v1?token=abc")
    with pytest.raises(ConfigError) as caught:
        provider.complete(_request())
    assert "hunter2" not in str(caught.value) and "token=abc" not in str(caught.value)
    assert "https://llm.example.com/v1" in str(caught.value)
    assert "hunter2" not in repr(provider)


def test_from_env_prefers_the_baton_base_url(monkeypatch: pytest.MonkeyPatch, no_openai_env: None) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    assert OpenAICompatibleProvider.from_env().base_url == "http://127.0.0.1:1/v1"
    monkeypatch.setenv("BATON_OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    assert OpenAICompatibleProvider.from_env().base_url == "http://127.0.0.1:2/v1"


def test_the_registry_resolves_openai_models_from_the_environment(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, no_openai_env: None
) -> None:
    monkeypatch.setenv("BATON_OPENAI_BASE_URL", fake.base_url)
    registry = ProviderRegistry()

    provider, model = registry.resolve(None, default="openai:gpt-4o-mini")
    completion = provider.complete(_request(model=model))

    assert isinstance(provider, OpenAICompatibleProvider)
    assert model == "gpt-4o-mini"
    assert registry.resolve("openai:gpt-4.1", default="local")[0] is provider
    assert completion.output == {"tier": "hot", "score": 0.91}
    assert fake.requests[0]["model"] == "gpt-4o-mini"
    assert "openai" in registry.names and "local" in registry.names
    provider.close()


def test_unknown_providers_no_longer_say_openai_is_planned() -> None:
    with pytest.raises(ConfigError) as caught:
        ProviderRegistry().resolve("anthropic:claude-sonnet-4", default="local")
    message = str(caught.value)
    assert "available are: local, openai" in message
    assert "The anthropic and gemini providers arrive with the connectors work" in message
    assert "openai:MODEL" in message  # how to reach a self-hosted server meanwhile


def test_only_providers_that_send_data_elsewhere_are_external() -> None:
    assert OpenAICompatibleProvider.external is True
    assert LocalProvider.external is False
    assert LocalProvider().external is False
