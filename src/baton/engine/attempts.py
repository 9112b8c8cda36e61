"""One step, tried until it succeeds or its retry policy gives up, with its output contract checked."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from baton.engine.contracts import check_contract
from baton.errors import BatonError, StepFailed
from baton.spec.models import Retry
from baton.steps.base import StepCall, StepResult
from baton.store.records import StepRecord

NO_RETRY = Retry(attempts=1, backoff=0, factor=1)


@dataclass(frozen=True)
class Attempts:
    """Runs a step call under its retry policy and timeout, and reports a StepRecord, never raising."""

    runner: Callable[[StepCall], StepResult]
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    def run(self, call: StepCall) -> StepRecord:
        """Try the step; the record says ``completed`` with the output or ``failed`` with the error."""
        step = call.step
        policy = step.retry or NO_RETRY
        started = self.clock()
        wait = policy.backoff
        attempt = 1
        while True:
            try:
                result = self._once(StepCall(**{**call.__dict__, "attempt": attempt}), step.timeout)
                _require_json(result.output, call.where)
                check_contract(step.output, result.output, where=f"{call.where} output")
            except BatonError as error:
                retryable = error.retryable and attempt < policy.attempts
                if not retryable:
                    return StepRecord(
                        step_id=step.id, kind=step.uses, status="failed", started_at=started,
                        ended_at=self.clock(), error=_with_attempts(error, attempt), error_code=error.code,
                        attempts=attempt,
                    )
                self.sleep(wait)
                wait *= policy.factor
                attempt += 1
                continue
            return StepRecord(
                step_id=step.id, kind=step.uses, status="completed", started_at=started, ended_at=self.clock(),
                input=result.sent, output=result.output, attempts=attempt, model=result.model,
                prompt_hash=result.prompt_hash, input_tokens=result.input_tokens,
                output_tokens=result.output_tokens, cost_usd=result.cost_usd,
            )

    def _once(self, call: StepCall, timeout: float | None) -> StepResult:
        if timeout is None:
            return self.runner(call)
        # Python cannot kill a thread: on timeout the try is abandoned (and reported), not stopped.
        # A daemon thread, so an abandoned try never holds the process open.
        outcome: list[StepResult | BaseException] = []

        def target() -> None:
            try:
                outcome.append(self.runner(call))
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=target, name=f"baton-step-{call.step.id}", daemon=True)
        worker.start()
        worker.join(timeout)
        if not outcome:
            raise StepFailed(step=call.where, reason=f"timed out after {timeout:g}s", retryable=True)
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result


def _require_json(output: object, where: str) -> None:
    """Outputs cross process and database boundaries as JSON; anything else is the step's bug."""
    try:
        json.dumps(output, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StepFailed(step=where, reason=f"output is not JSON ({exc}); return dicts, lists, "
                         "strings, numbers, booleans or None (dates as ISO strings)") from None


def _with_attempts(error: BatonError, attempts: int) -> str:
    return f"{error.message} (after {attempts} attempts)" if attempts > 1 else error.message
