"""Policy, guardrail and people documents: what loads, and errors that say file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.errors import SpecErrors
from baton.spec.loader import load_directory, load_policy, load_workflow
from baton.spec.policy import BudgetRule, DataRule, RedactRule, ReviewRule
from baton.spec.project import Project
from helpers import write

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"

POLICY = """\
policy: customer-data
version: 2
applies_to: {teams: [sales], stages: [pilot]}
rules:
  - review_when: "output.amount > 100"
    steps: [draft]
    sla: 4h
    escalate_to: head-of-sales
    approvals: 2
  - deny_data: [payment_card]
  - allow_data: [ticket]
    to: http:helpdesk.example
  - redact: {kinds: [email], custom: [{name: employee_id, pattern: "EMP-[0-9]{6}"}]}
  - budget: {monthly_usd: 50, per: team, on_exceed: review}
"""


def _policy_errors(tmp_path: Path, text: str) -> list[str]:
    write(tmp_path, {"policies/p.yaml": text})
    with pytest.raises(SpecErrors) as caught:
        load_policy(tmp_path / "policies/p.yaml")
    return [e.message for e in caught.value.errors]


def test_a_policy_loads_every_rule_kind_with_durations_and_lists_normalised(tmp_path: Path) -> None:
    write(tmp_path, {"policies/p.yaml": POLICY})
    policy = load_policy(tmp_path / "policies/p.yaml")
    review, deny, allow, redact, budget = policy.rules
    assert isinstance(review, ReviewRule) and review.sla == 4 * 3600 and review.escalate_to == ["head-of-sales"]
    assert isinstance(deny, DataRule) and deny.to == ["external"]
    assert isinstance(allow, DataRule) and allow.allow_data == ["ticket"] and allow.to == ["http:helpdesk.example"]
    assert isinstance(redact, RedactRule) and redact.redact.custom[0].name == "employee_id"
    assert isinstance(budget, BudgetRule) and budget.budget.per == "team"
    assert policy.applies_to.covers(workflow="w", team="sales", stage="pilot", tags=[])
    assert not policy.applies_to.covers(workflow="w", team="sales", stage="production", tags=[])


def test_a_bad_review_expression_fails_at_load_with_its_line(tmp_path: Path) -> None:
    errors = _policy_errors(tmp_path, "policy: p\nversion: 1\nrules:\n  - review_when: \"output.a >>> 3\"\n")
    assert len(errors) == 1 and errors[0].startswith(f"{tmp_path / 'policies/p.yaml'}:4: rules[0].review_when:")


def test_a_misspelt_rule_is_named_with_a_suggestion(tmp_path: Path) -> None:
    [error] = _policy_errors(tmp_path, "policy: p\nversion: 1\nrules:\n  - budgt: {monthly_usd: 3}\n")
    assert ":4: rules[0]: a rule needs one of" in error and "did you mean 'budget'?" in error


def test_a_data_rule_needs_one_form_and_known_targets(tmp_path: Path) -> None:
    [both] = _policy_errors(tmp_path, "policy: p\nversion: 1\nrules:\n  - {deny_data: [a], allow_data: [b]}\n")
    assert "either deny_data" in both
    [target] = _policy_errors(tmp_path, "policy: p\nversion: 1\nrules:\n  - {deny_data: [a], to: [moon]}\n")
    assert "unknown data target 'moon'" in target


def test_a_bad_redaction_pattern_fails_at_load(tmp_path: Path) -> None:
    [error] = _policy_errors(tmp_path, "policy: p\nversion: 1\nrules:\n"
                                       "  - redact: {custom: [{name: x, pattern: \"EMP-(\"}]}\n")
    assert "rules[0].redact.custom[0].pattern" in error and "not a valid regular expression" in error


def test_workflow_guardrails_name_unknown_steps(tmp_path: Path) -> None:
    write(tmp_path, {"workflows/w.yaml": "workflow: w\nversion: 1\nowner: o@x.example\nteam: t\nsteps:\n"
                                         "  - {id: a, uses: python, call: m:f}\nguardrails:\n"
                                         "  - {review_when: 'true', steps: [b]}\n"})
    with pytest.raises(SpecErrors) as caught:
        load_workflow(tmp_path / "workflows/w.yaml")
    assert [e.message for e in caught.value.errors] == [
        f"{tmp_path / 'workflows/w.yaml'}:8: guardrails[0].steps: no step 'b' (steps of this workflow: a)"]


def test_people_are_listed_once(tmp_path: Path) -> None:
    write(tmp_path, {"people.yaml": "people:\n  - {user: a@x.example}\n  - {user: a@x.example}\n"})
    with pytest.raises(SpecErrors) as caught:
        load_directory(tmp_path / "people.yaml")
    assert "listed twice" in caught.value.errors[0].message


def test_two_files_defining_one_policy_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {"policies/a.yaml": POLICY, "policies/b.yaml": POLICY})
    with pytest.raises(SpecErrors) as caught:
        Project(tmp_path).policies()
    assert "also defined in" in caught.value.errors[0].message


def test_the_demo_company_has_policies_and_people() -> None:
    project = Project(DEMO)
    assert sorted(policy.policy for policy, _ in project.policies()) == ["customer-data", "pilot-oversight"]
    assert "dana@acme.example" in {person.user for person in project.directory().people}
