"""Model prices: the defaults, prefix matching, and project overrides from prices.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.errors import ConfigError, SpecError
from baton.models import Price, PriceTable


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("provider", "model", "price"),
    [
        ("openai", "gpt-4o", Price(2.50, 10.00)),
        ("openai", "gpt-4o-mini", Price(0.15, 0.60)),
        ("openai", "gpt-4.1", Price(2.00, 8.00)),
        ("openai", "gpt-4.1-mini", Price(0.40, 1.60)),
        ("openai", "gpt-4.1-nano", Price(0.10, 0.40)),
        ("openai", "o4-mini", Price(1.10, 4.40)),
        ("anthropic", "claude-sonnet-4", Price(3.00, 15.00)),
        ("anthropic", "claude-3-5-haiku", Price(0.80, 4.00)),
        ("gemini", "gemini-2.5-flash", Price(0.30, 2.50)),
        ("gemini", "gemini-2.5-pro", Price(1.25, 10.00)),
    ],
)
def test_default_prices(provider: str, model: str, price: Price) -> None:
    assert PriceTable.default().price(provider, model) == price


def test_the_local_provider_is_free_whatever_the_model() -> None:
    table = PriceTable.default()
    assert table.cost("local", "", 10_000, 10_000) == 0.0
    assert table.cost("local", "local/leads+lead-score", 10_000, 10_000) == 0.0


def test_cost_is_per_million_tokens() -> None:
    assert PriceTable.default().cost("openai", "gpt-4o", 1_000_000, 500_000) == pytest.approx(2.50 + 5.00)
    assert Price(0.15, 0.60).cost(1200, 300) == pytest.approx(0.00036)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("GPT-4o-Mini", "gpt-4o-mini"),
    ],
)
def test_a_dated_model_finds_the_longest_listed_prefix(model: str, expected: str) -> None:
    table = PriceTable.default()
    assert table.price("openai", model) == table.price("openai", expected)


def test_a_prefix_must_end_where_a_part_of_the_name_ends() -> None:
    table = PriceTable({"openai:gpt-4o": Price(2.5, 10)})
    assert table.price("openai", "gpt-4o-2024-08-06") == Price(2.5, 10)
    assert table.price("openai", "gpt-4omni") is None


def test_unknown_models_and_providers_have_no_price() -> None:
    table = PriceTable.default()
    assert table.price("openai", "llama3.1") is None
    assert table.cost("openai", "llama3.1", 100, 100) is None
    assert table.price("anthropic", "gpt-4o") is None  # prices belong to a provider
    assert table.price("mistral", "mistral-large") is None


def test_a_provider_wide_entry_prices_every_model_nothing_longer_matches() -> None:
    table = PriceTable.default().merged({"openai": Price(1, 1)})
    assert table.price("openai", "llama3.1") == Price(1, 1)
    assert table.price("openai", "gpt-4o-mini") == Price(0.15, 0.60)


def test_merged_returns_a_new_table() -> None:
    base = PriceTable.default()
    merged = base.merged({"openai:gpt-4o-mini": Price(1, 2), "openai:my-finetune": Price(3, 4)})
    assert merged.price("openai", "gpt-4o-mini") == Price(1, 2)
    assert merged.price("openai", "my-finetune") == Price(3, 4)
    assert merged.price("openai", "gpt-4o") == Price(2.50, 10.00)
    assert base.price("openai", "gpt-4o-mini") == Price(0.15, 0.60)
    assert base.price("openai", "my-finetune") is None
    assert PriceTable().merged(merged).entries() == merged.entries()


def test_a_negative_price_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="non-negative"):
        Price(-1, 0)


def test_a_key_without_a_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="names no provider"):
        PriceTable({":gpt-4o": Price(1, 1)})


def test_a_prices_file_overrides_and_extends_the_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
prices:
  openai:gpt-4o-mini: {input_per_mtok: 0.2, output_per_mtok: 0.8}
  "openai:llama3.1":
    input_per_mtok: 0
    output_per_mtok: 0
  anthropic:claude-opus-4: {input_per_mtok: 15, output_per_mtok: 75}
""")
    table = PriceTable.from_yaml(path)
    assert table.price("openai", "gpt-4o-mini-2024-07-18") == Price(0.2, 0.8)
    assert table.cost("openai", "llama3.1", 1000, 1000) == 0.0
    assert table.price("anthropic", "claude-opus-4-20250514") == Price(15, 75)
    assert table.price("openai", "gpt-4o") == Price(2.50, 10.00)  # untouched defaults remain


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("prices:\n  openai:gpt-4o: {input_per_mtok: -1, output_per_mtok: 1}\n", 2,
         "'openai:gpt-4o' input_per_mtok is -1"),
        ("prices:\n  openai:gpt-4o: {input_per_mtok: 1}\n", 2, "'openai:gpt-4o' has no output_per_mtok"),
        ("prices:\n  openai:gpt-4o:\n    input_per_mtok: 1\n    output_per_mtok: 2\n    currency: EUR\n", 5,
         "unknown field(s) currency"),
        ("prices:\n  openai:gpt-4o: {input_per_mtok: cheap, output_per_mtok: 1}\n", 2, "'cheap'"),
        ("prices:\n  openai:gpt-4o: 2.5\n", 2, "'openai:gpt-4o' must be a mapping"),
        ("prices:\n  ':gpt-4o': {input_per_mtok: 1, output_per_mtok: 1}\n", 2, "':gpt-4o' names no provider"),
        ("openai:gpt-4o: {input_per_mtok: 1, output_per_mtok: 1}\n", 1, "top-level 'prices:' mapping"),
        ("prices: [1, 2\n", 0, "malformed YAML"),
    ],
)
def test_a_bad_prices_file_names_the_file_line_and_key(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        PriceTable.from_yaml(path)
    message = str(caught.value)
    assert str(path) in message
    assert words in message
    if line:
        assert caught.value.location.line == line


def test_a_missing_prices_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read file"):
        PriceTable.from_yaml(tmp_path / "prices.yaml")
