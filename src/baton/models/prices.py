"""What a model call costs: US dollars per million input and output tokens, per provider and model.

The defaults are list prices of common hosted models; a project overrides or extends them with a
``prices.yaml``::

    prices:
      openai:gpt-4o-mini: {input_per_mtok: 0.15, output_per_mtok: 0.60}
      openai:llama3.1: {input_per_mtok: 0, output_per_mtok: 0}    # a self-hosted model behind openai:
      anthropic: {input_per_mtok: 3, output_per_mtok: 15}          # every anthropic model not listed

A model name finds its price exactly, or else through the longest listed name it starts with, so the
dated ``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``. An entry without a model name prices every
model of its provider that nothing longer matches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baton.errors import ConfigError, SpecError
from baton.spec.yaml_source import SourceMap, join_path, load_yaml

__all__ = ["Price", "PriceTable"]

_FIELDS = ("input_per_mtok", "output_per_mtok")
_HINT_ENTRY = "write e.g. 'openai:gpt-4o-mini: {input_per_mtok: 0.15, output_per_mtok: 0.6}' (USD per 1M tokens)"


@dataclass(frozen=True)
class Price:
    """The price of one model in US dollars per million (1,000,000) tokens.

    Attributes:
        input_per_mtok: dollars per million prompt tokens.
        output_per_mtok: dollars per million answer tokens.

    Raises:
        ConfigError: a price is negative, infinite or not a number.
    """

    input_per_mtok: float
    output_per_mtok: float

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"price {name}={value!r} must be a non-negative number of US dollars per 1M tokens")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """What ``input_tokens`` in and ``output_tokens`` out cost, in US dollars."""
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000


# List prices in USD per 1M tokens (standard tier, short prompts), as published by each vendor in 2025.
_DEFAULTS: dict[str, Price] = {
    "openai:gpt-4o": Price(2.50, 10.00),
    "openai:gpt-4o-mini": Price(0.15, 0.60),
    "openai:gpt-4.1": Price(2.00, 8.00),
    "openai:gpt-4.1-mini": Price(0.40, 1.60),
    "openai:gpt-4.1-nano": Price(0.10, 0.40),
    "openai:o4-mini": Price(1.10, 4.40),
    "anthropic:claude-sonnet-4": Price(3.00, 15.00),
    "anthropic:claude-3-5-haiku": Price(0.80, 4.00),
    "gemini:gemini-2.5-flash": Price(0.30, 2.50),
    "gemini:gemini-2.5-flash-lite": Price(0.10, 0.40),
    "gemini:gemini-2.5-pro": Price(1.25, 10.00),
    "local": Price(0.0, 0.0),  # the offline provider runs in this process: every model is free
}


def _split_key(key: str) -> tuple[str, str]:
    """``"openai:gpt-4o-mini"`` -> ``("openai", "gpt-4o-mini")``; ``"local"`` -> ``("local", "")``."""
    provider, _, model = key.strip().partition(":")
    provider = provider.strip().lower()
    if not provider:
        raise ConfigError(f"price key '{key}' names no provider; write 'provider:model', e.g. 'openai:gpt-4o-mini'")
    return provider, model.strip().lower()


def _continues_name(model: str, prefix: str) -> bool:
    """Whether ``prefix`` ends where a part of ``model`` ends: ``gpt-4o`` prices ``gpt-4o-2024-08-06``
    but not ``gpt-4omni``; an empty prefix (a provider-wide entry) matches every model."""
    if not model.startswith(prefix):
        return False
    return not prefix or len(model) == len(prefix) or not model[len(prefix)].isalnum()


class PriceTable:
    """Prices per provider and model; immutable, so one table is safely shared between threads.

    Example::

        table = PriceTable.default()
        table.price("openai", "gpt-4o-mini-2024-07-18")   # Price(input_per_mtok=0.15, output_per_mtok=0.6)
        table.cost("openai", "gpt-4o-mini", 1200, 300)     # 0.00036
        table.cost("openai", "my-finetune", 1200, 300)     # None: unknown, record 0 and say so
    """

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        """Create a table.

        Args:
            prices: ``"provider:model"`` (or just ``"provider"`` for all its models) -> price. Provider
                and model names are matched case-insensitively.

        Raises:
            ConfigError: a key names no provider.
        """
        self._prices: dict[tuple[str, str], Price] = {}
        for key, price in (prices or {}).items():
            self._prices[_split_key(key)] = price

    @classmethod
    def default(cls) -> PriceTable:
        """The built-in list prices (OpenAI, Anthropic, Gemini models; ``local`` is free)."""
        return cls(_DEFAULTS)

    @classmethod
    def from_yaml(cls, path: Path) -> PriceTable:
        """The defaults, overridden and extended by the ``prices:`` mapping in the YAML file at ``path``.

        Args:
            path: a ``prices.yaml``, e.g.
                ``prices: {"openai:gpt-4o-mini": {input_per_mtok: 0.15, output_per_mtok: 0.6}}``.

        Returns:
            A table with the file's entries in place of the defaults for the same keys.

        Raises:
            SpecError: the file cannot be read, is not YAML, has no ``prices:`` mapping, or an entry is
                malformed; the location names the file, line and key.
        """
        document, source = load_yaml(path)
        if not isinstance(document, dict) or not isinstance(document.get("prices"), dict):
            raise SpecError(
                source.locate("prices"),
                "a prices file needs a top-level 'prices:' mapping of 'provider:model' to prices",
                _HINT_ENTRY,
            )
        overrides: dict[str, Price] = {}
        for key, entry in document["prices"].items():
            overrides[str(key)] = _parse_entry(str(key), entry, source)
        return cls.default().merged(overrides)

    def merged(self, overrides: Mapping[str, Price] | PriceTable) -> PriceTable:
        """A new table with ``overrides`` in place of this table's entries for the same keys.

        Args:
            overrides: ``"provider:model"`` -> price, or another table.

        Returns:
            The combined table; this one is unchanged.
        """
        extra = overrides.entries() if isinstance(overrides, PriceTable) else overrides
        combined = self.entries()
        for key, price in extra.items():
            provider, model = _split_key(key)
            combined[f"{provider}:{model}" if model else provider] = price
        return PriceTable(combined)

    def entries(self) -> dict[str, Price]:
        """Every entry as ``"provider:model"`` (``"provider"`` for provider-wide ones) -> price."""
        return {f"{p}:{m}" if m else p: price for (p, m), price in self._prices.items()}

    def price(self, provider: str, model: str) -> Price | None:
        """The price of ``model`` at ``provider``: the exact entry, else the longest listed prefix.

        Args:
            provider: the provider's name, e.g. ``"openai"``.
            model: the model's name, e.g. ``"gpt-4o-mini-2024-07-18"``.

        Returns:
            The price, or ``None`` when the table knows neither the model nor a name it starts with.
        """
        provider, model = provider.strip().lower(), model.strip().lower()
        exact = self._prices.get((provider, model))
        if exact is not None:
            return exact
        best: tuple[int, Price] | None = None
        for (listed_provider, prefix), price in self._prices.items():
            if listed_provider == provider and _continues_name(model, prefix) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), price)
        return best[1] if best is not None else None

    def cost(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """What a call cost in US dollars, or ``None`` when the model's price is unknown.

        Args:
            provider: the provider's name.
            model: the model that answered.
            input_tokens: prompt tokens.
            output_tokens: answer tokens.

        Returns:
            The cost; ``None`` when :meth:`price` finds none (record 0 and say the price is unknown).
        """
        price = self.price(provider, model)
        return price.cost(input_tokens, output_tokens) if price is not None else None

    def __len__(self) -> int:
        return len(self._prices)

    def __repr__(self) -> str:
        return f"PriceTable({len(self)} entries)"


def _parse_entry(key: str, entry: Any, source: SourceMap) -> Price:
    where = join_path("prices", key)
    location = source.locate(where)
    if not key.partition(":")[0].strip():
        raise SpecError(location, f"price key '{key}' names no provider", _HINT_ENTRY)
    if not isinstance(entry, dict):
        raise SpecError(location, f"the price of '{key}' must be a mapping, not {type(entry).__name__}", _HINT_ENTRY)
    unknown = sorted(str(name) for name in entry if name not in _FIELDS)
    if unknown:
        raise SpecError(
            source.locate(join_path(where, unknown[0])),
            f"the price of '{key}' has unknown field(s) {', '.join(unknown)}",
            f"the fields are {' and '.join(_FIELDS)}",
        )
    values: dict[str, float] = {}
    for name in _FIELDS:
        if name not in entry:
            raise SpecError(location, f"the price of '{key}' has no {name}", _HINT_ENTRY)
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise SpecError(
                source.locate(join_path(where, name)),
                f"'{key}' {name} is {value!r}; it must be a non-negative number of US dollars per 1M tokens",
            )
        values[name] = float(value)
    return Price(**values)
