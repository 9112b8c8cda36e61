"""``baton eval``: run a workflow's golden cases against its current version and record the pass rate.

Only the model (``llm``) steps run, in document order and under the same conditions, contracts and
guardrails as in a real run; python, http and human steps are skipped because they act on the world.
That is what a regression set is for: catching a prompt, model or template change that makes the
answers drift ("customers receive inconsistent answers") before the version is promoted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from baton.engine.contracts import check_contract
from baton.engine.runtime import Runtime
from baton.errors import BatonError, NotFound
from baton.expressions import Expression
from baton.policy.guardrails import Guardrails
from baton.spec.evals import EvalCase, load_cases
from baton.spec.models import LlmStep
from baton.store.metrics import MetricsStore


@dataclass
class CaseResult:
    """One case: passed or not, every reason it failed, and what the model steps produced."""

    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalReport:
    """A regression run of one workflow version."""

    workflow: str
    version: int
    source: str
    results: list[CaseResult]

    @property
    def passed(self) -> int:
        """Cases that passed."""
        return sum(1 for r in self.results if r.passed)

    @property
    def pass_rate(self) -> float:
        """Passed cases over cases."""
        return self.passed / len(self.results) if self.results else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"workflow": self.workflow, "version": self.version, "source": self.source, "cases": len(self.results),
                "passed": self.passed, "pass_rate": self.pass_rate, "results": [asdict(r) for r in self.results]}


class Evaluations:
    """Regression sets of a project's workflows.

    Example::

        report = Evaluations(runtime).run("support-routing", by="sam@acme.example")
        print(f"{report.passed}/{len(report.results)} golden cases pass")
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.metrics = MetricsStore(runtime.store.engine)

    def cases_file(self, workflow: str) -> Path:
        """``evals/<workflow>.jsonl`` in the project."""
        path = self.runtime.project.root / "evals" / f"{workflow}.jsonl"
        if not path.is_file():
            raise NotFound("regression set", str(path),
                           "write golden cases there, one JSON object a line: {name, input, expected, checks}")
        return path

    def run(self, workflow: str, *, by: str) -> EvalReport:
        """Run every case against the workflow's current version and record the pass rate for that version."""
        loaded = self.runtime.project.workflow(workflow)
        path = self.cases_file(loaded.spec.workflow)
        cases = load_cases(path)
        guard = Guardrails.compile(loaded.spec, self.runtime.policies_for(loaded.spec))
        results = [self._case(loaded, case, guard) for case in cases]
        report = EvalReport(loaded.spec.workflow, loaded.spec.version, str(path), results)
        self.metrics.record_eval(workflow=report.workflow, version=report.version, by=by,
                                 results=[{"name": r.name, "passed": r.passed, "failures": r.failures}
                                          for r in results])
        return report

    def _case(self, loaded: Any, case: EvalCase, guard: Guardrails) -> CaseResult:
        spec = loaded.spec
        result = CaseResult(case.name, passed=False)
        try:
            check_contract(spec.input, case.input, where=f"case '{case.name}' input")
        except BatonError as error:
            result.failures.append(error.message)
            return result
        for step in [s for s in spec.all_steps() if isinstance(s, LlmStep)]:
            if step.when and not _holds(step.when, case.input, result.outputs):
                continue
            record = self.runtime.try_step(loaded, step.id, case.input, result.outputs, guard)
            if record.status != "completed":
                result.failures.append(f"{step.id} failed: {record.error}")
                return result
            result.outputs[step.id] = record.output
        for step_id, wanted in case.expected.items():
            result.failures.extend(_differences(f"{step_id}", wanted, result.outputs.get(step_id)))
        for check in case.checks:
            if not _holds(check, case.input, result.outputs):
                result.failures.append(f"check {check!r} does not hold")
        result.passed = not result.failures
        return result


def _holds(expression: str, run_input: dict[str, Any], outputs: dict[str, Any]) -> bool:
    variables = {"input": run_input, "steps": {sid: {"output": out} for sid, out in outputs.items()}}
    try:
        return Expression.compile(expression).is_true(variables)
    except BatonError:
        return False  # a check over a step that did not run, or a missing field, does not hold


def _differences(path: str, wanted: Any, actual: Any) -> list[str]:
    """Where ``actual`` fails to contain ``wanted`` (dicts by subset, everything else by equality)."""
    if isinstance(wanted, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {json.dumps(actual)}"]
        return [d for key, value in wanted.items() for d in _differences(f"{path}.{key}", value, actual.get(key))]
    if wanted != actual:
        return [f"{path}: expected {json.dumps(wanted)}, got {json.dumps(actual)}"]
    return []
