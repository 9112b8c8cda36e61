from __future__ import annotations

from pathlib import Path

import pytest

from baton.errors import SpecErrors
from baton.spec.gates import parse_criterion
from baton.spec.loader import load_workflow
from helpers import write


def test_criteria_parse_and_hold() -> None:
    assert parse_criterion("approval_rate", ">= 0.95").holds(0.95)
    assert not parse_criterion("error_rate", "<= 0.01").holds(0.02)
    assert str(parse_criterion("min_runs", 200)) == "min_runs >= 200"


@pytest.mark.parametrize(("metric", "value", "message"), [
    ("approval_rate", 0.95, "write a comparison and a number"),
    ("approval_rate", ">= lots", "write a comparison and a number"),
    ("min_runs", "200", "whole number"),
    ("aproval_rate", ">= 0.9", "unknown gate metric"),
])
def test_bad_criteria_say_how_to_write_them(metric: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_criterion(metric, value)


def test_a_bad_gate_fails_at_load_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"w.yaml": """
        workflow: w
        version: 1
        owner: o@x.example
        team: t
        steps:
          - {id: a, uses: python, call: "m:f"}
        promote:
          production: {min_runs: 10, error_rate: 0.01}
          prod: {min_runs: 1}
    """})
    with pytest.raises(SpecErrors) as caught:
        load_workflow(tmp_path / "w.yaml")
    messages = [e.message for e in caught.value.errors]
    assert any("w.yaml:8: promote.production.error_rate: error_rate: write a comparison" in m for m in messages)
    assert any("w.yaml:9: promote.prod: unknown stage 'prod'" in m for m in messages)
