"""``baton init``'s scaffold: the files it writes, the package name it derives, what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from baton.errors import Conflict
from baton.scaffold import scaffold_project

EXPECTED = {
    "baton.yaml",
    "people.yaml",
    "workflows/hello.yaml",
    "schemas/customer.json",
    "schemas/greeting.json",
    "prompts/greeting.md",
    "templates/greeting.yaml.j2",
    "footprint.yaml",
    "samples/hello.json",
}


def _relative(root: Path, paths: list[Path]) -> set[str]:
    return {path.relative_to(root).as_posix() for path in paths}


def test_writes_every_file_and_returns_them(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    written = scaffold_project(root)
    relative = _relative(root, written)
    assert relative == EXPECTED | {"shop_steps/__init__.py", "shop_steps/steps.py"}
    on_disk = {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}
    assert on_disk == relative
    assert yaml.safe_load((root / "baton.yaml").read_text(encoding="utf-8")) == {"project": "shop"}
    # the JSON documents are real JSON (the template's doubled braces were rendered)
    sample = json.loads((root / "samples/hello.json").read_text(encoding="utf-8"))
    assert sample == {"customer_id": "C-1", "name": "Ada", "email": "ada@example.com", "seats": 12}
    schema = json.loads((root / "schemas/customer.json").read_text(encoding="utf-8"))
    assert schema["required"] == ["customer_id", "name", "email", "seats"]
    json.loads((root / "schemas/greeting.json").read_text(encoding="utf-8"))
    workflow = yaml.safe_load((root / "workflows/hello.yaml").read_text(encoding="utf-8"))
    assert workflow["workflow"] == "hello"
    assert [step["id"] for step in workflow["steps"]] == ["draft", "review", "send"]
    assert workflow["input"] == {"$ref": "../schemas/customer.json"}
    assert "{{ input.name }}" in (root / "prompts/greeting.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("folder", "project", "package"),
    [
        ("My Shop", "my-shop", "my_shop_steps"),
        ("acme-corp", "acme-corp", "acme_corp_steps"),
        ("Café  2.0!", "caf-2-0", "caf_2_0_steps"),
        ("---", "project", "project_steps"),
    ],
)
def test_package_name_derives_from_the_folder(tmp_path: Path, folder: str, project: str, package: str) -> None:
    root = tmp_path / folder
    scaffold_project(root)
    assert (root / package / "__init__.py").is_file()
    assert (root / package / "steps.py").is_file()
    assert package.isidentifier()
    workflow = yaml.safe_load((root / "workflows/hello.yaml").read_text(encoding="utf-8"))
    send = next(step for step in workflow["steps"] if step["id"] == "send")
    assert send["call"] == f"{package}.steps:send_greeting"
    assert yaml.safe_load((root / "baton.yaml").read_text(encoding="utf-8"))["project"] == project


def test_steps_module_is_valid_python(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    scaffold_project(root)
    source = (root / "shop_steps/steps.py").read_text(encoding="utf-8")
    compile(source, "steps.py", "exec")
    assert "def send_greeting(ctx: StepContext)" in source


def test_an_existing_empty_folder_is_fine(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    assert _relative(root, scaffold_project(root)) >= EXPECTED


def test_refuses_a_non_empty_folder_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "busy"
    root.mkdir()
    (root / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(Conflict, match="not empty") as caught:
        scaffold_project(root)
    assert caught.value.exit_code == 6
    assert [path.name for path in root.iterdir()] == ["notes.txt"]


def test_refuses_a_folder_holding_only_a_hidden_file(tmp_path: Path) -> None:
    root = tmp_path / "hidden"
    root.mkdir()
    (root / ".git").mkdir()
    with pytest.raises(Conflict):
        scaffold_project(root)


def test_package_name_is_an_identifier_when_the_folder_starts_with_a_digit(tmp_path: Path) -> None:
    root = tmp_path / "2024 shop"
    scaffold_project(root)
    packages = [path.parent.name for path in root.glob("*/steps.py")]
    assert len(packages) == 1
    assert packages[0].isidentifier()
    workflow = yaml.safe_load((root / "workflows/hello.yaml").read_text(encoding="utf-8"))
    assert workflow["steps"][2]["call"] == f"{packages[0]}.steps:send_greeting"
