"""Turn YAML files into validated spec models, with errors that say file, line, field and what to do.

``$ref`` to files (``{$ref: ../schemas/lead.json}``) is resolved relative to the document that holds
it, so a loaded workflow is self-contained: what is stored and run is exactly what was validated.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from baton.errors import ExpressionError, Location, SpecError, SpecErrors
from baton.expressions import Expression, template_expressions
from baton.spec.gates import parse_criterion
from baton.spec.models import (
    STAGES,
    STEP_KINDS,
    FootprintSpec,
    HttpStep,
    HumanStep,
    LlmStep,
    ParallelGroup,
    PythonStep,
    WorkflowSpec,
)
from baton.spec.policy import (
    RULE_KINDS,
    BudgetRule,
    DataRule,
    DirectorySpec,
    PolicySpec,
    RedactRule,
    ReviewRule,
)
from baton.spec.yaml_source import SourceMap, join_path, load_yaml

ModelT = TypeVar("ModelT", bound=BaseModel)
_UNION_TAGS = (*STEP_KINDS, "parallel", "review", "data", "redact", "budget")
_MAX_REF_DEPTH = 20


@dataclass(frozen=True)
class LoadedWorkflow:
    """A validated workflow with where it came from and a digest of its resolved content."""

    spec: WorkflowSpec
    path: Path
    document: dict[str, Any]
    digest: str

    @property
    def base_dir(self) -> Path:
        """Directory relative to which the workflow's paths resolve."""
        return self.path.parent


def load_workflow(path: Path) -> LoadedWorkflow:
    """Load, resolve and validate one workflow file.

    Raises:
        SpecErrors: every problem found, each with file, line, field path and a hint.
    """
    raw, source = load_yaml(path)
    if not isinstance(raw, dict) or "workflow" not in raw:
        raise SpecErrors([SpecError(source.locate(""), "not a workflow document", "it needs a 'workflow:' key")])
    document = resolve_refs(raw, path, source)
    spec = validate_model(WorkflowSpec, document, source)
    check_workflow(spec, path, source)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()
    return LoadedWorkflow(spec=spec, path=path, document=document, digest=digest)


def load_footprint(path: Path) -> FootprintSpec:
    """Load and validate a footprint document (``assets:``)."""
    raw, source = load_yaml(path)
    if not isinstance(raw, dict) or "assets" not in raw:
        raise SpecErrors([SpecError(source.locate(""), "not a footprint document", "it needs an 'assets:' list")])
    return validate_model(FootprintSpec, raw, source)


def load_policy(path: Path) -> PolicySpec:
    """Load and validate an organisation policy (``policies/*.yaml``); expressions are compiled here."""
    raw, source = load_yaml(path)
    if not isinstance(raw, dict) or "policy" not in raw:
        raise SpecErrors([SpecError(source.locate(""), "not a policy document", "it needs a 'policy:' key")])
    spec = validate_model(PolicySpec, raw, source)
    errors = [error for index, rule in enumerate(spec.rules) for error in _check_rule(rule, f"rules[{index}]", source)]
    if errors:
        raise SpecErrors(errors)
    return spec


def load_directory(path: Path) -> DirectorySpec:
    """Load ``people.yaml``: who is in which team with which roles."""
    raw, source = load_yaml(path)
    if not isinstance(raw, dict) or "people" not in raw:
        raise SpecErrors([SpecError(source.locate(""), "not a people document", "it needs a 'people:' list")])
    return validate_model(DirectorySpec, raw, source)


def resolve_refs(value: Any, path: Path, source: SourceMap, field: str = "", depth: int = 0) -> Any:
    """Replace every ``{$ref: file}`` (JSON or YAML, optional ``#/json/pointer``) by the file's content."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return _load_ref(ref, path, source, join_path(field, "$ref"), depth)
        return {k: resolve_refs(v, path, source, join_path(field, str(k)), depth) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, path, source, join_path(field, i), depth) for i, v in enumerate(value)]
    return value


def _load_ref(ref: str, path: Path, source: SourceMap, field: str, depth: int) -> Any:
    where = source.locate(field)
    if depth >= _MAX_REF_DEPTH:
        raise SpecErrors([SpecError(where, f"$ref '{ref}' nests too deep", "look for a cycle between files")])
    file_part, _, pointer = ref.partition("#")
    target = (path.parent / file_part).resolve()
    if not target.is_file():
        raise SpecErrors([SpecError(where, f"$ref '{ref}' points to a missing file ({target})",
                                    "paths are relative to the file that holds the $ref")])
    if target.suffix == ".json":
        try:
            loaded: Any = json.loads(target.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SpecErrors([SpecError(Location(target, exc.lineno), f"malformed JSON: {exc.msg}")]) from exc
        target_source = SourceMap(target)
    else:
        loaded, target_source = load_yaml(target)
    for part in [p for p in pointer.split("/") if p]:
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(loaded, dict) or key not in loaded:
            raise SpecErrors([SpecError(where, f"$ref '{ref}': '{key}' not found in {target.name}")])
        loaded = loaded[key]
    return resolve_refs(loaded, target, target_source, "", depth + 1)


def validate_model(model: type[ModelT], document: Any, source: SourceMap) -> ModelT:
    """Validate ``document`` as ``model``; translate Pydantic's errors into located SpecErrors."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise SpecErrors([_spec_error(error, source, model) for error in exc.errors()]) from None


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    previous: int | str | None = None
    for part in loc:
        # Pydantic puts the union tag after a list index (steps[2].llm.prompt): it is not a field.
        if isinstance(previous, int) and isinstance(part, str) and part in _UNION_TAGS:
            previous = part
            continue
        if isinstance(part, str) and part.startswith("function-after["):
            continue
        path = join_path(path, part)
        previous = part
    return path


def _spec_error(error: ErrorDetails, source: SourceMap, model: type[BaseModel]) -> SpecError:
    path = _field_path(error["loc"])
    location = source.locate(path)
    kind = error["type"]
    if kind == "union_tag_invalid":
        given = str(error.get("ctx", {}).get("tag", ""))
        guess = difflib.get_close_matches(given, STEP_KINDS, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else f"use one of: {', '.join(STEP_KINDS)}"
        return SpecError(source.locate(join_path(path, "uses")), f"unknown step kind '{given}'", hint)
    if kind == "union_tag_not_found" and path.split("[")[0] in ("guardrails", "rules"):
        given = error.get("input")
        keys = [str(k) for k in given] if isinstance(given, dict) else []
        guesses = [g for key in keys for g in difflib.get_close_matches(key, RULE_KINDS, n=1)]
        hint = f"did you mean '{guesses[0]}'?" if guesses else ""
        return SpecError(location, "a rule needs one of: " + ", ".join(RULE_KINDS), hint)
    if kind == "union_tag_not_found":
        return SpecError(location, "a step needs 'uses:' (one of " + ", ".join(STEP_KINDS) + ") or 'parallel:'")
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        known = _known_fields(model, error["loc"])
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else "remove it or check the spelling"
        return SpecError(location, f"unknown field '{name}'", hint)
    if kind == "missing":
        return SpecError(location, "is required but missing")
    message = error["msg"].removeprefix("Value error, ")
    return SpecError(location, message)


def _known_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names (and aliases) of the model that the erroneous key sits in."""
    kinds: dict[str, type[BaseModel]] = {
        "llm": LlmStep, "python": PythonStep, "http": HttpStep, "human": HumanStep, "parallel": ParallelGroup,
        "review": ReviewRule, "data": DataRule, "redact": RedactRule, "budget": BudgetRule,
    }
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None:
            break
        if isinstance(part, str) and part in kinds:
            current = kinds[part]
            continue
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        annotation = field.annotation if field else None
        current = _inner_model(annotation)
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def check_workflow(spec: WorkflowSpec, path: Path, source: SourceMap) -> None:
    """Checks Pydantic cannot make: expressions compile, schemas are schemas, files exist."""
    errors: list[SpecError] = []
    step_ids = {step.id for step in spec.all_steps()}
    if spec.input is not None:
        errors.extend(_check_schema(spec.input, source.locate("input")))
    for index, step in enumerate(spec.steps):
        errors.extend(_check_step(step, f"steps[{index}]", path, source))
        if isinstance(step, HumanStep) and step.reviewed_step and step.reviewed_step not in step_ids:
            errors.append(SpecError(source.locate(f"steps[{index}].review"),
                                    f"no step '{step.reviewed_step}' to review",
                                    "review: and show: name earlier steps"))
        if isinstance(step, ParallelGroup):
            for inner_index, inner in enumerate(step.parallel):
                field = f"steps[{index}].parallel[{inner_index}]"
                errors.extend(_check_step(inner, field, path, source))
                if isinstance(inner, HumanStep):
                    errors.append(SpecError(source.locate(join_path(field, "uses")),
                                            "a human step cannot run inside a parallel group",
                                            "put it before or after the group"))
    for index, rule in enumerate(spec.guardrails):
        errors.extend(_check_rule(rule, f"guardrails[{index}]", source))
    for index, rule in enumerate(spec.guardrails):
        if isinstance(rule, ReviewRule):
            for unknown in sorted(set(rule.steps) - step_ids):
                errors.append(SpecError(source.locate(f"guardrails[{index}].steps"), f"no step '{unknown}'",
                                        f"steps of this workflow: {', '.join(sorted(step_ids))}"))
    for stage, gates in spec.promote.items():
        if stage not in STAGES:
            errors.append(SpecError(source.locate(f"promote.{stage}"), f"unknown stage '{stage}'",
                                    f"promote to one of: {', '.join(STAGES)}"))
        for metric, value in gates.items():
            try:
                parse_criterion(metric, value)
            except ValueError as exc:
                errors.append(SpecError(source.locate(f"promote.{stage}.{metric}"), str(exc)))
    if errors:
        raise SpecErrors(errors)


def _check_step(step: Any, field: str, path: Path, source: SourceMap) -> list[SpecError]:
    errors: list[SpecError] = []
    if step.when:
        errors.extend(_check_expression(step.when, source.locate(join_path(field, "when"))))
    if isinstance(step, ParallelGroup):
        return errors
    if step.output is not None:
        errors.extend(_check_schema(step.output, source.locate(join_path(field, "output"))))
    for name in ("with_", "url", "headers", "json_body"):
        for expression in template_expressions(getattr(step, name, None)):
            errors.extend(_check_expression(expression, source.locate(join_path(field, name.rstrip("_")))))
    if isinstance(step, LlmStep):
        files = [("prompt", step.prompt)]
        if step.offline:
            files.append(("offline.template", step.offline.template))
            if step.offline.classifier:
                files.append(("offline.classifier.train", step.offline.classifier.train))
        for name, relative in files:
            if not (path.parent / relative).is_file():
                errors.append(SpecError(source.locate(join_path(field, name)), f"file '{relative}' not found",
                                        f"paths are relative to {path.name}'s folder"))
    return errors


def _check_rule(rule: object, field: str, source: SourceMap) -> list[SpecError]:
    """Compile what a rule holds now, so a bad expression or pattern fails at load with its line."""
    if isinstance(rule, ReviewRule):
        return _check_expression(rule.review_when, source.locate(join_path(field, "review_when")))
    if isinstance(rule, RedactRule):
        errors = []
        for index, custom in enumerate(rule.redact.custom):
            try:
                re.compile(custom.pattern)
            except re.error as exc:
                errors.append(SpecError(source.locate(f"{field}.redact.custom[{index}].pattern"),
                                        f"pattern {custom.pattern!r} is not a valid regular expression: {exc}"))
        return errors
    return []


def _check_expression(expression: str, where: Location) -> list[SpecError]:
    try:
        Expression.compile(expression)
    except ExpressionError as exc:
        return [SpecError(where, f"expression {expression!r} {exc.problem}", "CEL syntax: && || ! == >= has()")]
    return []


def _check_schema(schema: Any, where: Location) -> list[SpecError]:
    problem = _schema_problem(json.dumps(schema, sort_keys=True, default=str))
    return [SpecError(where, f"not a valid JSON Schema: {problem}")] if problem else []


@functools.lru_cache(maxsize=512)
def _schema_problem(schema_json: str) -> str | None:
    """Why a schema breaks the JSON Schema meta-schema, or None; cached, as every load checks the same ones."""
    try:
        jsonschema.Draft202012Validator.check_schema(json.loads(schema_json))
    except jsonschema.SchemaError as exc:
        return exc.message
    return None
