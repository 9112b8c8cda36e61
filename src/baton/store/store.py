"""Reads and writes of Baton's own tables. Every write is one transaction and safe to repeat."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from baton.errors import Conflict, NotFound
from baton.store.database import create_engine, migrate
from baton.store.records import (
    IN_FLIGHT_STATUSES,
    ROLLED_UP_STATUSES,
    TERMINAL_STATUSES,
    RunDetail,
    RunSummary,
    RunUpdate,
    StepRecord,
    utcnow,
)
from baton.store.rollups import rollup_from_steps
from baton.store.tables import Decision, PolicyVersion, Run, RunEvent, StepRun, Task, WorkflowVersion
from baton.store.tasks import insert_task


class Store:
    """Baton's tables behind a small API; the engine, services and front ends share one instance.

    Example::

        store = Store.open("sqlite:///.baton/baton.db")
        for run in store.list_runs(workflow="lead-qualification", limit=5):
            print(run.id, run.status)
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._identities: dict[str, tuple[str, int, str]] = {}  # version id → (name, version, team)
        self._frozen: set[str] = set()  # versions known to have run: their first_run_at is set
        event.listen(self._sessions, "after_commit", self._remember_frozen)
        self._statements = _Statements(engine.dialect.name)

    def _remember_frozen(self, session: Session) -> None:
        self._frozen.update(session.info.pop("frozen_versions", ()))

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url`` and migrate the schema to the newest revision."""
        engine = create_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()

    def session(self) -> Session:
        """A new session; use as a context manager."""
        return self._sessions()

    # -- workflow versions ---------------------------------------------------------------------

    def register_version(
        self, *, name: str, version: int, digest: str, document: dict[str, Any], source_path: str,
        owner: str, team: str, stage: str,
    ) -> str:
        """Record a workflow version and return its id.

        A version that has run is frozen: registering different content under the same number
        raises Conflict, so every run traces to exactly the spec it ran.
        """
        version_id = f"{name}@{version}"
        with self.session() as session, session.begin():
            existing = session.get(WorkflowVersion, version_id)
            if existing is None:
                session.add(WorkflowVersion(
                    id=version_id, name=name, version=version, digest=digest, document=document,
                    source_path=source_path, owner=owner, team=team, stage=stage, created_at=utcnow(),
                ))
            elif existing.digest != digest:
                if existing.first_run_at is not None:
                    raise Conflict(
                        f"workflow '{name}' version {version} changed after it ran "
                        f"(first run {existing.first_run_at:%Y-%m-%d %H:%M} UTC); "
                        f"bump 'version:' in {source_path} to {version + 1} to publish the change"
                    )
                existing.digest, existing.document = digest, document
                existing.owner, existing.team, existing.stage = owner, team, stage
                existing.source_path = source_path
        return version_id

    def register_policy(self, *, name: str, version: int, digest: str, document: dict[str, Any],
                        source_path: str) -> str:
        """Record an organisation policy version and return its id; like workflows, a used version is frozen."""
        policy_id = f"{name}@{version}"
        now = utcnow()
        with self.session() as session, session.begin():
            existing = session.get(PolicyVersion, policy_id)
            if existing is None:
                session.add(PolicyVersion(id=policy_id, name=name, version=version, digest=digest, document=document,
                                          source_path=source_path, created_at=now, first_used_at=now))
            elif existing.digest != digest:
                raise Conflict(
                    f"policy '{name}' version {version} changed after runs applied it; bump 'version:' in "
                    f"{source_path} to {version + 1} so every run keeps the rules it ran under")
        return policy_id

    def policy_documents(self, policy_ids: list[str]) -> list[dict[str, Any]]:
        """The stored documents of these policy versions, in the order given."""
        if not policy_ids:
            return []
        with self.session() as session:
            rows = {row.id: row.document for row in session.scalars(
                sa.select(PolicyVersion).where(PolicyVersion.id.in_(policy_ids)))}
        missing = [pid for pid in policy_ids if pid not in rows]
        if missing:
            raise NotFound("policy version", ", ".join(missing))
        return [rows[pid] for pid in policy_ids]

    def month_spend(self, *, since: datetime, workflow: str | None = None, team: str | None = None) -> float:
        """Model cost in USD of the runs started since ``since``, of one workflow or one team.

        Ended and waiting runs count by their rollup; runs queued or running by their step rows (there are few).
        """
        scope = [Run.started_at >= since]
        if workflow is not None:
            scope.append(Run.workflow == workflow)
        if team is not None:
            scope.append(Run.team == team)
        ended = sa.select(sa.func.coalesce(sa.func.sum(Run.cost_usd), 0.0)).where(
            *scope, Run.status.in_(ROLLED_UP_STATUSES))
        in_flight = (sa.select(sa.func.coalesce(sa.func.sum(StepRun.cost_usd), 0.0))
                     .join(Run, Run.id == StepRun.run_id).where(*scope, Run.status.in_(IN_FLIGHT_STATUSES)))
        with self.engine.connect() as connection:
            spent = connection.execute(ended).scalar() or 0.0
            return float(spent) + float(connection.execute(in_flight).scalar() or 0.0)

    def version_document(self, version_id: str) -> tuple[dict[str, Any], str]:
        """The resolved spec document of a version and the file it came from."""
        with self.session() as session:
            row = session.get(WorkflowVersion, version_id)
            if row is None:
                raise NotFound("workflow version", version_id)
            return row.document, row.source_path

    # -- runs ----------------------------------------------------------------------------------

    def create_run(
        self, *, run_id: str, version_id: str, input: dict[str, Any], business_key: str | None,
        started_by: str, status: str = "running", policy_ids: list[str] | None = None,
    ) -> None:
        """Insert a run and freeze its workflow version, in one transaction."""
        with self.session() as session, session.begin():
            self.add_run(session, run_id=run_id, version_id=version_id, input=input, business_key=business_key,
                         started_by=started_by, status=status, policy_ids=policy_ids)

    def add_run(
        self, session: Session, *, run_id: str, version_id: str, input: dict[str, Any], business_key: str | None,
        started_by: str, status: str, policy_ids: list[str] | None = None,
    ) -> None:
        """Add a run to the caller's transaction (so a queue entry can commit with it)."""
        now = utcnow()
        name, version, team = self._version_identity(session, version_id)
        if version_id not in self._frozen:
            session.execute(sa.update(WorkflowVersion)
                            .where(WorkflowVersion.id == version_id, WorkflowVersion.first_run_at.is_(None))
                            .values(first_run_at=now))
        session.execute(self._statements.insert_run, {
            "id": run_id, "version_id": version_id, "workflow": name, "version": version, "team": team,
            "status": status, "input": input, "business_key": business_key, "started_by": started_by,
            "started_at": now, "policy_ids": policy_ids or [],
        })
        session.execute(self._statements.insert_events, [{
            "key": f"{run_id}:run.created:", "run_id": run_id, "step_id": None, "type": "run.created", "at": now,
            "data": {"version": version_id, "by": started_by, "status": status, "policies": policy_ids or []},
        }])
        session.info.setdefault("frozen_versions", set()).add(version_id)

    def _version_identity(self, session: Session, version_id: str) -> tuple[str, int, str]:
        identity = self._identities.get(version_id)
        if identity is None:
            row = session.execute(sa.select(WorkflowVersion.name, WorkflowVersion.version, WorkflowVersion.team)
                                  .where(WorkflowVersion.id == version_id)).first()
            if row is None:
                raise NotFound("workflow version", version_id)
            identity = (row.name, row.version, row.team)
            self._identities[version_id] = identity
        return identity

    def run_ids_starting_with(self, prefix: str, limit: int = 5) -> list[str]:
        """Ids of runs that start with ``prefix`` (exact match first)."""
        with self.session() as session:
            prefix = prefix.lower()  # run ids are lowercase hex; SQLite's LIKE ignores case, PostgreSQL's does not
            if session.get(Run, prefix) is not None:
                return [prefix]
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = sa.select(Run.id).where(Run.id.like(f"{escaped}%", escape="\\")).limit(limit)
            return list(session.scalars(query))

    def delete_run(self, run_id: str) -> None:
        """Remove a run that never started (its workflow could not be launched)."""
        with self.session() as session, session.begin():
            session.execute(sa.delete(RunEvent).where(RunEvent.run_id == run_id))
            session.execute(sa.delete(Run).where(Run.id == run_id))

    def apply(self, update: RunUpdate) -> None:
        """Write a run's new state, its step records and events in one transaction; repeating it changes nothing.

        This is the engine's hot path (once per segment), so its statements are built once and reused.
        """
        now = utcnow()
        with self.engine.begin() as connection:
            result = connection.execute(self._statements.update_run, {
                "b_run_id": update.run_id, "b_status": update.status, "b_output": update.output,
                "b_error": update.error, "b_error_code": update.error_code, "b_waiting_on": update.waiting_on,
                "b_waiting_due": update.waiting_due, "b_waiting_assignee": update.waiting_assignee,
                "b_waiting_since": now if update.waiting_on else None,
                "b_terminal": update.status in TERMINAL_STATUSES, "b_now": now,
            })
            if result.rowcount == 0:
                raise NotFound("run", update.run_id)
            if update.steps:
                latest = {record.step_id: record for record in update.steps}  # one row per step and statement
                rows = [{"run_id": update.run_id, **_step_values(record)} for record in latest.values()]
                connection.execute(self._statements.upsert_steps, rows)
            if update.task is not None:
                insert_task(connection, update.run_id, update.task, now)
            rollup = update.rollup
            if rollup is None and update.status in TERMINAL_STATUSES:  # ended outside the engine's accounting
                rollup = rollup_from_steps(connection, update.run_id)
            if rollup is not None:
                connection.execute(self._statements.update_rollup, {"b_run_id": update.run_id, **rollup})
            if update.events:
                connection.execute(self._statements.insert_events, [
                    {"key": f"{update.run_id}:{kind}:{step or ''}", "run_id": update.run_id, "step_id": step,
                     "type": kind, "at": now, "data": data}
                    for kind, step, data in update.events
                ])

    def checkpoint_steps(self, run_id: str, records: list[StepRecord]) -> None:
        """Write step records (a step's checkpoint) in one transaction; repeating it changes nothing."""
        if not records:
            return
        latest = {record.step_id: record for record in records}  # one row per step and statement
        with self.engine.begin() as connection:
            connection.execute(self._statements.upsert_steps,
                               [{"run_id": run_id, **_step_values(record)} for record in latest.values()])

    def checkpoints(self, run_id: str, *, with_input: bool) -> tuple[dict[str, Any] | None, dict[str, StepRecord]]:
        """What a run already did: its input (if asked) and its completed or failed steps, by step id."""
        with self.engine.connect() as connection:
            run_input = None
            if with_input:
                run_input = connection.execute(sa.select(Run.input).where(Run.id == run_id)).scalar()
                if run_input is None:
                    raise NotFound("run", run_id)
            rows = connection.execute(
                sa.select(StepRun.step_id, StepRun.kind, StepRun.status, StepRun.output, StepRun.error,
                          StepRun.error_code, StepRun.attempts, StepRun.started_at, StepRun.ended_at, StepRun.cost_usd)
                .where(StepRun.run_id == run_id, StepRun.status.in_(("completed", "failed")))
            )
            return run_input, {
                row.step_id: StepRecord(step_id=row.step_id, kind=row.kind, status=row.status, output=row.output,
                                        error=row.error, error_code=row.error_code, attempts=row.attempts,
                                        started_at=_aware(row.started_at).timestamp(), cost_usd=row.cost_usd or 0.0,
                                        ended_at=_aware(row.ended_at).timestamp() if row.ended_at else None)
                for row in rows
            }

    def run_governance(self, run_id: str) -> tuple[list[str], str]:
        """The organisation policy versions a run applies and who started it."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(Run.policy_ids, Run.started_by).where(Run.id == run_id)).first()
        if row is None:
            raise NotFound("run", run_id)
        return list(row.policy_ids or []), row.started_by

    def mark_running(self, run_id: str) -> None:
        """Show a queued run as running once a worker starts it, and keep how long it waited in the queue."""
        now = utcnow()
        with self.engine.begin() as connection:
            queued_at = connection.execute(
                sa.select(Run.started_at).where(Run.id == run_id, Run.status == "queued")).scalar()
            if queued_at is None:  # already picked up (a recovered segment runs this again)
                return
            waited = max(0.0, (now - _aware(queued_at)).total_seconds())
            connection.execute(sa.update(Run).where(Run.id == run_id, Run.status == "queued")
                               .values(status="running", queue_s=round(waited, 3)))

    def run_row(self, run_id: str) -> RunSummary:
        """One run's summary."""
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise NotFound("run", run_id, "list runs with `baton runs list`")
            return _summary(run)

    def decided_but_parked(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Runs still waiting on a step that already has a decision: (run, step, decision message)."""
        query = (
            sa.select(Run.id, Run.waiting_on, Run.waiting_since, Decision)
            .join(Decision, sa.and_(Decision.run_id == Run.id, Decision.step_id == Run.waiting_on))
            .where(Run.status == "waiting")
        )
        with self.session() as session:
            return [
                (run_id, step_id or "", decision_message(decision, waiting_since))
                for run_id, step_id, waiting_since, decision in session.execute(query)
            ]

    def run_status(self, run_id: str) -> str:
        """The status of one run."""
        with self.session() as session:
            status = session.scalar(sa.select(Run.status).where(Run.id == run_id))
            if status is None:
                raise NotFound("run", run_id, "list runs with `baton runs list`")
            return status

    def list_runs(
        self, *, workflow: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[RunSummary]:
        """Newest runs first, optionally of one workflow and status."""
        query = sa.select(Run).order_by(Run.started_at.desc(), Run.id).limit(limit)
        if workflow:
            query = query.where(Run.workflow == workflow)
        if status:
            query = query.where(Run.status == status)
        with self.session() as session:
            return [_summary(run) for run in session.scalars(query)]

    def count_runs(self) -> dict[tuple[str, str], int]:
        """Number of runs by (workflow, status)."""
        query = sa.select(Run.workflow, Run.status, sa.func.count()).group_by(Run.workflow, Run.status)
        with self.session() as session:
            return {(w, s): n for w, s, n in session.execute(query)}

    def get_run(self, run_id: str) -> RunDetail:
        """One run with its steps and events."""
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise NotFound("run", run_id, "list runs with `baton runs list`")
            steps = session.scalars(sa.select(StepRun).where(StepRun.run_id == run_id).order_by(StepRun.id))
            events = session.scalars(sa.select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id))
            tasks = session.scalars(sa.select(Task).where(Task.run_id == run_id, Task.status == "open"))
            return RunDetail(
                summary=_summary(run), input=run.input, output=run.output,
                steps=[_step_dict(step) for step in steps],
                events=[{"type": e.type, "step": e.step_id, "at": e.at.isoformat(), "data": e.data} for e in events],
                tasks=[_task_dict(task) for task in tasks],
            )

    # -- decisions -----------------------------------------------------------------------------

    def record_decision(
        self, *, run_id: str, step_id: str, decision: str, by: str, reason: str, detail: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record the one decision on a waiting human step and return the message that resumes the run.

        Raises:
            NotFound: no such run.
            Conflict: the run is not waiting on that step, or someone decided it first.
        """
        now = utcnow()
        try:
            with self.session() as session, session.begin():
                run = session.get(Run, run_id)
                if run is None:
                    raise NotFound("run", run_id, "list runs with `baton runs list`")
                if run.waiting_on != step_id:
                    waiting = f"waits on '{run.waiting_on}'" if run.waiting_on else f"is {run.status}"
                    raise Conflict(f"run {run_id} is not waiting on step '{step_id}' (it {waiting})")
                row = Decision(run_id=run_id, step_id=step_id, decision=decision, decided_by=by,
                               reason=reason, decided_at=now, detail=detail, workflow=run.workflow)
                session.add(row)
                open_task = sa.and_(Task.run_id == run_id, Task.gate == step_id, Task.status == "open")
                session.execute(sa.update(Task).where(open_task).values(
                    status="decided", outcome=decision, decided_by=by, decision_reason=reason, decided_at=now,
                    revision=Task.revision + 1))
                session.add(RunEvent(key=f"{run_id}:decision:{step_id}", run_id=run_id, step_id=step_id,
                                     type="decision", at=now, data={"decision": decision, "by": by,
                                                                    "reason": reason}))
                session.flush()
                return decision_message(row, run.waiting_since)
        except sa.exc.IntegrityError:
            raise Conflict(f"step '{step_id}' of run {run_id} was already decided") from None


class _Statements:
    """The engine's hot-path statements, compiled once per store (SQLAlchemy caches them by identity)."""

    def __init__(self, dialect_name: str) -> None:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        self.insert_run = sa.insert(Run)
        steps = dialect.insert(StepRun)
        self.upsert_steps = steps.on_conflict_do_update(
            index_elements=[StepRun.run_id, StepRun.step_id],
            set_={c.name: steps.excluded[c.name] for c in StepRun.__table__.columns
                  if c.name not in ("id", "run_id", "step_id")},
        )
        self.insert_events = dialect.insert(RunEvent).on_conflict_do_nothing(index_elements=[RunEvent.key])
        self.update_rollup = sa.update(Run).where(Run.id == sa.bindparam("b_run_id")).values(
            cost_usd=sa.bindparam("cost_usd"), machine_s=sa.bindparam("machine_s"),
            review_s=sa.bindparam("review_s"), touched=sa.bindparam("touched"))
        waiting_on = sa.bindparam("b_waiting_on", type_=sa.String())
        now = sa.bindparam("b_now", type_=sa.DateTime(timezone=True))
        self.update_run = sa.update(Run).where(Run.id == sa.bindparam("b_run_id")).values(
            status=sa.bindparam("b_status"),
            output=sa.bindparam("b_output", type_=sa.JSON(none_as_null=True)),
            error=sa.bindparam("b_error", type_=sa.Text()),
            error_code=sa.bindparam("b_error_code", type_=sa.String()),
            waiting_on=waiting_on,
            waiting_due=sa.bindparam("b_waiting_due", type_=sa.DateTime(timezone=True)),
            waiting_assignee=sa.bindparam("b_waiting_assignee", type_=sa.String()),
            # The wait started when the run first parked on this step, not at every repeat of the update.
            waiting_since=sa.case((Run.waiting_on.is_not_distinct_from(waiting_on), Run.waiting_since),
                                  else_=sa.bindparam("b_waiting_since", type_=sa.DateTime(timezone=True))),
            ended_at=sa.case((sa.bindparam("b_terminal", type_=sa.Boolean()), sa.func.coalesce(Run.ended_at, now)),
                             else_=Run.ended_at),
        )


def decision_message(decision: Decision, waiting_since: datetime | None) -> dict[str, Any]:
    """What the engine needs to resume a run after ``decision`` (``detail``: task, content hash, edit)."""
    return {
        "decision": decision.decision, "by": decision.decided_by, "reason": decision.reason,
        "at": _aware(decision.decided_at).isoformat(), "decided_ts": _aware(decision.decided_at).timestamp(),
        "waiting_since": _aware(waiting_since).timestamp() if waiting_since else None,
        "detail": decision.detail or {},
    }


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; every datetime Baton stores is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _step_values(record: StepRecord) -> dict[str, Any]:
    return {
        "step_id": record.step_id, "kind": record.kind, "status": record.status, "input": record.input,
        "output": record.output, "error": record.error, "error_code": record.error_code,
        "started_at": _from_timestamp(record.started_at),
        "ended_at": _from_timestamp(record.ended_at) if record.ended_at is not None else None,
        "attempts": record.attempts, "model": record.model, "prompt_hash": record.prompt_hash,
        "input_tokens": record.input_tokens, "output_tokens": record.output_tokens, "cost_usd": record.cost_usd,
    }


def _from_timestamp(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _summary(run: Run) -> RunSummary:
    return RunSummary(
        id=run.id, workflow=run.workflow, version=run.version, team=run.team, status=run.status,
        business_key=run.business_key, waiting_on=run.waiting_on, waiting_assignee=run.waiting_assignee,
        waiting_due=_aware(run.waiting_due) if run.waiting_due else None, started_at=_aware(run.started_at),
        ended_at=_aware(run.ended_at) if run.ended_at else None, error=run.error, queue_s=run.queue_s,
    )


def _task_dict(task: Task) -> dict[str, Any]:
    assignee = task.assignee_user or "@".join(p for p in (task.assignee_role, task.assignee_team) if p)
    return {
        "id": task.id, "gate": task.gate, "title": task.title, "reason": task.reason, "assignee": assignee,
        "escalated_to": list(task.escalate_to or [])[: task.escalation_level],
        "due_at": _aware(task.due_at).isoformat() if task.due_at else None, "content_hash": task.content_hash,
        "approvals": f"{len(task.approvals or [])}/{task.approvals_required}",
    }


def _step_dict(step: StepRun) -> dict[str, Any]:
    return {
        "step": step.step_id, "kind": step.kind, "status": step.status, "attempts": step.attempts,
        "started_at": _aware(step.started_at).isoformat(),
        "ended_at": _aware(step.ended_at).isoformat() if step.ended_at else None,
        "duration_ms": round((step.ended_at - step.started_at).total_seconds() * 1000, 2) if step.ended_at else None,
        "model": step.model, "prompt_hash": step.prompt_hash, "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens, "cost_usd": step.cost_usd, "output": step.output,
        "error": step.error, "error_code": step.error_code,
    }
