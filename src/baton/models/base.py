"""What every model provider takes and returns, and the error it raises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from baton.errors import BatonError
from baton.spec.models import OfflineSpec

__all__ = ["Completion", "CompletionRequest", "ModelError", "Provider"]


@dataclass(frozen=True)
class CompletionRequest:
    """One question to a model, with everything a provider (online or offline) needs to answer it.

    Attributes:
        prompt: the rendered prompt text.
        output_schema: the step's ``output`` JSON Schema, sent as the response format; ``None`` for
            free-form output.
        context: ``{"input": ..., "steps": {...}}``, the variables templates see.
        offline: the step's ``offline:`` block, which the ``local`` provider answers from.
        base_dir: directory of the workflow file; paths in ``offline`` are relative to it.
        model: the model name after ``provider:`` (``""`` for the provider's default).
        step: ``"workflow/step"``, for error messages.
    """

    prompt: str
    output_schema: dict[str, Any] | None
    context: dict[str, Any]
    offline: OfflineSpec | None
    base_dir: Path
    model: str
    step: str = ""


@dataclass(frozen=True)
class Completion:
    """A provider's answer and what it cost.

    Attributes:
        output: the structured output (a mapping when the step declares an output schema).
        provider: the provider's name, e.g. ``"local"``.
        model: the model that answered, e.g. ``"local/leads+lead-score"``.
        input_tokens: tokens in the prompt, as the provider counts them.
        output_tokens: tokens in the answer.
        cost_usd: what the call cost in US dollars (0.0 offline).
    """

    output: Any
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float


class Provider(Protocol):
    """A source of completions: the offline ``local`` provider, or a hosted or self-hosted model.

    Implementations are created once per process and shared between threads, so ``complete`` must be
    safe to call concurrently.

    Attributes:
        name: the provider's name, the part of a model reference before the colon (``"openai"``).
        external: ``True`` when the provider sends data outside this process or machine (a hosted
            API, a server elsewhere), so redaction and data-access policies apply to what it is sent.
    """

    name: str
    external: bool
    """True when the provider sends data outside this process/machine, so redaction and data-access
    policies apply."""

    def complete(self, request: CompletionRequest) -> Completion:
        """Answer ``request``.

        Args:
            request: the prompt, its context and the step's settings.

        Returns:
            The output and its token and cost accounting.

        Raises:
            ModelError: the provider could not answer; ``retryable`` says whether trying again may help.
            SpecError: the step's templates or training data are invalid.
        """
        ...


class ModelError(BatonError):
    """A model provider could not answer a step.

    Attributes:
        provider: the provider's name.
        step: ``"workflow/step"`` (may be empty).
        problem: what went wrong.
        retryable: whether trying again may succeed (rate limits, timeouts), as opposed to a request
            that will fail the same way every time.
        retry_after: seconds the provider asked to wait before trying again, when it said.
    """

    code = "model_error"

    def __init__(
        self,
        *,
        provider: str,
        problem: str,
        step: str = "",
        hint: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Build the error and its message.

        Args:
            provider: the provider's name.
            problem: what went wrong.
            step: ``"workflow/step"``, when known.
            hint: what to do next.
            retryable: whether trying again may succeed.
            retry_after: seconds to wait before trying again, when known.
        """
        self.provider = provider
        self.problem = problem
        self.step = step
        self.hint = hint
        self.retryable = retryable
        self.retry_after = retry_after
        where = f"step '{step}': " if step else ""
        text = f"{where}model provider '{provider}': {problem}"
        if hint:
            text += f"; {hint}"
        super().__init__(text)
