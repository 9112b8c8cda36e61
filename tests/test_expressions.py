from __future__ import annotations

import pytest

from baton.errors import ExpressionError
from baton.expressions import Expression, render_value

VARS = {"input": {"deal_size": 12000, "name": "Acme"}, "steps": {"score": {"output": {"score": 0.8}}}}


def test_condition_mixes_ints_and_doubles() -> None:
    assert Expression.compile("steps.score.output.score >= 0.7 && input.deal_size > 10000").is_true(VARS)
    assert not Expression.compile("input.deal_size > 20000.5").is_true(VARS)


def test_missing_field_is_a_clear_error_and_has_guards_it() -> None:
    with pytest.raises(ExpressionError, match="'region' is not there; guard it with has"):
        Expression.compile("input.region == 'EU'").evaluate(VARS)
    assert Expression.compile("has(input.region) && input.region == 'EU'").is_true(VARS) is False


def test_non_boolean_condition_is_refused() -> None:
    with pytest.raises(ExpressionError, match="must be true or false"):
        Expression.compile("input.deal_size").is_true(VARS)


def test_python_is_not_reachable() -> None:
    for source in ["__import__('os')", "input.__class__", "open('/etc/passwd')"]:
        with pytest.raises(ExpressionError):
            Expression.compile(source).evaluate(VARS)


def test_render_value_keeps_types_and_interpolates_text() -> None:
    rendered = render_value({"size": "${{ input.deal_size * 2 }}", "text": "Hi ${{ input.name }}!", "n": 3}, VARS)
    assert rendered == {"size": 24000, "text": "Hi Acme!", "n": 3}
    assert isinstance(rendered["size"], int)  # whole JSON numbers come back as ints, not 24000.0
    assert render_value("${{ input.deal_size / 8.0 }}", VARS) == 1500 and render_value("${{ 0.5 * 3.0 }}", VARS) == 1.5
