"""A Baton project folder: ``workflows/*.yaml``, ``footprint.yaml``, schemas, prompts and Python code."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from baton.errors import BatonError, Location, NotFound, SpecError, SpecErrors
from baton.spec.loader import LoadedWorkflow, load_directory, load_footprint, load_policy, load_workflow
from baton.spec.models import FootprintSpec
from baton.spec.policy import DirectorySpec, PolicySpec

T = TypeVar("T")


@dataclass
class ProjectReport:
    """Everything found in a project folder, and every problem with it."""

    workflows: dict[str, LoadedWorkflow] = field(default_factory=dict)
    footprint: FootprintSpec | None = None
    policies: dict[str, PolicySpec] = field(default_factory=dict)
    directory: DirectorySpec | None = None
    errors: list[SpecError] = field(default_factory=list)
    files_checked: int = 0


@dataclass(frozen=True)
class Project:
    """A project folder.

    Example::

        project = Project(Path("examples/demo"))
        workflow = project.workflow("lead-qualification")
    """

    root: Path

    def workflow_files(self) -> list[Path]:
        """Workflow documents, sorted by path."""
        folder = self.root / "workflows"
        return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []

    def policy_files(self) -> list[Path]:
        """Organisation policy documents, sorted by path."""
        folder = self.root / "policies"
        return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []

    def policies(self) -> list[tuple[PolicySpec, Path]]:
        """Every organisation policy with its file.

        Raises:
            SpecErrors: a policy is invalid, or two files define the same policy.
        """
        found: dict[str, Path] = {}
        loaded = []
        for path in self.policy_files():
            policy = load_policy(path)
            if policy.policy in found:
                raise SpecErrors([SpecError(Location(path, 1, "policy"),
                                            f"policy '{policy.policy}' is also defined in {found[policy.policy]}")])
            found[policy.policy] = path
            loaded.append((policy, path))
        return loaded

    def directory(self) -> DirectorySpec:
        """``people.yaml``, or an empty directory when the project has none (then only named users decide)."""
        path = self.root / "people.yaml"
        return load_directory(path) if path.is_file() else DirectorySpec()

    def workflow(self, name: str) -> LoadedWorkflow:
        """Load the workflow called ``name`` (its ``workflow:`` key, or a file path)."""
        as_path = Path(name)
        if as_path.suffix in (".yaml", ".yml") and as_path.is_file():
            return load_workflow(as_path.resolve())
        names: list[str] = []
        for path in self.workflow_files():
            if path.stem == name:
                loaded = load_workflow(path)
                if loaded.spec.workflow == name:
                    return loaded
            names.append(path.stem)
        for path in self.workflow_files():
            loaded = load_workflow(path)
            if loaded.spec.workflow == name:
                return loaded
        guess = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else f"workflows live in {self.root / 'workflows'}"
        raise NotFound("workflow", name, hint)

    def check(self) -> ProjectReport:
        """Load every document, collecting all problems instead of stopping at the first."""
        report = ProjectReport()
        if not self.root.is_dir():
            report.errors.append(SpecError(Location(self.root), "is not a folder"))
            return report
        self._check_workflows(report)
        if (self.root / "footprint.yaml").is_file():
            report.footprint = _collect(report, self.root / "footprint.yaml", load_footprint)
        for path in self.policy_files():
            policy = _collect(report, path, load_policy)
            if policy is not None and policy.policy in report.policies:
                report.errors.append(SpecError(Location(path, 1, "policy"),
                                               f"policy '{policy.policy}' is defined twice"))
            elif policy is not None:
                report.policies[policy.policy] = policy
        if (self.root / "people.yaml").is_file():
            report.directory = _collect(report, self.root / "people.yaml", load_directory)
        if report.files_checked == 0:
            report.errors.append(SpecError(Location(self.root), "no workflows/*.yaml or footprint.yaml found",
                                           "run `baton init DIR` to scaffold a project"))
        return report

    def workflows(self) -> dict[str, LoadedWorkflow]:
        """Every workflow that loads, by name, without reading the project's other documents.

        For readers that need only the specs (reports); ``check`` says what is wrong with the rest.
        """
        report = ProjectReport()
        if self.root.is_dir():
            self._check_workflows(report)
        return report.workflows

    def _check_workflows(self, report: ProjectReport) -> None:
        for path in self.workflow_files():
            loaded = _collect(report, path, load_workflow)
            if loaded is not None and loaded.spec.workflow in report.workflows:
                report.errors.append(SpecError(Location(path, 1, "workflow"), f"workflow '{loaded.spec.workflow}' is "
                                               f"also defined in {report.workflows[loaded.spec.workflow].path}"))
            elif loaded is not None:
                report.workflows[loaded.spec.workflow] = loaded


def _collect(report: ProjectReport, path: Path, load: Callable[[Path], T]) -> T | None:
    """Load one document, counting it and adding its problems to ``report`` instead of raising."""
    report.files_checked += 1
    try:
        return load(path)
    except SpecErrors as exc:
        report.errors.extend(exc.errors)
    except BatonError as exc:
        report.errors.append(exc if isinstance(exc, SpecError) else SpecError(Location(path), str(exc)))
    return None
