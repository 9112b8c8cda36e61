"""The sandboxed template renderer: rendering, caching, YAML-safe JSON and errors that say where."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from baton.errors import NotFound, SpecError
from baton.templating import TemplateRenderer, render_file, render_text, tojson


def test_render_text_fills_in_the_context() -> None:
    text = render_text(
        "Hello {{ input.name | upper }}, {{ steps | length }} done",
        {"input": {"name": "ana"}, "steps": {}},
        where="greeting",
    )
    assert text == "Hello ANA, 0 done"


def test_render_file_keeps_the_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "prompt.md"
    path.write_text("Score {{ input.company }}.\n", encoding="utf-8")
    assert render_file(path, {"input": {"company": "Acme"}}) == "Score Acme.\n"


def test_html_is_not_escaped() -> None:
    # Prompts and YAML are not HTML: '<' must reach the model as '<'.
    assert render_text("{{ x }}", {"x": "a < b & 'c'"}, where="t") == "a < b & 'c'"


def test_file_templates_are_compiled_once_until_the_file_changes(tmp_path: Path) -> None:
    renderer = TemplateRenderer()
    path = tmp_path / "t.j2"
    path.write_text("v1 {{ x }}", encoding="utf-8")
    first = renderer.compile_file(path)
    assert renderer.compile_file(path) is first
    assert renderer.render_file(path, {"x": 1}) == "v1 1"

    path.write_text("version two {{ x }}", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a visibly newer mtime
    assert renderer.compile_file(path) is not first
    assert renderer.render_file(path, {"x": 2}) == "version two 2"
    assert renderer.cached_files == 1  # the stale entry was replaced, not kept


def test_tojson_renders_yaml_that_reads_back_as_the_value() -> None:
    context = {"note": 'He said "yes": <ok> & it\'s done\nsecond line', "n": 1e-05, "tags": ["a", "b"]}
    text = render_text(
        "note: {{ note | tojson }}\nn: {{ n | tojson }}\ntags: {{ tags | tojson }}\n", context, where="t"
    )
    assert yaml.safe_load(text) == context


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@given(_json)
def test_tojson_output_is_yaml_for_every_json_value(value: Any) -> None:
    assert yaml.safe_load(f"value: {tojson(value)}\n") == {"value": value}
    assert yaml.safe_load(tojson(value, indent=2)) == value


def test_tojson_refuses_nan() -> None:
    with pytest.raises(SpecError, match="template failed: ValueError"):
        render_text("{{ x | tojson }}", {"x": float("nan")}, where="t")


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml.j2"
    path.write_text("label: ok\nscore: {{ input.score \n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        render_file(path, {"input": {"score": 1}})
    assert caught.value.location.file == path
    assert caught.value.location.line == 2
    assert "syntax error" in caught.value.problem
    assert str(path) in str(caught.value)


def test_undefined_variable_names_the_file_line_and_what_the_template_sees(tmp_path: Path) -> None:
    path = tmp_path / "out.yaml.j2"
    path.write_text("a: 1\nb: 2\nc: {{ input.missing }}\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        render_file(path, {"input": {"present": 1}, "steps": {}})
    assert caught.value.location.file == path
    assert caught.value.location.line == 3
    assert "missing" in caught.value.problem
    assert "input, steps" in caught.value.hint


def test_undefined_name_in_inline_text_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as caught:
        render_text("first\n{{ nope }}", {"input": {}}, where="wf/score: offline.classifier.text")
    assert str(caught.value.location) == "wf/score: offline.classifier.text"
    assert "'nope' is undefined" in caught.value.problem
    assert "line 2 of the template text" in caught.value.problem


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ input.__class__ }}",
        "{{ lipsum.__globals__ }}",
    ],
)
def test_sandbox_refuses_python_internals(source: str) -> None:
    with pytest.raises(SpecError) as caught:
        render_text(source, {"input": {}}, where="evil")
    assert "sandbox" in caught.value.problem
    assert "unsafe" in caught.value.problem


def test_missing_template_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nope\.j2"):
        render_file(tmp_path / "nope.j2", {})
