"""Which provider answers a model reference such as ``local`` or ``openai:gpt-4o-mini``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from baton.errors import ConfigError
from baton.models.base import Provider
from baton.models.local import LocalProvider
from baton.models.openai_compat import OpenAICompatibleProvider

__all__ = ["ProviderRegistry", "parse_model_ref", "resolve_model"]

ProviderFactory = Callable[[], Provider]

# Named in the error for an unknown provider, so a user knows what is coming and that it is not a typo.
_PLANNED = ("anthropic", "gemini")


def _default_factories() -> dict[str, ProviderFactory]:
    return {"local": LocalProvider, "openai": OpenAICompatibleProvider.from_env}


def parse_model_ref(ref: str) -> tuple[str, str]:
    """Split ``"provider:model"`` into its provider and model names.

    Args:
        ref: ``"local"``, ``"local:anything"``, ``"openai:gpt-4o-mini"``, ...

    Returns:
        ``(provider, model)``; the provider is lower-cased, the model is ``""`` when not given.

    Raises:
        ConfigError: the provider part is empty.

    Example::

        parse_model_ref("openai:gpt-4o-mini")  # ('openai', 'gpt-4o-mini')
    """
    provider, _, model = ref.strip().partition(":")
    provider = provider.strip().lower()
    if not provider:
        raise ConfigError(
            f"model reference '{ref}' names no provider; write 'provider:model', e.g. 'local' "
            "or 'openai:gpt-4o-mini' (in a step's model: or in BATON_MODEL)"
        )
    return provider, model.strip()


class ProviderRegistry:
    """The model providers a process can use, each created once and then shared.

    The engine owns one registry and resolves every ``llm`` step's ``model:`` through it, defaulting
    to ``BATON_MODEL``.

    Example::

        registry = ProviderRegistry()
        provider, model = registry.resolve(step.model, default=os.environ.get("BATON_MODEL", "local"))
        completion = provider.complete(CompletionRequest(..., model=model))
    """

    def __init__(self, factories: Mapping[str, ProviderFactory] | None = None) -> None:
        """Create a registry.

        Args:
            factories: provider name -> callable creating the provider; when omitted, ``local`` and
                ``openai`` (OpenAI or any OpenAI-compatible server, configured from the environment).
        """
        self._factories: dict[str, ProviderFactory] = dict(
            factories if factories is not None else _default_factories()
        )
        self._providers: dict[str, Provider] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The provider names this registry can resolve, sorted."""
        return sorted(self._factories)

    def resolve(self, ref: str | None, *, default: str) -> tuple[Provider, str]:
        """The provider and model name for a model reference.

        Args:
            ref: a step's ``model:`` (``"local"``, ``"openai:gpt-4o-mini"``); ``None`` uses ``default``.
            default: the reference to use when ``ref`` is ``None`` or blank, usually ``BATON_MODEL``.

        Returns:
            ``(provider, model)``; the same provider object every time for the same provider name.
            ``model`` is ``""`` when the reference names only a provider.

        Raises:
            ConfigError: the reference is empty, names a provider this registry does not have, or the
                provider's settings are unusable (e.g. a malformed ``BATON_OPENAI_BASE_URL``).
        """
        chosen = ref if ref is not None and ref.strip() else default
        name, model = parse_model_ref(chosen)
        with self._lock:
            provider = self._providers.get(name)
            if provider is None:
                factory = self._factories.get(name)
                if factory is None:
                    raise ConfigError(self._unknown(name, chosen))
                provider = self._providers[name] = factory()
        return provider, model

    def _unknown(self, name: str, ref: str) -> str:
        known = ", ".join(self.names) or "none"
        planned = [p for p in _PLANNED if p not in self._factories]
        text = f"model '{ref}' names the provider '{name}', but the providers available are: {known}"
        if "openai" in self._factories:
            text += (
                ". Self-hosted servers (Ollama, vLLM, llama.cpp) are reached as 'openai:MODEL' with "
                "BATON_OPENAI_BASE_URL set to their /v1 URL"
            )
        if planned:
            text += f". The {' and '.join(planned)} providers arrive with the connectors work"
        return text + "; meanwhile use one of the available providers (e.g. BATON_MODEL=local)"


_default_registry = ProviderRegistry()


def resolve_model(ref: str | None, *, default: str) -> tuple[Provider, str]:
    """Resolve a model reference with the process's shared :class:`ProviderRegistry`.

    Prefer a :class:`ProviderRegistry` owned by the caller (the engine); this function is for scripts
    and tests that have none.

    Args:
        ref: a step's ``model:``; ``None`` uses ``default``.
        default: the reference to use when ``ref`` is ``None``, usually ``BATON_MODEL``.

    Returns:
        ``(provider, model)``.

    Raises:
        ConfigError: the reference names a provider that does not exist.

    Example::

        provider, model = resolve_model(None, default=os.environ.get("BATON_MODEL", "local"))
    """
    return _default_registry.resolve(ref, default=default)
