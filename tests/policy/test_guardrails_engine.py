"""Guardrails through the engine, on SQLite and PostgreSQL: review rules, organisation policies, data rules,
redaction on the way to a real (fake) provider, budgets, and a decision replayed by a restarted engine."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from baton.approvals import Approvals, Directory
from baton.engine.runtime import Runtime
from baton.errors import Conflict
from baton.spec.policy import DirectorySpec
from baton.store.tables import Run
from baton.store.tasks import TaskStore, TaskView
from fake_openai import FakeOpenAI
from helpers import write

if TYPE_CHECKING:
    from policy.conftest import Launch, PolicyProject

CARD = "4111 1111 1111 1111"
EMAIL = "dana.reyes@customer.example"
ANSWER_SCHEMA = """
            output:
              type: object
              required: [answer]
              properties: {answer: {type: string}}
"""


def wait_for(predicate: Callable[[], bool], *, timeout: float = 20.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return whether it became true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def run_row(runtime: Runtime, run_id: str) -> Run:
    """The run's row, with the columns a summary leaves out (error_code, policy_ids)."""
    with runtime.store.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        session.expunge(run)
        return run


def tasks_of(runtime: Runtime, run_id: str) -> list[TaskView]:
    return TaskStore(runtime.store.engine).find(status=None, run_id=run_id)


def events_of(runtime: Runtime, run_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in runtime.store.get_run(run_id).events if e["type"] == kind]


def step_of(runtime: Runtime, run_id: str, step_id: str) -> dict[str, Any]:
    return next(s for s in runtime.store.get_run(run_id).steps if s["step"] == step_id)


def prompt_sent(request: dict[str, Any]) -> str:
    """The user message of a chat completions request body."""
    return str(request["messages"][-1]["content"])


# -- review rules ---------------------------------------------------------------------------------

QUOTE_STEPS = """
    def draft(ctx):
        mark("draft")
        return {"amount": ctx.input["amount"]}

    def send(ctx):
        mark("send")
        return {"sent": ctx.steps["draft"]["amount"]}
"""


def quote_workflow(project: PolicyProject, review_when: str = "output.amount > 100") -> None:
    project.steps(QUOTE_STEPS)
    project.workflow("quote", f"""
        guardrails:
          - review_when: "{review_when}"
            steps: [draft]
            reason: Quotes over 100 are reviewed
        steps:
          - {{id: draft, uses: python, call: "STEPS:draft"}}
          - {{id: send, uses: python, call: "STEPS:send"}}
    """)


def test_a_review_rule_parks_the_run_with_a_task_naming_the_rule(runtime: Runtime, project: PolicyProject) -> None:
    quote_workflow(project)

    started = runtime.start_run("quote", {"amount": 150})

    assert started.result is not None
    assert started.result.status == "waiting" and started.result.waiting_on == "draft@review"
    run = runtime.store.run_row(started.run_id)
    assert run.status == "waiting" and run.waiting_on == "draft@review" and run.waiting_assignee == "approver@sales"
    [task] = tasks_of(runtime, started.run_id)
    assert task.status == "open" and task.kind == "review" and task.gate == "draft@review"
    assert task.rule == "quote guardrails[0]"
    assert task.reason == "Quotes over 100 are reviewed"
    assert task.subject["show"] == {"draft": {"amount": 150}} and task.subject["reviewed_step"] == "draft"
    [waiting] = events_of(runtime, started.run_id, "run.waiting")
    assert waiting["step"] == "draft@review" and waiting["data"]["rule"] == "quote guardrails[0]"
    assert project.log() == ["draft"]  # send waits for the reviewer


def test_a_review_rule_that_does_not_hold_lets_the_run_complete(runtime: Runtime, project: PolicyProject) -> None:
    quote_workflow(project)

    started = runtime.start_run("quote", {"amount": 50})

    assert started.result is not None and started.result.status == "completed"
    assert tasks_of(runtime, started.run_id) == []
    assert project.log() == ["draft", "send"]
    assert runtime.store.get_run(started.run_id).output == {"draft": {"amount": 50}, "send": {"sent": 50}}


def test_approving_a_review_completes_the_run(runtime: Runtime, project: PolicyProject) -> None:
    quote_workflow(project)
    run_id = runtime.start_run("quote", {"amount": 150}).run_id

    result = runtime.decide(run_id, "draft@review", "approve", by="x")

    assert result is not None and result.status == "completed"
    assert project.log() == ["draft", "send"]
    [task] = tasks_of(runtime, run_id)
    assert task.status == "decided" and task.outcome == "approve" and task.decided_by == "x"
    review = step_of(runtime, run_id, "draft@review")
    assert review["kind"] == "review" and review["status"] == "completed"
    assert review["output"]["decision"] == "approve" and review["output"]["by"] == "x"
    assert step_of(runtime, run_id, "send")["output"] == {"sent": 150}
    assert runtime.store.run_status(run_id) == "completed"


def test_rejecting_a_review_ends_the_run_rejected(runtime: Runtime, project: PolicyProject) -> None:
    quote_workflow(project)
    run_id = runtime.start_run("quote", {"amount": 150}).run_id

    result = runtime.decide(run_id, "draft@review", "reject", by="x", reason="too generous")

    assert result is not None and result.status == "rejected"
    row = run_row(runtime, run_id)
    assert row.status == "rejected" and row.error_code == "rejected"
    assert row.error is not None and "too generous" in row.error and "draft@review" in row.error
    assert project.log() == ["draft"]
    [task] = tasks_of(runtime, run_id)
    assert task.status == "decided" and task.outcome == "reject"


def test_a_review_rule_that_cannot_be_evaluated_fails_closed(runtime: Runtime, project: PolicyProject) -> None:
    quote_workflow(project, review_when="output.missing.deeper > 1")

    started = runtime.start_run("quote", {"amount": 1})

    assert started.result is not None
    assert started.result.status == "waiting" and started.result.waiting_on == "draft@review"
    [task] = tasks_of(runtime, started.run_id)
    assert task.status == "open" and task.rule == "quote guardrails[0]"
    assert "could not be checked" in task.reason and "missing" in task.reason
    assert project.log() == ["draft"]


# -- organisation policies ------------------------------------------------------------------------

SALES_POLICY = """
    policy: p
    version: 1
    owner: ops@acme.example
    applies_to: {teams: [sales]}
    rules:
      - review_when: "has(output.amount) && output.amount > 100"   # it sees every step's output
        reason: REASON
"""
POLICY_WORKFLOW = """
    steps:
      - {id: draft, uses: python, call: "STEPS:draft"}
      - {id: send, uses: python, call: "STEPS:send"}
"""


def test_an_organisation_policy_applies_to_the_teams_in_its_scope(runtime: Runtime, project: PolicyProject) -> None:
    project.steps(QUOTE_STEPS)
    policy_file = project.policy("p", SALES_POLICY.replace("REASON", "Large sales quotes are reviewed"))
    project.workflow("sales-quote", POLICY_WORKFLOW, team="sales")
    project.workflow("marketing-quote", POLICY_WORKFLOW, team="marketing")

    sales = runtime.start_run("sales-quote", {"amount": 150})
    marketing = runtime.start_run("marketing-quote", {"amount": 150})

    assert sales.result is not None and sales.result.status == "waiting"
    assert sales.result.waiting_on == "draft@review"
    [task] = tasks_of(runtime, sales.run_id)
    assert task.rule == "policy p@1 rules[0]" and task.reason == "Large sales quotes are reviewed"
    assert run_row(runtime, sales.run_id).policy_ids == ["p@1"]
    assert runtime.store.run_governance(sales.run_id)[0] == ["p@1"]
    [created] = events_of(runtime, sales.run_id, "run.created")
    assert created["data"]["policies"] == ["p@1"]

    assert marketing.result is not None and marketing.result.status == "completed"
    assert tasks_of(runtime, marketing.run_id) == []
    assert run_row(runtime, marketing.run_id).policy_ids == []
    assert events_of(runtime, marketing.run_id, "run.created")[0]["data"]["policies"] == []

    # The rules a run applies are frozen: changing version 1 in place is refused, for every workflow.
    policy_file.write_text(policy_file.read_text(encoding="utf-8").replace(
        "Large sales quotes are reviewed", "Every large sales quote is reviewed by an approver"), encoding="utf-8")
    before = {r.id for r in runtime.store.list_runs()}
    with pytest.raises(Conflict, match="bump"):
        runtime.start_run("sales-quote", {"amount": 10})
    with pytest.raises(Conflict):
        runtime.start_run("marketing-quote", {"amount": 10})
    assert {r.id for r in runtime.store.list_runs()} == before

    # The parked run still reviews under the rules it started with, and approving it completes it.
    result = runtime.decide(sales.run_id, "draft@review", "approve", by="x")
    assert result is not None and result.status == "completed"


# -- data rules and redaction on the way to a model provider ---------------------------------------

def ask_workflow(project: PolicyProject, guardrails: str, *, data: str = "", prompt: str = "{{ input.text }}") -> None:
    project.prompt("ask", f"Answer the customer.\n{prompt}\n")
    project.workflow("ask", f"""
        guardrails:
        {guardrails}
        steps:
          - id: ask
            uses: llm
            model: openai:gpt-4o-mini
            prompt: ../prompts/ask.md
            {data}
            {ANSWER_SCHEMA.strip()}
    """)


def assert_denied(runtime: Runtime, run_id: str, step_id: str, *fragments: str) -> None:
    row = run_row(runtime, run_id)
    assert row.status == "failed" and row.error_code == "policy_denied"
    assert row.error is not None
    for fragment in fragments:
        assert fragment in row.error
    [denied] = events_of(runtime, run_id, "policy.denied")
    assert denied["step"] == step_id and "refused by" in denied["data"]["error"]
    step = step_of(runtime, run_id, step_id)
    assert step["status"] == "failed" and step["error_code"] == "policy_denied"
    assert events_of(runtime, run_id, "run.failed")


def test_declared_data_a_rule_denies_never_reaches_the_provider(
    runtime: Runtime, project: PolicyProject, fake: FakeOpenAI
) -> None:
    ask_workflow(project, "  - deny_data: [payment_card]", data="data: [payment_card]")

    started = runtime.start_run("ask", {"text": "Where is my parcel?"})

    assert started.result is not None and started.result.status == "failed"
    assert_denied(runtime, started.run_id, "ask", "payment_card", "provider:openai", "ask guardrails[0]")
    assert fake.requests == []


def test_undeclared_card_number_in_the_prompt_is_refused_without_redaction(
    runtime: Runtime, project: PolicyProject, fake: FakeOpenAI
) -> None:
    ask_workflow(project, "  - deny_data: [payment_card]")

    started = runtime.start_run("ask", {"text": f"Please charge my card {CARD} again."})

    assert started.result is not None and started.result.status == "failed"
    assert_denied(runtime, started.run_id, "ask", "payment_card", "provider:openai")
    assert fake.requests == []


def test_redaction_hides_data_from_the_provider_and_restores_it_in_the_output(
    runtime: Runtime, project: PolicyProject, fake: FakeOpenAI
) -> None:
    def echo(body: dict[str, Any]) -> dict[str, Any]:
        placeholders = re.findall(r"\[EMAIL_\d+\]", prompt_sent(body))
        return {"answer": f"A refund confirmation goes to {placeholders[0] if placeholders else 'nobody'}."}

    fake.reply = echo
    ask_workflow(project, "  - deny_data: [payment_card]\n          - redact: {kinds: [email, card]}")

    started = runtime.start_run("ask", {"text": f"Refund card {CARD} and mail {EMAIL}, thanks."})

    assert started.result is not None and started.result.status == "completed", started.result
    [request] = fake.requests
    sent = prompt_sent(request)
    assert "[CARD_1]" in sent and "[EMAIL_1]" in sent
    assert "4111" not in sent and EMAIL not in sent
    assert request["model"] == "gpt-4o-mini"
    step = step_of(runtime, started.run_id, "ask")
    assert step["status"] == "completed" and step["model"] == "openai:gpt-4o-mini"
    assert step["output"] == {"answer": f"A refund confirmation goes to {EMAIL}."}
    assert runtime.store.get_run(started.run_id).output == {"ask": step["output"]}
    assert step["cost_usd"] > 0
    assert events_of(runtime, started.run_id, "policy.denied") == []


def test_data_a_rule_denies_is_not_sent_to_an_http_tool(
    runtime: Runtime, project: PolicyProject, fake: FakeOpenAI
) -> None:
    project.workflow("notify", f"""
        guardrails:
          - deny_data: [health]
        steps:
          - id: call
            uses: http
            method: POST
            url: "{fake.base_url}/chat/completions"
            json: {{model: gpt-4o-mini, messages: [{{role: user, content: "the patient's diagnosis"}}]}}
            data: [health]
    """)

    started = runtime.start_run("notify", {})

    assert started.result is not None and started.result.status == "failed"
    assert_denied(runtime, started.run_id, "call", "health", "http:127.0.0.1")
    assert fake.requests == []


def test_a_redact_rule_does_not_let_denied_data_reach_an_http_tool(
    runtime: Runtime, project: PolicyProject, fake: FakeOpenAI
) -> None:
    project.workflow("notify", f"""
        guardrails:
          - deny_data: [payment_card]
          - redact: {{kinds: [email, card]}}
        steps:
          - id: call
            uses: http
            method: POST
            url: "{fake.base_url}/chat/completions"
            json: {{model: gpt-4o-mini, messages: [{{role: user, content: "charge {CARD} again"}}]}}
    """)

    started = runtime.start_run("notify", {})

    assert fake.requests == [], "the tool received the card number the rule denies"
    assert started.result is not None and started.result.status == "failed"
    assert_denied(runtime, started.run_id, "call", "payment_card", "http:127.0.0.1")


# -- budgets --------------------------------------------------------------------------------------

def budget_workflow(project: PolicyProject, on_exceed: str) -> None:
    project.prompt("ask", "Answer: {{ input.text }}\n")
    project.workflow("spend", f"""
        guardrails:
          - budget: {{monthly_usd: 0.000001, on_exceed: {on_exceed}}}
        steps:
          - id: ask
            uses: llm
            model: openai:gpt-4o-mini
            prompt: ../prompts/ask.md
            {ANSWER_SCHEMA.strip()}
    """)


def test_a_spent_budget_blocks_the_next_run_before_any_step(
    runtime: Runtime, project: PolicyProject, fake: FakeOpenAI
) -> None:
    budget_workflow(project, "block")

    first = runtime.start_run("spend", {"text": "hello"})

    assert first.result is not None and first.result.status == "completed"
    assert step_of(runtime, first.run_id, "ask")["cost_usd"] > 0.000001
    assert len(fake.requests) == 1

    second = runtime.start_run("spend", {"text": "again"})

    assert second.result is not None and second.result.status == "failed"
    row = run_row(runtime, second.run_id)
    assert row.status == "failed" and row.error_code == "budget_exceeded"
    assert row.error is not None and "spend guardrails[0]" in row.error
    [exceeded] = events_of(runtime, second.run_id, "budget.exceeded")
    assert exceeded["data"]["cap_usd"] == 0.000001 and exceeded["data"]["spent_usd"] > 0.000001
    assert runtime.store.get_run(second.run_id).steps == []
    assert len(fake.requests) == 1


def test_a_spent_budget_with_review_parks_the_run_until_approved(
    runtime: Runtime, project: PolicyProject, fake: FakeOpenAI
) -> None:
    budget_workflow(project, "review")
    assert runtime.start_run("spend", {"text": "hello"}).result is not None
    assert len(fake.requests) == 1

    second = runtime.start_run("spend", {"text": "again"})

    assert second.result is not None
    assert second.result.status == "waiting" and second.result.waiting_on == "ask@budget"
    [task] = tasks_of(runtime, second.run_id)
    assert task.kind == "budget" and task.status == "open" and task.rule == "spend guardrails[0]"
    assert "monthly budget" in task.reason
    assert task.assignee == "owner@sales"
    assert len(fake.requests) == 1

    result = runtime.decide(second.run_id, "ask@budget", "approve", by="x")

    assert result is not None and result.status == "completed", result
    assert len(fake.requests) == 2 and "again" in prompt_sent(fake.requests[1])
    assert step_of(runtime, second.run_id, "ask")["status"] == "completed"
    assert step_of(runtime, second.run_id, "ask@budget")["output"]["decision"] == "approve"


# -- a decision replayed by a restarted engine ----------------------------------------------------

def test_a_decision_recorded_without_resuming_is_continued_once_by_the_next_engine(
    launch: Launch, project: PolicyProject
) -> None:
    project.steps("""
        def before(ctx):
            mark("before")
            return {"n": ctx.input["n"]}

        def after(ctx):
            with (HERE / "side-effect.txt").open("a", encoding="utf-8") as handle:
                handle.write(f"sent {ctx.steps['before']['n']} by {ctx.steps['review']['by']}\\n")
            mark("after")
            return {"sent": True}
    """)
    project.workflow("replayed", """
        steps:
          - {id: before, uses: python, call: "STEPS:before"}
          - {id: review, uses: human, assign: {user: ana@acme.example}}
          - {id: after, uses: python, call: "STEPS:after"}
    """)

    with launch() as first:
        run_id = first.start_run("replayed", {"n": 7}).run_id
        assert first.store.run_status(run_id) == "waiting"
        approvals = Approvals(first.store, Directory(DirectorySpec()), resume=None)
        [task] = approvals.for_run(run_id)
        decided = approvals.approve(task.id, "ana@acme.example", seen=task.content_hash)
        assert decided.final and decided.result is None
        assert first.store.run_status(run_id) == "waiting"  # recorded, not continued
        assert project.log() == ["before"]

    with launch() as second:  # launch() continues decided-but-parked runs in the background
        assert wait_for(lambda: second.store.run_status(run_id) == "completed"), second.store.run_row(run_id)
        [task] = tasks_of(second, run_id)
        assert task.status == "decided" and task.outcome == "approve" and task.decided_by == "ana@acme.example"
        assert len(events_of(second, run_id, "run.waiting")) == 1  # the human step was not asked again
        assert step_of(second, run_id, "review")["output"]["by"] == "ana@acme.example"
        assert second.resume_decided() == 0

    assert (project.root / "side-effect.txt").read_text(encoding="utf-8").splitlines() == ["sent 7 by ana@acme.example"]
    assert project.log() == ["before", "after"]


def test_a_project_price_table_sets_what_a_call_costs_and_so_what_budgets_see(
    launch: Launch, project: PolicyProject, fake: FakeOpenAI
) -> None:
    budget_workflow(project, "block")
    write(project.root, {"prices.yaml": 'prices:\n  "openai:gpt-4o-mini": {input_per_mtok: 1000000, '
                                        "output_per_mtok: 0}\n"})
    with launch() as runtime:
        started = runtime.start_run("spend", {"text": "hello"})
        assert step_of(runtime, started.run_id, "ask")["cost_usd"] == pytest.approx(fake.prompt_tokens * 1.0)
