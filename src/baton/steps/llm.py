"""``llm`` steps: render the prompt, ask the configured model, return its structured answer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from baton.models.base import CompletionRequest
from baton.models.registry import ProviderRegistry
from baton.steps.base import StepCall, StepResult
from baton.templating import render_file


class LlmKind:
    """Runs ``llm`` steps through the provider registry (``local`` by default)."""

    def __init__(self, registry: ProviderRegistry, default_model: str) -> None:
        self.registry = registry
        self.default_model = default_model

    def run(self, call: StepCall) -> StepResult:
        """Render the prompt with ``input`` and ``steps`` and complete it."""
        assert call.step.uses == "llm"
        step = call.step
        prompt_path = call.base_dir / step.prompt
        context = {"input": call.input, "steps": dict(call.outputs)}
        prompt = render_file(prompt_path, context)
        provider, model = self.registry.resolve(step.model, default=self.default_model)
        restore: Callable[[Any], Any] | None = None
        if call.guard is not None:  # checked and redacted before the provider sees a byte
            prompt, restore = call.guard.outbound(call.where, f"provider:{provider.name}", provider.external,
                                                  step.data, prompt)
        completion = provider.complete(CompletionRequest(
            prompt=prompt, output_schema=step.output, context=context, offline=step.offline,
            base_dir=call.base_dir, model=model, step=call.where,
        ))
        return StepResult(
            output=restore(completion.output) if restore else completion.output,
            model=_qualified(completion.provider, completion.model),
            prompt_hash=hashlib.sha256(prompt_path.read_bytes()).hexdigest(),
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=completion.cost_usd,
        )


def _qualified(provider: str, model: str) -> str:
    """``provider:model`` unless the provider already named itself (``local/tickets+route``)."""
    return model if model.startswith(f"{provider}/") else f"{provider}:{model}"
