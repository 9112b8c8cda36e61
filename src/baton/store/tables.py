"""The tables Baton keeps, in one place. Only Alembic migrations change the schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of Baton's tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON, list[str]: JSON, list[dict[str, Any]]: JSON, datetime: DateTime(timezone=True),
    }


class WorkflowVersion(Base):
    """One version of a workflow spec, resolved and frozen once a run used it."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_workflow_versions_name_version"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "name@version"
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_path: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    team: Mapped[str] = mapped_column(String(120))
    stage: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Run(Base):
    """One execution of a workflow version on one input."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_workflow_started", "workflow", "started_at"),
        Index("ix_runs_status", "status"),
        Index("ix_runs_business_key", "workflow", "business_key"),
        # Reports read these indexes without touching the table (covering columns after the keys):
        Index("ix_runs_workflow_status", "workflow", "status", "cost_usd", "review_s", "touched", "has_outcome",
              "error_code", "machine_s", "queue_s"),
        Index("ix_runs_workflow_spend", "workflow", "started_at", "status", "cost_usd"),
        Index("ix_runs_workflow_ended", "workflow", "ended_at", "status", "cost_usd"),
        Index("ix_runs_workflow_machine", "workflow", "machine_s"),
        Index("ix_runs_team_spend", "team", "started_at", "status", "cost_usd"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # also the DBOS workflow id
    version_id: Mapped[str] = mapped_column(ForeignKey("workflow_versions.id"))
    workflow: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    team: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20))
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    business_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    waiting_on: Mapped[str | None] = mapped_column(String(120), nullable=True)
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    waiting_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    waiting_assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    policy_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # organisation policies applied
    # Rollups written when the run ends, so reports read one row per run instead of every step:
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")  # model cost of all steps
    machine_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # time its non-human steps took
    review_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")  # time people took to decide
    touched: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # a person decided
    has_outcome: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # an outcome matched it
    queue_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # queued -> a worker picked it up
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StepRun(Base):
    """What one step of one run did: input, output, timing, attempts and model accounting."""

    __tablename__ = "step_runs"
    __table_args__ = (UniqueConstraint("run_id", "step_id", name="uq_step_runs_run_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    input: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    output: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


class Decision(Base):
    """A person's decision on a human step; the unique key makes exactly one decision win."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id", name="uq_decisions_run_step"),
        Index("ix_decisions_workflow", "workflow", "decided_at"),
        Index("ix_decisions_workflow_decision", "workflow", "decision", "decided_at", "edit_size"),  # covering
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(120))
    decision: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # task, content hash, edit
    workflow: Mapped[str | None] = mapped_column(String(120), nullable=True)  # the run's, for reports
    edit_size: Mapped[float | None] = mapped_column(Float, nullable=True)  # share of the output an edit rewrote


class PolicyVersion(Base):
    """One version of an organisation policy, frozen once a run applied it."""

    __tablename__ = "policy_versions"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "name@version"
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Task(Base):
    """A person's review of one run at one gate: what they see, who may decide, by when, and the result.

    ``revision`` grows with every change; a change applies only to the revision its author read, so
    of two people deciding at once exactly one wins.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_status_due", "status", "due_at"),
        Index("ix_tasks_run", "run_id", "gate"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    gate: Mapped[str] = mapped_column(String(200))  # the step id, or "<step>@review" / "<step>@budget"
    kind: Mapped[str] = mapped_column(String(20))  # step | review | budget
    workflow: Mapped[str] = mapped_column(String(120))
    team: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[str | None] = mapped_column(String(200), nullable=True)
    subject: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the reviewer sees
    content_hash: Mapped[str] = mapped_column(String(64))
    assignee_user: Mapped[str | None] = mapped_column(String(200), nullable=True)
    assignee_role: Mapped[str | None] = mapped_column(String(120), nullable=True)
    assignee_team: Mapped[str | None] = mapped_column(String(120), nullable=True)
    escalate_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    sla_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    approvals_required: Mapped[int] = mapped_column(Integer, default=1)
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requester: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # open | decided | expired | cancelled
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)  # approve | edit | reject
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    edited_output: Mapped[Any] = mapped_column(JSON, nullable=True)
    edit_diff: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RunEvent(Base):
    """Something that happened to a run, written once, in order."""

    __tablename__ = "run_events"
    __table_args__ = (Index("ix_run_events_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)  # run:type:step, so replays write once
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    step_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    type: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Asset(Base):
    """One AI tool, agent, automation or model in the footprint, as merged from its sources."""

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_team", "team"), Index("ix_assets_stage", "stage"))

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # the AssetSpec, as JSON
    team: Mapped[str] = mapped_column(String(120))
    stage: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    monthly_cost: Mapped[float] = mapped_column(Float, default=0.0)
    primary_source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AssetSource(Base):
    """What one source file says about one asset; several sources may describe the same asset."""

    __tablename__ = "asset_sources"
    __table_args__ = (UniqueConstraint("asset_id", "source", name="uq_asset_sources_asset_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(120), index=True)
    source: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    locator: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StageChange(Base):
    """A workflow moved between stages (promoted, demoted, retired), with the gate results that allowed it."""

    __tablename__ = "stage_changes"
    __table_args__ = (Index("ix_stage_changes_workflow", "workflow", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(120))
    from_stage: Mapped[str] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    gates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutcomeEvent(Base):
    """A business result (a deal won, a ticket reopened) attached to the run that handled its item."""

    __tablename__ = "outcome_events"
    __table_args__ = (
        Index("ix_outcome_events_workflow", "workflow", "event"),
        Index("ix_outcome_events_run", "run_id"),
    )

    event_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(120))
    business_key: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(120))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: no run handled that key (yet)
    source: Mapped[str] = mapped_column(Text, default="")


class EvalRun(Base):
    """One run of a workflow version's regression set: how many golden cases passed, and which failed."""

    __tablename__ = "eval_runs"
    __table_args__ = (Index("ix_eval_runs_workflow_version", "workflow", "version", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    cases: Mapped[int] = mapped_column(Integer)
    passed: Mapped[int] = mapped_column(Integer)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    run_by: Mapped[str] = mapped_column(String(200))
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Executor(Base):
    """A process that executes runs: where it lives and when it last said it was alive.

    A run interrupted in a process is recovered by another only once that process is known dead:
    stopped, gone from this machine, or silent for longer than the liveness timeout.
    """

    __tablename__ = "executors"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the DBOS executor id
    machine: Mapped[str] = mapped_column(String(300))  # host name and process namespace
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
