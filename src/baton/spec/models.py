"""Pydantic models of the YAML documents a Baton project holds.

A workflow document (``workflows/*.yaml``)::

    workflow: lead-qualification
    version: 3
    owner: dana@acme.example
    team: sales
    stage: pilot
    input: {$ref: ../schemas/lead.json}
    steps:
      - id: score
        uses: llm
        prompt: ../prompts/lead-score.md
        output: {$ref: ../schemas/lead-score.json}
      - id: review
        uses: human
        when: "steps.score.output.score >= 0.7 && input.deal_size > 10000"
        assign: {role: approver, team: sales}
        sla: 4h
      - id: route
        uses: python
        call: acme.sales:route_to_rep

Paths (``$ref``, ``prompt``, ``template``, ``train``) are relative to the document's own file.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from baton.spec.base import SLUG, STAGES, Assignment, JsonSchema, Spec, Stage, parse_duration
from baton.spec.policy import Guardrail

__all__ = ["SLUG", "STAGES", "STEP_KINDS", "Assignment", "JsonSchema", "Spec", "Stage", "parse_duration"]

STEP_KINDS = ("llm", "python", "http", "human")

class Retry(Spec):
    """How often a failing step is tried again, and how long to wait between tries."""

    attempts: int = Field(3, ge=1, le=100, description="total tries, the first included")
    backoff: float = Field(1.0, ge=0, description="seconds before the second try")
    factor: float = Field(2.0, ge=1, description="multiplier of the wait after each try")

    @field_validator("backoff", mode="before")
    @classmethod
    def _backoff_duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value


class StepBase(Spec):
    """Fields every step kind shares."""

    id: str = Field(pattern=SLUG)
    name: str = ""
    description: str = ""
    when: str | None = Field(None, description="CEL expression; the step runs only when it is true")
    output: JsonSchema | None = Field(None, description="JSON Schema the step's output must satisfy")
    data: list[str] = Field(default_factory=list, description="data classes the step touches")
    retry: Retry | None = None
    timeout: float | None = Field(None, description="seconds (or a duration like 30s) one try may take")

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout_duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)


class ClassifierSpec(Spec):
    """An offline text classifier trained on a labelled CSV (columns ``text`` and ``label``)."""

    train: str = Field(description="path of the labelled CSV")
    text: str = Field(description="Jinja template of the text to classify")


class OfflineSpec(Spec):
    """How the offline ``local`` provider answers an ``llm`` step: a classifier and/or a template.

    The template is Jinja that renders YAML; it sees ``input``, ``steps`` and, with a classifier,
    ``prediction`` (``label``, ``confidence``, ``probabilities``). The parsed YAML is the output.
    """

    classifier: ClassifierSpec | None = None
    template: str = Field(description="path of the Jinja template rendering the output as YAML")


class LlmStep(StepBase):
    """Ask a model. The prompt is a Jinja template; ``output`` is sent as the response schema."""

    uses: Literal["llm"]
    prompt: str = Field(description="path of the Jinja prompt template")
    model: str | None = Field(None, description="provider:model; defaults to $BATON_MODEL or 'local'")
    offline: OfflineSpec | None = None


class PythonStep(StepBase):
    """Call a Python function ``module:function`` with a StepContext."""

    uses: Literal["python"]
    call: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HttpStep(StepBase):
    """Call an HTTP service; the response's JSON body is the output."""

    uses: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HumanStep(StepBase):
    """Wait durably for a person to approve, edit or reject; the output is their decision."""

    uses: Literal["human"]
    assign: Assignment | None = None
    sla: float | None = Field(None, description="seconds (or a duration like 4h) to decide before escalation")
    escalate_to: list[str] = Field(default_factory=list, description="users (with @) or roles, in order")
    approvals: int = Field(1, ge=1, le=3, description="distinct approvers needed (2 = four eyes)")
    expires: float | None = Field(None, description="after this long the task expires and the run fails")
    instructions: str = ""
    show: list[str] = Field(default_factory=list, description="step ids whose outputs the reviewer sees")
    review: str | None = Field(None, description="the step whose output an edit replaces; default: first of show")
    on_reject: Literal["stop", "continue"] = Field(
        "stop", description="stop: the run ends as rejected; continue: later steps run and see the rejection")

    @field_validator("sla", "expires", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @field_validator("escalate_to", mode="before")
    @classmethod
    def _escalation_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def reviewed_step(self) -> str | None:
        """The step whose output the reviewer approves and may edit."""
        return self.review or (self.show[0] if self.show else None)


class ParallelGroup(Spec):
    """Steps that run at the same time; the group's output maps each step id to its output."""

    id: str = Field(pattern=SLUG)
    name: str = ""
    when: str | None = None
    parallel: list[LeafStep] = Field(min_length=2)


def _step_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        if "parallel" in value:
            return "parallel"
        uses = value.get("uses")
        return uses if isinstance(uses, str) else None
    return getattr(value, "uses", "parallel" if isinstance(value, ParallelGroup) else None)


LeafStep = Annotated[
    Annotated[LlmStep, Tag("llm")]
    | Annotated[PythonStep, Tag("python")]
    | Annotated[HttpStep, Tag("http")]
    | Annotated[HumanStep, Tag("human")],
    Discriminator(_step_tag),
]
AnyStep = Annotated[
    Annotated[LlmStep, Tag("llm")]
    | Annotated[PythonStep, Tag("python")]
    | Annotated[HttpStep, Tag("http")]
    | Annotated[HumanStep, Tag("human")]
    | Annotated[ParallelGroup, Tag("parallel")],
    Discriminator(_step_tag),
]
ParallelGroup.model_rebuild()


class Baseline(Spec):
    """What the work costs when people do it by hand."""

    manual_minutes_per_item: float = Field(gt=0)
    hourly_cost_usd: float = Field(gt=0)
    review_minutes_per_item: float = Field(2.0, ge=0, description="a person's time to review one AI output")


class Measure(Spec):
    """What to measure: the manual baseline, the business outcomes, and the business key."""

    baseline: Baseline | None = None
    outcomes: list[str] = Field(default_factory=list)
    business_key: str | None = Field(None, description="CEL expression over input naming the item")


class Traffic(Spec):
    """How much production traffic the workflow takes while it is a pilot."""

    pilot_share: float = Field(1.0, gt=0, le=1, description="share of production items a pilot handles, by key")


class WorkflowSpec(Spec):
    """A versioned workflow: who owns it and the steps it runs."""

    workflow: str = Field(pattern=SLUG)
    version: int = Field(ge=1)
    description: str = ""
    owner: str
    team: str
    stage: Stage = "experiment"
    tags: list[str] = Field(default_factory=list, description="labels organisation policies can select on")
    input: JsonSchema | None = None
    steps: list[AnyStep] = Field(min_length=1)
    guardrails: list[Guardrail] = Field(default_factory=list)
    traffic: Traffic = Field(default_factory=Traffic)
    measure: Measure | None = None
    promote: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_step_ids(self) -> WorkflowSpec:
        seen: set[str] = set()
        for step in self.all_steps():
            if step.id in seen:
                raise ValueError(f"step id '{step.id}' is used twice; step ids must be unique")
            seen.add(step.id)
        return self

    def all_steps(self) -> list[LlmStep | PythonStep | HttpStep | HumanStep | ParallelGroup]:
        """Every step and group, groups before their members, in document order."""
        found: list[LlmStep | PythonStep | HttpStep | HumanStep | ParallelGroup] = []
        for step in self.steps:
            found.append(step)
            if isinstance(step, ParallelGroup):
                found.extend(step.parallel)
        return found


AssetKind = Literal["agent", "assistant", "chatbot", "automation", "model", "content-tool"]


class AssetSpec(Spec):
    """One AI tool, agent, automation or model the business runs."""

    id: str = Field(pattern=SLUG)
    name: str = ""
    kind: AssetKind
    vendor: str = ""
    team: str
    owner: str | None = None
    purpose: str
    capabilities: list[str] = Field(default_factory=list)
    data: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    monthly_cost: float = Field(0, ge=0)
    stage: Stage = "production"
    feeds: list[str] = Field(default_factory=list, description="assets or workflows it hands work to")
    contract: str | None = Field(None, description="schema the handoff it feeds is checked against")
    metrics: list[str] = Field(default_factory=list)
    notes: str = ""


class FootprintSpec(Spec):
    """A footprint document: the assets a business runs today."""

    assets: list[AssetSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_asset_ids(self) -> FootprintSpec:
        seen: set[str] = set()
        for asset in self.assets:
            if asset.id in seen:
                raise ValueError(f"asset id '{asset.id}' is used twice; asset ids must be unique")
            seen.add(asset.id)
        return self
