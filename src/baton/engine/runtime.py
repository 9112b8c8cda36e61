"""The process-wide engine: DBOS wired to Baton's store, step kinds and executor.

How a run maps onto DBOS:

* segment 0 is the DBOS workflow ``baton.segment`` with workflow id = run id;
* the segment after a decided human step has id ``<run id>:<step id>``: deterministic, so a
  decision can only ever start its continuation once, whichever process tries;
* each step is checkpointed once, in Baton's own ``step_runs`` row, when it finishes; DBOS recovers an
  interrupted segment and the executor skips the steps whose row says completed, so the interrupted
  step runs again and no completed step does (see ``executor.py`` for why not a DBOS step as well);
* parallel branches are child workflows (``baton.branch``) started together.

DBOS keeps one instance per process, so a process has at most one launched Runtime; everything
else (store, project, providers) hangs off this object rather than module globals.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from dbos import DBOS, DBOSClient, DBOSConfig, EnqueueOptions, SetWorkflowID

from baton.engine.attempts import Attempts
from baton.engine.contracts import check_contract
from baton.engine.executor import RunExecutor, SegmentResult
from baton.engine.executors import ExecutorRegistry, new_executor_id
from baton.engine.policies import PolicyCache
from baton.errors import BatonError, Conflict, ContractViolation, NotFound, StepFailed, TrafficDeclined
from baton.expressions import Expression
from baton.models.local import LocalProvider
from baton.models.openai_compat import OpenAICompatibleProvider
from baton.models.prices import PriceTable
from baton.models.registry import ProviderRegistry
from baton.policy.guardrails import Guardrails
from baton.settings import Settings
from baton.spec.loader import LoadedWorkflow
from baton.spec.models import HumanStep, ParallelGroup, WorkflowSpec
from baton.spec.policy import PolicySpec
from baton.spec.project import Project
from baton.steps.base import StepCall, StepResult
from baton.steps.http import HttpKind
from baton.steps.llm import LlmKind
from baton.steps.python import PythonKind, check_python_steps
from baton.store.database import is_sqlite
from baton.store.metrics import MetricsStore
from baton.store.records import RunUpdate, StepRecord
from baton.store.store import Store

ENGINE_VERSION = "baton-engine-1"  # DBOS recovers only workflows of the same application version
QUEUE_NAME = "baton-runs"
SEGMENT = "baton.segment"


@dataclass(frozen=True)
class StartedRun:
    """A run that was accepted: its id and, unless detached, how its first segment ended."""

    run_id: str
    result: SegmentResult | None


class Runtime:
    """Baton's engine in this process.

    Example::

        runtime = Runtime(Settings.from_env(Path("examples/demo")))
        runtime.launch()
        started = runtime.start_run("support-routing", {"ticket_id": "T-1", ...})
        print(started.result.status)       # completed | waiting | failed
        runtime.shutdown()
    """

    def __init__(self, settings: Settings, *, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store.open(settings.database_url)
        self.project = Project(settings.project_dir)
        self._http = httpx.Client(follow_redirects=False)
        self._kinds = {
            "python": PythonKind(settings.project_dir).run,
            "llm": LlmKind(_providers(settings.project_dir), settings.model).run,
            "http": HttpKind(self._http).run,
        }
        self._specs: dict[str, tuple[WorkflowSpec, Path]] = {}
        self._specs_lock = threading.Lock()
        self._frozen: dict[str, str] = {}  # digest → id of a version that has run with exactly that content
        self._launched = False
        self.executor_id = settings.executor_id or new_executor_id()
        self._registry = ExecutorRegistry(self.store.engine, self.executor_id, timeout_s=settings.executor_timeout_s)
        self._client: DBOSClient | None = None
        self._policies = PolicyCache(self.project, self.store)
        self._executor = RunExecutor(
            store=self.store, spec_for=lambda version_id: self._spec(version_id)[0],
            attempt=self._attempt, run_branches=self._run_branches, durable_clock=self._durable_now,
            guardrails_for=self._guardrails,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def launch(self, *, worker_concurrency: int = 4) -> None:
        """Register Baton's workflows with DBOS, start it, and recover interrupted runs."""
        self._register()
        self._registry.register()  # before DBOS: no workflow carries this id before it is known alive
        config: DBOSConfig = {
            "name": "baton",
            "application_version": ENGINE_VERSION,
            "executor_id": self.executor_id,
            "log_level": "WARNING",
        }
        if is_sqlite(self.settings.database_url):
            config["system_database_engine"] = self.store.engine
        else:
            config["system_database_url"] = self.settings.database_url
        DBOS(config=config)
        DBOS.launch()
        DBOS.register_queue(QUEUE_NAME, worker_concurrency=worker_concurrency,
                            polling_interval_sec=self.settings.queue_poll_s, on_conflict="always_update")
        self._launched = True
        self.recover_orphans()
        self.resume_decided()

    def recover_orphans(self) -> int:
        """Take over the unfinished runs of executors known dead (see :mod:`baton.engine.executors`).

        Returns how many executors' runs were taken over. Workers call this every few seconds; every
        launch calls it once.
        """
        pending = DBOS.list_workflows(status="PENDING", app_version=ENGINE_VERSION, load_input=False,
                                      load_output=False)
        dead = self._registry.dead(w.executor_id for w in pending if w.executor_id)
        if dead:
            DBOS._recover_pending_workflows(dead)  # DBOS's own recovery, for executor ids we vouch are dead
        return len(dead)

    def shutdown(self) -> None:
        """Stop DBOS (if launched) and release connections. Parked runs stay parked in the store."""
        if self._launched:
            DBOS.destroy(destroy_registry=True)
            self._launched = False
        self._registry.stop()  # also when DBOS failed to launch after this process registered
        if self._client is not None:
            self._client.destroy()
            self._client = None
        self._http.close()
        self.store.close()

    def _register(self) -> None:
        def run_segment(run_id: str, version_id: str, start: int, run_input: dict[str, Any] | None,
                        decision: dict[str, Any] | None, queued: bool = False) -> dict[str, Any]:
            try:
                return self._executor.execute(run_id, version_id, start, run_input, decision,
                                              queued=queued).to_dict()
            except Exception as exc:
                # A bug or an unreachable database must not leave a run that looks alive forever.
                reason = f"internal error in the engine: {type(exc).__name__}: {exc}"
                self.store.apply(RunUpdate(run_id, "failed", error=reason, error_code="internal",
                                           events=[("run.failed", None, {"error": reason})]))
                return SegmentResult("failed", error=reason).to_dict()

        def run_branch(run_id: str, version_id: str, step_id: str, run_input: dict[str, Any],
                       outputs: dict[str, Any]) -> dict[str, Any]:
            record = self._attempt(run_id, version_id, step_id, run_input, outputs)
            self.store.checkpoint_steps(run_id, [record])
            return record.to_dict()

        def now() -> float:
            return time.time()

        self._segment_fn = DBOS.workflow(name=SEGMENT)(run_segment)
        self._branch_fn = DBOS.workflow(name="baton.branch")(run_branch)
        self._now_fn = DBOS.step(name="baton.now")(now)

    # -- durable pieces the executor calls -----------------------------------------------------

    def _run_branches(self, run_id: str, version_id: str, branch_ids: list[str], run_input: dict[str, Any],
                      outputs: dict[str, Any]) -> list[dict[str, Any]]:
        handles = [DBOS.start_workflow(self._branch_fn, run_id, version_id, branch_id, run_input, outputs)
                   for branch_id in branch_ids]
        return [handle.get_result() for handle in handles]

    def _durable_now(self) -> float:
        return self._now_fn()

    def _attempt(self, run_id: str, version_id: str, step_id: str, run_input: dict[str, Any],
                 outputs: dict[str, Any]) -> StepRecord:
        spec, base_dir = self._spec(version_id)
        return self._try(spec, base_dir, step_id, run_id, run_input, outputs, self._guardrails(run_id, version_id))

    def try_step(self, loaded: LoadedWorkflow, step_id: str, run_input: dict[str, Any], outputs: dict[str, Any],
                 guard: Guardrails) -> StepRecord:
        """Run one step outside any run (no checkpoint, no DBOS), under its retry policy, contract and guardrails.

        For regression sets: only ``llm`` steps, which have no side effects, should be tried this way.
        """
        return self._try(loaded.spec, loaded.base_dir, step_id, f"eval-{uuid.uuid4().hex}", run_input, outputs,
                         guard)

    def _try(self, spec: WorkflowSpec, base_dir: Path, step_id: str, run_id: str, run_input: dict[str, Any],
             outputs: dict[str, Any], guard: Guardrails) -> StepRecord:
        step = next(s for s in spec.all_steps() if s.id == step_id)
        assert not isinstance(step, HumanStep | ParallelGroup)
        call = StepCall(run_id=run_id, workflow=spec.workflow, version=spec.version, step=step, input=run_input,
                        outputs=outputs, base_dir=base_dir, guard=guard)
        return Attempts(runner=self._dispatch).run(call)

    def policies_for(self, spec: WorkflowSpec) -> list[PolicySpec]:
        """The organisation policies that cover ``spec`` now (registered as versions)."""
        return [self._policies.policy(policy_id) for policy_id in self._policies.applicable(spec)]

    def _dispatch(self, call: StepCall) -> StepResult:
        return self._kinds[call.step.uses](call)

    def _guardrails(self, run_id: str, version_id: str) -> Guardrails:
        return self._policies.guardrails(run_id, self._spec(version_id)[0], version_id)

    def _spec(self, version_id: str) -> tuple[WorkflowSpec, Path]:
        # Versions are immutable once they have run, so a parsed spec can be cached for good.
        with self._specs_lock:
            cached = self._specs.get(version_id)
        if cached is None:
            document, source_path = self.store.version_document(version_id)
            cached = (WorkflowSpec.model_validate(document), Path(source_path).parent)
            with self._specs_lock:
                self._specs[version_id] = cached
        return cached

    # -- services ------------------------------------------------------------------------------

    def prepare(self, workflow: str | LoadedWorkflow, run_input: dict[str, Any]) -> tuple[str, str | None]:
        """Check a workflow and an input without starting anything; return (version id, business key).

        The organisation policies that cover the workflow are registered by :meth:`start_run`.

        Raises:
            SpecErrors, NotFound: the workflow cannot be loaded.
            ContractViolation: the input breaks the workflow's input schema.
            StepFailed: a python step's function cannot be imported.
            Conflict: the workflow changed after its version ran.
        """
        loaded = workflow if isinstance(workflow, LoadedWorkflow) else self.project.workflow(workflow)
        spec = loaded.spec
        if not isinstance(run_input, dict):
            raise ContractViolation(where=f"{spec.workflow} input", field="", problem="must be a JSON object",
                                    value=run_input)
        check_contract(spec.input, run_input, where=f"{spec.workflow} input")
        self.check_imports(spec)
        version_id = self._frozen.get(loaded.digest)
        if version_id is None:  # a version that has run cannot change, so its content need not be rechecked
            version_id = self.store.register_version(
                name=spec.workflow, version=spec.version, digest=loaded.digest, document=loaded.document,
                source_path=str(loaded.path), owner=spec.owner, team=spec.team, stage=spec.stage,
            )

        key = None
        if spec.measure and spec.measure.business_key:
            value = Expression.compile(spec.measure.business_key).evaluate(
                {"input": run_input}, where=f"{spec.workflow} measure.business_key")
            key = None if value is None else str(value)
        return version_id, key

    def check_imports(self, spec: WorkflowSpec) -> None:
        """Import every python step's function now, so a typo fails before a run exists."""
        check_python_steps(spec, self.settings.project_dir)

    def start_run(
        self, workflow: str | LoadedWorkflow, run_input: dict[str, Any], *, detach: bool = False,
        started_by: str | None = None, production: bool = False,
    ) -> StartedRun:
        """Validate and start a run. In the foreground, return when it completes, fails or parks.

        Detached runs are queued for any ``baton worker`` (this process need not be launched).
        Nothing is written unless the input and workflow are valid. ``production`` marks real traffic
        (a webhook, a queue of real items): an experiment refuses it and a pilot takes only its share.

        Raises:
            TrafficDeclined: production traffic the workflow's stage does not take.
        """
        loaded = workflow if isinstance(workflow, LoadedWorkflow) else self.project.workflow(workflow)
        version_id, business_key = self.prepare(loaded, run_input)
        if production:
            self._admit(loaded.spec, business_key or json.dumps(run_input, sort_keys=True, default=str))
        policy_ids = self._policies.applicable(loaded.spec)
        run_id = uuid.uuid4().hex
        self._policies.remember(run_id, policy_ids)
        by = started_by or self.settings.user
        if detach:
            self._enqueue(run_id, version_id, run_input, business_key, by, policy_ids)
            self._frozen[loaded.digest] = version_id
            return StartedRun(run_id, None)
        self._require_launched()
        self.store.create_run(run_id=run_id, version_id=version_id, input=run_input, business_key=business_key,
                              started_by=by, status="running", policy_ids=policy_ids)
        self._frozen[loaded.digest] = version_id
        try:
            with SetWorkflowID(run_id):
                handle = DBOS.start_workflow(self._segment_fn, run_id, version_id, 0, run_input, None)
        except Exception:
            self.store.delete_run(run_id)
            raise
        return StartedRun(run_id, _segment_result(handle.get_result()))

    def _admit(self, spec: WorkflowSpec, key: str) -> None:
        """Stage has teeth: experiments take no production traffic; a pilot takes a stable share of it."""
        stage = MetricsStore(self.store.engine).current_stage(spec.workflow) or spec.stage
        if stage in ("experiment", "retired"):
            raise TrafficDeclined(f"{spec.workflow} is {'an experiment' if stage == 'experiment' else 'retired'}: "
                                  "it takes no production traffic (promote it to pilot first)")
        share = spec.traffic.pilot_share
        if stage == "pilot" and share < 1:
            # The same item always gets the same answer, so a retried webhook does not flip between paths.
            draw = int(hashlib.sha256(f"{spec.workflow}|{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            if draw >= share:
                raise TrafficDeclined(f"{spec.workflow} is a pilot taking {share:.0%} of production traffic; "
                                      f"this item ({key[:40]}) stays on the existing path")

    def _enqueue(self, run_id: str, version_id: str, run_input: dict[str, Any], business_key: str | None,
                 by: str, policy_ids: list[str]) -> None:
        options: EnqueueOptions = {
            "queue_name": QUEUE_NAME, "workflow_name": SEGMENT, "workflow_id": run_id,
            "app_version": ENGINE_VERSION,
        }
        client = self._dbos_client()
        # One transaction: the run row and its queue entry exist together or not at all.
        with self.store.session() as session, session.begin():
            self.store.add_run(session, run_id=run_id, version_id=version_id, input=run_input,
                               business_key=business_key, started_by=by, status="queued", policy_ids=policy_ids)
            client.enqueue_in_transaction(session, options, run_id, version_id, 0, run_input, None, True)

    def decide(self, run_id: str, step_id: str, decision: str, *, by: str | None = None,
               reason: str = "") -> SegmentResult | None:
        """Record a decision on a parked gate as the system, without authorisation, and continue the run.

        People decide through :class:`baton.approvals.Approvals`, which checks who may decide, four
        eyes and the content hash; this is the engine's own door (tests, tools, recovery).

        Raises:
            Conflict: the run is not waiting on that gate, or it was already decided.
            BatonError: an unknown decision, or a rejection without a reason.
        """
        if decision not in ("approve", "reject"):
            raise BatonError(f"decision must be 'approve' or 'reject', not '{decision}'")
        if decision == "reject" and not reason.strip():
            raise BatonError("a rejection needs a reason (--reason 'why'), so the owner can act on it")
        run_id = self.resolve_run_id(run_id)
        message = self.store.record_decision(run_id=run_id, step_id=step_id, decision=decision,
                                             by=by or self.settings.user, reason=reason)
        return self.continue_run(run_id, step_id, message)

    def continue_run(self, run_id: str, gate: str, message: dict[str, Any], *,
                     wait: bool = True) -> SegmentResult | None:
        """Start the segment after a recorded decision on ``gate``; at most once per run and gate.

        In a launched process the continuation runs here (its result is returned when ``wait``);
        otherwise it is queued for a worker and None is returned.
        """
        summary = self.store.run_row(run_id)
        version_id = f"{summary.workflow}@{summary.version}"
        spec, _ = self._spec(version_id)
        step_id = gate.split("@", 1)[0]
        start = next(i for i, s in enumerate(spec.steps) if s.id == step_id)
        message = {**message, "gate": gate}
        workflow_id = f"{run_id}:{gate}"
        if not self._launched:
            options: EnqueueOptions = {"queue_name": QUEUE_NAME, "workflow_name": SEGMENT,
                                       "workflow_id": workflow_id, "app_version": ENGINE_VERSION}
            self._dbos_client().enqueue(options, run_id, version_id, start, None, message)
            return None
        with SetWorkflowID(workflow_id):
            handle = DBOS.start_workflow(self._segment_fn, run_id, version_id, start, None, message)
        return _segment_result(handle.get_result()) if wait else None

    def resume_decided(self) -> int:
        """Continue runs whose decision was recorded but whose continuation never started (a crash).

        The continuations run in the background; a continuation already started elsewhere is not
        started again (its workflow id is fixed by the run and the step).
        """
        parked = self.store.decided_but_parked()
        for run_id, step_id, message in parked:
            self.continue_run(run_id, step_id, message, wait=False)
        return len(parked)

    def resolve_run_id(self, prefix: str) -> str:
        """The full id of the run whose id starts with ``prefix`` (as shown by ``baton runs list``)."""
        matches = self.store.run_ids_starting_with(prefix)
        if not matches:
            raise NotFound("run", prefix, "list runs with `baton runs list`")
        if len(matches) > 1:
            raise Conflict(f"run id prefix '{prefix}' matches {len(matches)} runs; give more characters")
        return matches[0]

    def _require_launched(self) -> None:
        if not self._launched:
            raise StepFailed(step="(engine)", reason="the engine is not launched in this process; "
                             "call Runtime.launch() or start the run detached")

    def _dbos_client(self) -> DBOSClient:
        if self._client is None:
            DBOS.migrate(self.settings.database_url)  # a client never creates DBOS's tables itself
            if is_sqlite(self.settings.database_url):
                self._client = DBOSClient(system_database_engine=self.store.engine)
            else:
                self._client = DBOSClient(system_database_url=self.settings.database_url)
        return self._client


def _providers(project_dir: Path) -> ProviderRegistry:
    """The model providers, priced from the project's ``prices.yaml`` when it has one (read at first use)."""
    prices = project_dir / "prices.yaml"
    return ProviderRegistry({
        "local": LocalProvider,
        "openai": lambda: OpenAICompatibleProvider.from_env(PriceTable.from_yaml(prices) if prices.is_file() else None),
    })


def _segment_result(value: dict[str, Any]) -> SegmentResult:
    return SegmentResult(status=value["status"], waiting_on=value.get("waiting_on"), error=value.get("error"))
