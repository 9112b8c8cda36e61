"""Sandboxed Jinja templates: prompts, offline outputs and inline texts in workflow specs.

Every template Baton renders goes through one :class:`TemplateRenderer`, whose environment is a
:class:`jinja2.sandbox.SandboxedEnvironment` with :class:`jinja2.StrictUndefined` (a misspelt variable
is an error, never an empty string), no HTML autoescaping (templates render prompts and YAML, not
HTML) and trailing newlines kept. Nothing is ever passed to Python ``eval``.

Errors in a template (bad syntax, an undefined variable, an attribute the sandbox refuses, a filter
that fails) raise :class:`baton.errors.SpecError` pointing at the template's file and line.

Example::

    from baton.templating import render_text

    render_text("Hello {{ input.name }}", {"input": {"name": "Ana"}}, where="greeting")
    # -> 'Hello Ana'
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from baton.errors import Location, NotFound, SpecError

__all__ = ["TemplateRenderer", "make_environment", "render_file", "render_text", "tojson"]

# Characters that JSON leaves unescaped but YAML refuses or reads as line breaks (DEL, C1 controls with
# NEL, the Unicode line and paragraph separators, surrogates, U+FFFE/U+FFFF). Escaping them keeps
# `tojson` output loadable as YAML.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")

_INLINE_CACHE_SIZE = 512


def tojson(value: Any, indent: int | None = None) -> str:
    """Serialise ``value`` as JSON that is also valid YAML, for templates that render YAML.

    Jinja's built-in ``tojson`` escapes ``<``, ``>``, ``&`` and ``'`` for HTML, which is unreadable in
    YAML; and Python's JSON writes floats such as ``1e-05`` that PyYAML (YAML 1.1) reads back as
    strings. This filter writes ``1.0e-05`` instead, keeps non-ASCII text as is (astral characters
    survive a YAML round trip, which surrogate escapes would not) and escapes the few characters YAML
    refuses, so ``yaml.safe_load(tojson(x)) == x`` for any JSON value ``x``.

    Args:
        value: ``None``, a bool, int, float, str, or a list, tuple or mapping (with string keys) of them.
        indent: spaces per nesting level; ``None`` renders everything on one line.

    Returns:
        The JSON text, e.g. ``"it's \\"done\\""`` for the string ``it's "done"``.

    Raises:
        TypeError: ``value`` holds something JSON cannot represent, or a mapping key that is no string.
        ValueError: ``value`` holds NaN or an infinity.

    Example::

        reason: {{ input.note | tojson }}
        tags: {{ ["a", "b"] | tojson }}
    """
    return _encode(value, indent, 0)


def _encode(value: Any, indent: int | None, depth: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)  # not repr(): an IntEnum member would print its name
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be written as JSON")
        text = float.__repr__(value)
        mantissa, e, exponent = text.partition("e")
        # YAML 1.1 floats need a dot: PyYAML reads "1e-05" as a string but "1.0e-05" as a float.
        return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if isinstance(value, Mapping):
        pairs = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"mapping keys must be strings to be written as JSON, not {key!r}")
            pairs.append(f"{_encode(key, indent, depth + 1)}: {_encode(item, indent, depth + 1)}")
        return _join("{", pairs, "}", indent, depth)
    if isinstance(value, list | tuple):
        return _join("[", [_encode(item, indent, depth + 1) for item in value], "]", indent, depth)
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")


def _join(opening: str, parts: list[str], closing: str, indent: int | None, depth: int) -> str:
    if not parts:
        return opening + closing
    if indent is None:
        return opening + ", ".join(parts) + closing
    inner = "\n" + " " * (indent * (depth + 1))
    return opening + inner + ("," + inner).join(parts) + "\n" + " " * (indent * depth) + closing


def make_environment() -> SandboxedEnvironment:
    """A new sandboxed Jinja environment configured the way every Baton template expects.

    Returns:
        A :class:`~jinja2.sandbox.SandboxedEnvironment` with ``StrictUndefined``, no autoescaping,
        trailing newlines kept and the YAML-safe :func:`tojson` filter.
    """
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["tojson"] = tojson
    return env


class TemplateRenderer:
    """Compiles and renders templates in one sandboxed environment, caching what it compiled.

    File templates are cached by path, modification time (ns) and size, so an edited template is
    picked up on the next render without a restart. Inline templates are cached by their text, up to
    a bounded number. Safe to share between threads.

    Example::

        renderer = TemplateRenderer()
        prompt = renderer.render_file(Path("prompts/lead-score.md"), {"input": lead, "steps": {}})
    """

    def __init__(self, environment: SandboxedEnvironment | None = None) -> None:
        """Create a renderer.

        Args:
            environment: the environment to compile in; :func:`make_environment` when omitted.
        """
        self.environment = environment or make_environment()
        self._lock = threading.Lock()
        # path -> ((mtime_ns, size), template): one entry per file, so edits replace, not accumulate.
        self._files: dict[Path, tuple[tuple[int, int], Template]] = {}
        self._inline: OrderedDict[tuple[str, str], Template] = OrderedDict()

    @property
    def cached_files(self) -> int:
        """How many file templates are compiled and cached."""
        with self._lock:
            return len(self._files)

    def compile_file(self, path: Path) -> Template:
        """The compiled template in ``path``, from the cache while the file is unchanged.

        Args:
            path: the template file.

        Returns:
            The compiled template.

        Raises:
            NotFound: there is no such file.
            SpecError: the file is not UTF-8 text or its Jinja syntax is wrong (with the line).
        """
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise NotFound(
                "template", str(path), "paths of templates are relative to the workflow file"
            ) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        # Keyed by the resolved path: the same relative name may mean another file after a chdir.
        key = path.resolve()
        with self._lock:
            cached = self._files.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SpecError(Location(path), f"template is not UTF-8 text ({exc.reason})") from None
        template = self._compile(source, filename=str(path), location_file=path)
        with self._lock:
            self._files[key] = (stamp, template)
        return template

    def render_file(self, path: Path, context: Mapping[str, Any]) -> str:
        """Render the template in ``path`` with ``context``.

        Args:
            path: the template file.
            context: the variables the template sees, e.g. ``{"input": ..., "steps": ...}``.

        Returns:
            The rendered text.

        Raises:
            NotFound: there is no such file.
            SpecError: the template is invalid or fails while rendering; the location names the file
                and line.
        """
        template = self.compile_file(path)
        return self._render(template, context, filename=str(path), location_file=path, inline_lines=0)

    def render_text(self, template_source: str, context: Mapping[str, Any], *, where: str) -> str:
        """Render an inline template, such as a text field of a workflow spec.

        Args:
            template_source: the Jinja source.
            context: the variables the template sees.
            where: what the template is, for error messages (e.g. ``"lead-qualification/score:
                offline.classifier.text"``).

        Returns:
            The rendered text.

        Raises:
            SpecError: the template is invalid or fails while rendering; the location is ``where`` and
                the problem names the line within the template text when it has several lines.
        """
        key = (where, template_source)
        lines = template_source.count("\n") + 1
        with self._lock:
            template = self._inline.get(key)
            if template is not None:
                self._inline.move_to_end(key)
        if template is None:
            template = self._compile(template_source, filename=where, location_file=where, inline_lines=lines)
            with self._lock:
                self._inline[key] = template
                if len(self._inline) > _INLINE_CACHE_SIZE:
                    self._inline.popitem(last=False)
        return self._render(template, context, filename=where, location_file=where, inline_lines=lines)

    def _compile(
        self, source: str, *, filename: str, location_file: Path | str, inline_lines: int = 0
    ) -> Template:
        try:
            # compile + from_code (what Environment.from_string does) so that the template carries its
            # filename: rendering errors then map back to a line of this template in the traceback.
            code = self.environment.compile(source, name=Path(filename).name, filename=filename)
        except TemplateSyntaxError as exc:
            raise _error(
                location_file,
                exc.lineno,
                f"template syntax error: {exc.message}",
                "fix the Jinja syntax; see https://jinja.palletsprojects.com/templates/",
                inline_lines=inline_lines,
            ) from None
        return self.environment.template_class.from_code(
            self.environment, code, self.environment.make_globals(None), None
        )

    def _render(
        self,
        template: Template,
        context: Mapping[str, Any],
        *,
        filename: str,
        location_file: Path | str,
        inline_lines: int,
    ) -> str:
        try:
            return template.render(context)
        except Exception as exc:
            # Anything raised while rendering (an undefined name, the sandbox refusing an attribute, a
            # failing filter, 1/0) is the template's fault given the data it saw: say where it happened.
            problem, hint = _describe(exc, context)
            line = _template_line(exc.__traceback__, filename)
            raise _error(location_file, line, problem, hint, inline_lines=inline_lines) from exc


def _describe(exc: Exception, context: Mapping[str, Any]) -> tuple[str, str]:
    """What went wrong while rendering, and what to do about it."""
    if isinstance(exc, SecurityError):
        return f"refused by the template sandbox: {exc}", "templates may not reach Python internals"
    if isinstance(exc, UndefinedError):
        names = ", ".join(sorted(context)) or "nothing"
        return (
            f"undefined variable: {exc.message or exc}",
            f"the template sees: {names}; check the spelling, or guard with `is defined`",
        )
    if isinstance(exc, TemplateSyntaxError):
        return f"template syntax error: {exc.message}", "fix the Jinja syntax"
    return f"template failed: {type(exc).__name__}: {exc}", "check the template against the data it receives"


def _template_line(tb: TracebackType | None, filename: str) -> int:
    """The line of the innermost frame of the template ``filename`` in ``tb`` (0 if none).

    Jinja rewrites tracebacks of rendering errors so that template code appears as frames whose file is
    the template's filename and whose line is the template's line; this reads that mapping back.
    """
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _error(
    location_file: Path | str, line: int | None, problem: str, hint: str, *, inline_lines: int
) -> SpecError:
    """The SpecError for a template problem; ``inline_lines`` is 0 for a file template."""
    if inline_lines:
        # An inline template's line is a line of its own text, not of the file that holds it.
        if line and inline_lines > 1:
            problem = f"{problem} (line {line} of the template text)"
        return SpecError(Location(location_file), problem, hint)
    return SpecError(Location(location_file, line or 0), problem, hint)


_default_renderer = TemplateRenderer()


def render_text(template_source: str, context: Mapping[str, Any], *, where: str) -> str:
    """Render an inline template with the process's shared :class:`TemplateRenderer`.

    Args:
        template_source: the Jinja source.
        context: the variables the template sees.
        where: what the template is, for error messages.

    Returns:
        The rendered text.

    Raises:
        SpecError: the template is invalid or fails while rendering.

    Example::

        render_text("{{ input.name | upper }}", {"input": {"name": "ana"}}, where="demo")  # 'ANA'
    """
    return _default_renderer.render_text(template_source, context, where=where)


def render_file(path: Path, context: Mapping[str, Any]) -> str:
    """Render the template in ``path`` with the process's shared :class:`TemplateRenderer`.

    Args:
        path: the template file.
        context: the variables the template sees.

    Returns:
        The rendered text.

    Raises:
        NotFound: there is no such file.
        SpecError: the template is invalid or fails while rendering; the location names file and line.
    """
    return _default_renderer.render_file(path, context)
