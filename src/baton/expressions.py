"""Safe expressions: CEL (Common Expression Language) for ``when:`` conditions and ``${{ }}`` values.

CEL is side-effect free, has no access to Python objects and terminates, so user text can be
evaluated without risk; Python ``eval`` is never used. Expressions compile once and are cached.

Example::

    >>> Expression.compile("input.deal_size > 10000 && steps.score.output.score >= 0.7").evaluate(
    ...     {"input": {"deal_size": 12000}, "steps": {"score": {"output": {"score": 0.8}}}})
    True
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from baton.errors import ExpressionError

_ENVIRONMENT_LOCK = threading.Lock()
_TEMPLATE = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass(frozen=True)
class Expression:
    """One compiled CEL expression."""

    source: str
    _program: Any

    @staticmethod
    def compile(source: str, *, where: str = "") -> Expression:
        """Compile ``source``; raises ExpressionError with ``where`` and the parser's complaint."""
        try:
            return _compile_cached(source)
        except ExpressionError as exc:
            raise ExpressionError(expression=source, problem=exc.problem, where=where) from None

    def evaluate(self, variables: dict[str, Any], *, where: str = "") -> Any:
        """Evaluate against JSON-like ``variables``; the result comes back as plain Python values."""
        try:
            result = self._program.evaluate(to_cel(variables))
        except CELEvalError as exc:
            raise ExpressionError(expression=self.source, problem=_eval_problem(exc), where=where) from None
        if isinstance(result, CELEvalError):
            raise ExpressionError(expression=self.source, problem=_eval_problem(result), where=where)
        return to_python(result)

    def is_true(self, variables: dict[str, Any], *, where: str = "") -> bool:
        """Evaluate a condition; anything but a boolean is an error rather than a silent truthiness."""
        value = self.evaluate(variables, where=where)
        if not isinstance(value, bool):
            raise ExpressionError(
                expression=self.source, problem=f"a condition must be true or false, got {value!r}", where=where
            )
        return value


@lru_cache(maxsize=2048)
def _compile_cached(source: str) -> Expression:
    with _ENVIRONMENT_LOCK:  # the Lark parser inside celpy is not thread-safe
        environment = celpy.Environment()
        try:
            tree = environment.compile(source)
        except CELParseError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else "syntax error"
            raise ExpressionError(expression=source, problem=f"does not parse ({first_line})") from None
        return Expression(source, environment.program(tree))


def _eval_problem(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    missing = re.search(r"no such member in mapping: '([^']+)'", text)
    if missing:
        return f"'{missing.group(1)}' is not there; guard it with has(...) if it is optional"
    return text


def to_cel(value: Any) -> Any:
    """JSON-like Python values as CEL values.

    Every JSON number becomes a CEL double, as CEL's own JSON mapping does, so that
    ``input.deal_size > 10000`` works whether the input said ``12000`` or ``12000.0``.
    """
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, dict):
        return celtypes.MapType({celtypes.StringType(str(k)): to_cel(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return celtypes.ListType([to_cel(v) for v in value])
    if value is None:
        return None
    return value


def to_python(value: Any) -> Any:
    """Turn CEL values into plain JSON-like Python values."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType | float):  # celpy's arithmetic can hand back plain floats
        # JSON numbers travel as CEL doubles; give whole ones back as ints so 12345 stays "12345", not "12345.0".
        number = float(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.MapType):
        return {to_python(k): to_python(v) for k, v in value.items()}
    if isinstance(value, celtypes.ListType):
        return [to_python(v) for v in value]
    if value is None or isinstance(value, celtypes.NullType):
        return None
    return value


def template_expressions(value: Any) -> list[str]:
    """Every ``${{ expr }}`` source inside a JSON-like value, for checking at load time."""
    if isinstance(value, str):
        return _TEMPLATE.findall(value)
    if isinstance(value, dict):
        return [e for v in value.values() for e in template_expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in template_expressions(v)]
    return []


def render_value(value: Any, variables: dict[str, Any], *, where: str = "") -> Any:
    """Evaluate ``${{ expr }}`` inside a JSON-like value.

    A string that is exactly one ``${{ expr }}`` becomes the expression's typed value; expressions
    inside longer strings are interpolated as text.
    """
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value.strip())
        if whole:
            return Expression.compile(whole.group(1), where=where).evaluate(variables, where=where)

        def interpolate(match: re.Match[str]) -> str:
            result = Expression.compile(match.group(1), where=where).evaluate(variables, where=where)
            return "" if result is None else str(result)

        return _TEMPLATE.sub(interpolate, value)
    if isinstance(value, dict):
        return {k: render_value(v, variables, where=where) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, variables, where=where) for v in value]
    return value
