"""Which organisation policies a run is held to, frozen with the run.

At the start of a run the policies that cover its workflow (``policies/*.yaml``, by team, stage, tag or
name) are registered as versions and their ids stored on the run. Every later segment, in any
process, compiles the guardrails from those stored versions, never from the files as they are now:
a run keeps the rules it started under, and an edited policy must bump its version.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path

from baton.policy.guardrails import Guardrails
from baton.spec.models import WorkflowSpec
from baton.spec.policy import PolicySpec
from baton.spec.project import Project
from baton.store.store import Store

_RUNS_REMEMBERED = 4096


class PolicyCache:
    """Policy files parsed once per change, and compiled guardrails shared by runs with the same versions."""

    def __init__(self, project: Project, store: Store) -> None:
        self.project = project
        self.store = store
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[tuple[int, int], str]] = {}  # path -> (mtime, size), policy version id
        self._compiled: dict[tuple[str, tuple[str, ...]], Guardrails] = {}
        self._run_policies: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._parsed: dict[str, PolicySpec] = {}  # policy versions are immutable once stored

    def applicable(self, spec: WorkflowSpec) -> list[str]:
        """Register the policies that cover ``spec`` and return their version ids (``name@version``)."""
        files = self.project.policy_files()
        stamps = {path: _stamp(path) for path in files}
        with self._lock:
            fresh = all(path in self._files and self._files[path][0] == stamps[path] for path in files)
            known = dict(self._files) if fresh and len(self._files) == len(files) else None
        if known is None:
            known = {}
            for policy, path in self.project.policies():
                document = policy.model_dump(mode="json")
                digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
                policy_id = self.store.register_policy(name=policy.policy, version=policy.version, digest=digest,
                                                       document=document, source_path=str(path))
                known[path] = (stamps[path], policy_id)
            with self._lock:
                self._files = known
        covering = []
        for _, policy_id in known.values():
            policy = self.policy(policy_id)
            if policy.applies_to.covers(workflow=spec.workflow, team=spec.team, stage=spec.stage, tags=spec.tags):
                covering.append(policy_id)
        return sorted(covering)

    def remember(self, run_id: str, policy_ids: list[str]) -> None:
        """Note the policies of a run this process started, so its segments need not read them back."""
        with self._lock:
            self._run_policies[run_id] = tuple(policy_ids)
            while len(self._run_policies) > _RUNS_REMEMBERED:
                self._run_policies.popitem(last=False)

    def guardrails(self, run_id: str, spec: WorkflowSpec, version_id: str) -> Guardrails:
        """The compiled rules of one run: its workflow version's guardrails and its recorded policy versions."""
        with self._lock:
            policy_ids = self._run_policies.get(run_id)
        if policy_ids is None:
            policy_ids = tuple(self.store.run_governance(run_id)[0])
            self.remember(run_id, list(policy_ids))
        key = (version_id, policy_ids)
        with self._lock:
            compiled = self._compiled.get(key)
        if compiled is None:
            compiled = Guardrails.compile(spec, [self.policy(pid) for pid in policy_ids])
            with self._lock:
                self._compiled[key] = compiled
        return compiled

    def policy(self, policy_id: str) -> PolicySpec:
        """A stored policy version, parsed once."""
        with self._lock:
            parsed = self._parsed.get(policy_id)
        if parsed is None:
            [document] = self.store.policy_documents([policy_id])
            parsed = PolicySpec.model_validate(document)
            with self._lock:
                self._parsed[policy_id] = parsed
        return parsed


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size
