"""``python`` steps: call ``module:function`` with a StepContext."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baton.errors import BatonError, StepFailed
from baton.expressions import render_value
from baton.spec.models import PythonStep, WorkflowSpec
from baton.steps.base import StepCall, StepResult
from baton.steps.context import StepContext

StepFunction = Callable[[StepContext], Any]


def resolve_callable(path: str, *, project_dir: Path | None = None, where: str = "") -> StepFunction:
    """Import ``module:function``; the project folder is importable so its own code can be called.

    Raises:
        StepFailed: the module or function cannot be imported, or is not callable (never retried).
    """
    if project_dir is not None and str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    module_name, _, function_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an import can raise anything; report it, with its cause
        raise StepFailed(step=where, reason=f"cannot import '{module_name}' for call '{path}': "
                         f"{type(exc).__name__}: {exc}") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise StepFailed(step=where, reason=f"'{module_name}' has no function '{function_name}' (call '{path}')")
    return function  # type: ignore[no-any-return]


def check_python_steps(spec: WorkflowSpec, project_dir: Path) -> None:
    """Import every python step's function now, so a typo fails before a run exists."""
    for step in spec.all_steps():
        if isinstance(step, PythonStep):
            resolve_callable(step.call, project_dir=project_dir, where=f"{spec.workflow}/{step.id}")


class PythonKind:
    """Runs ``python`` steps."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir

    def run(self, call: StepCall) -> StepResult:
        """Call the function; its return value is the step's output."""
        assert call.step.uses == "python"
        function = resolve_callable(call.step.call, project_dir=self.project_dir, where=call.where)
        params = render_value(dict(call.step.with_), call.expression_variables(), where=call.where)
        context = StepContext(
            run_id=call.run_id, workflow=call.workflow, version=call.version, step_id=call.step.id,
            input=call.input, steps=dict(call.outputs), params=params,
            idempotency_key=call.idempotency_key, attempt=call.attempt,
        )
        try:
            output = function(context)
        except BatonError:
            raise
        except Exception as exc:
            raise StepFailed(step=call.where, reason=f"{type(exc).__name__}: {exc}", retryable=True) from exc
        return StepResult(output=output, sent={"params": params} if params else None)
