"""A Baton project folder: ``workflows/*.yaml``, ``footprint.yaml``, schemas, prompts and Python code."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from baton.errors import BatonError, Location, NotFound, SpecError, SpecErrors
from baton.spec.loader import LoadedWorkflow, load_directory, load_footprint, load_policy, load_workflow
from baton.spec.models import FootprintSpec
from baton.spec.policy import DirectorySpec, PolicySpec


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
        for path in self.workflow_files():
            report.files_checked += 1
            try:
                loaded = load_workflow(path)
            except SpecErrors as exc:
                report.errors.extend(exc.errors)
                continue
            except SpecError as exc:
                report.errors.append(exc)
                continue
            other = report.workflows.get(loaded.spec.workflow)
            if other is not None:
                report.errors.append(SpecError(Location(path, 1, "workflow"),
                                               f"workflow '{loaded.spec.workflow}' is also defined in {other.path}"))
                continue
            report.workflows[loaded.spec.workflow] = loaded
        footprint = self.root / "footprint.yaml"
        if footprint.is_file():
            report.files_checked += 1
            try:
                report.footprint = load_footprint(footprint)
            except SpecErrors as exc:
                report.errors.extend(exc.errors)
            except BatonError as exc:
                report.errors.append(exc if isinstance(exc, SpecError) else SpecError(Location(footprint), str(exc)))
        for path in self.policy_files():
            report.files_checked += 1
            try:
                policy = load_policy(path)
            except SpecErrors as exc:
                report.errors.extend(exc.errors)
                continue
            if policy.policy in report.policies:
                report.errors.append(SpecError(Location(path, 1, "policy"),
                                               f"policy '{policy.policy}' is defined twice"))
            report.policies[policy.policy] = policy
        people = self.root / "people.yaml"
        if people.is_file():
            report.files_checked += 1
            try:
                report.directory = load_directory(people)
            except SpecErrors as exc:
                report.errors.extend(exc.errors)
        if report.files_checked == 0:
            report.errors.append(SpecError(Location(self.root), "no workflows/*.yaml or footprint.yaml found",
                                           "run `baton init DIR` to scaffold a project"))
        return report
