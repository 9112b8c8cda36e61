"""Handoff contracts: JSON Schema checks on the data that crosses from one step (or team) to the next."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema

from baton.errors import ContractViolation


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check_contract(schema: dict[str, Any] | None, value: Any, *, where: str) -> None:
    """Raise ContractViolation naming the field, the problem and the value when ``value`` breaks ``schema``.

    The most specific error is reported (jsonschema's ``best_match``), so a user sees
    ``score: 1.4 is greater than the maximum of 1`` rather than a list of everything that failed.
    """
    if schema is None:
        return
    validator = _validator(json.dumps(schema, sort_keys=True))
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return
    field = ".".join(str(part) for part in error.absolute_path)
    raise ContractViolation(where=where, field=field, problem=error.message, value=error.instance)
