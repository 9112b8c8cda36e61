"""What every step kind receives and returns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from baton.spec.models import HttpStep, LlmStep, PythonStep


class CallGuard(Protocol):
    """The run's guardrails, as a step kind sees them: consulted before anything leaves the process."""

    def outbound(self, where: str, target: str, external: bool, declared: Iterable[str],
                 payload: Any, *, redact: bool = True) -> tuple[Any, Callable[[Any], Any]]:
        """Return what may be sent to ``target`` (redacted unless ``redact`` is False) and how to restore
        the answer; raise PolicyDenied."""
        ...


@dataclass(frozen=True)
class StepCall:
    """One try of one step: the spec, what it may see, and where its files are."""

    run_id: str
    workflow: str
    version: int
    step: LlmStep | PythonStep | HttpStep
    input: dict[str, Any]
    outputs: dict[str, Any]  # finished steps' outputs by step id
    base_dir: Path
    attempt: int = 1
    guard: CallGuard | None = None  # None: no guardrails apply (tests, tools outside a run)

    @property
    def idempotency_key(self) -> str:
        """Stable for this step of this run across retries and crash recovery."""
        return f"{self.run_id}:{self.step.id}"

    @property
    def where(self) -> str:
        """``workflow/step`` for messages."""
        return f"{self.workflow}/{self.step.id}"

    def expression_variables(self) -> dict[str, Any]:
        """What ``${{ }}`` expressions see: ``input``, ``steps.<id>.output``, ``run``."""
        return {
            "input": self.input,
            "steps": {step_id: {"output": output} for step_id, output in self.outputs.items()},
            "run": {"id": self.run_id, "workflow": self.workflow, "version": self.version},
        }


@dataclass
class StepResult:
    """What a step produced, with the accounting the store keeps."""

    output: Any
    sent: dict[str, Any] | None = None  # what the step was given (params, request), for lineage
    model: str | None = None
    prompt_hash: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class StepKind(Protocol):
    """An adapter that performs one kind of step."""

    def run(self, call: StepCall) -> StepResult:
        """Do the work once; raise BatonError subclasses (StepFailed with ``retryable``) on failure."""
        ...
