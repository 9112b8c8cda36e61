"""The offline ``local`` provider: a deterministic classifier and a template, not a language model.

It answers an ``llm`` step from the step's ``offline:`` block, so a first run works with no API key and
no downloaded weights::

    - id: score
      uses: llm
      prompt: ../prompts/lead-score.md
      offline:
        classifier:
          train: ../data/leads.csv                  # columns: text, label
          text: "{{ input.company }} {{ input.message }}"
        template: ../offline/lead-score.yaml.j2     # renders YAML; sees input, steps, prediction

The template renders YAML, which is parsed into the step's output. Setting ``BATON_MODEL`` to a real
provider sends the same steps, with their prompts, to a language model instead.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import yaml

from baton.models.base import Completion, CompletionRequest, ModelError
from baton.models.classifier import TextClassifier, train_classifier
from baton.templating import TemplateRenderer

__all__ = ["LocalProvider"]

_TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")


class _OutputLoader(yaml.SafeLoader):
    """PyYAML's safe loader, minus implicit timestamps.

    Step outputs are stored and validated as JSON, which has no date type: ``due: 2025-01-31`` stays
    the string ``"2025-01-31"`` instead of becoming a ``datetime.date`` that JSON Schema rejects.
    """


_OutputLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class LocalProvider:
    """Answers ``llm`` steps offline from their ``offline:`` block: a classifier and/or a template.

    With ``offline.classifier``, a TF-IDF + logistic regression classifier is trained on the CSV (once
    per process, again only when the file changes) and its prediction of ``classifier.text`` is given to
    the template as ``prediction`` (``label``, ``confidence``, ``probabilities``). The template renders
    YAML, and the parsed mapping is the output. Safe to share between threads.

    Example::

        provider = LocalProvider()
        completion = provider.complete(request)   # a CompletionRequest for a step with offline:
        completion.output                         # e.g. {"score": 0.91, "tier": "hot"}
    """

    name = "local"
    external = False  # answers in this process; nothing leaves the machine

    def __init__(self, templates: TemplateRenderer | None = None) -> None:
        """Create the provider.

        Args:
            templates: the renderer for offline templates; a new one when omitted.
        """
        self._templates = templates or TemplateRenderer()
        # One lock for the classifier cache, held while training: a second request for the same CSV
        # waits for the first training instead of training again.
        self._lock = threading.Lock()
        # resolved path -> ((mtime_ns, size), classifier): one entry per file, replaced when it changes.
        self._classifiers: dict[Path, tuple[tuple[int, int], TextClassifier]] = {}
        self._trainings = 0

    @property
    def trainings(self) -> int:
        """How many times this provider has trained a classifier (a retrain follows a file change)."""
        return self._trainings

    @property
    def cached_classifiers(self) -> int:
        """How many trained classifiers this provider holds."""
        with self._lock:
            return len(self._classifiers)

    def classifier(self, path: Path) -> TextClassifier:
        """The classifier trained on the CSV at ``path``, trained now unless the file is unchanged.

        Args:
            path: the labelled CSV (columns ``text`` and ``label``).

        Returns:
            The trained classifier.

        Raises:
            SpecError: the training data is missing or unusable; the location names file and line.
        """
        key = path.resolve()
        with self._lock:
            try:
                stat = key.stat()
            except FileNotFoundError:
                stamp = None  # let train_classifier raise its SpecError naming the file
            else:
                # Stat before reading: if the file changes while training, the next call sees a new
                # stamp and trains again rather than keeping a model of half-old data.
                stamp = (stat.st_mtime_ns, stat.st_size)
                cached = self._classifiers.get(key)
                if cached is not None and cached[0] == stamp:
                    return cached[1]
            trained = train_classifier(path)
            self._trainings += 1
            if stamp is not None:
                self._classifiers[key] = (stamp, trained)
            return trained

    def complete(self, request: CompletionRequest) -> Completion:
        """Answer a step from its ``offline:`` block.

        Args:
            request: the step's prompt, context and offline settings; ``request.model`` is ignored,
                because the offline block, not a model name, decides the answer.

        Returns:
            The parsed YAML mapping the template rendered, with word counts as tokens and no cost.

        Raises:
            ModelError: the step has no ``offline:`` block, or the template did not render a YAML
                mapping.
            SpecError: the training data or a template is invalid.
            NotFound: the template file does not exist.
        """
        offline = request.offline
        if offline is None:
            raise ModelError(
                provider=self.name,
                step=request.step,
                problem="the local provider needs an `offline:` block for this step "
                "(a template, and optionally a classifier)",
                hint="add one to the step, or set BATON_MODEL to a real provider (e.g. openai:gpt-4o-mini)",
            )
        context: dict[str, Any] = dict(request.context)
        template_path = request.base_dir / offline.template
        model = f"local/template:{_stem(template_path)}"
        if offline.classifier is not None:
            csv_path = request.base_dir / offline.classifier.train
            classifier = self.classifier(csv_path)
            where = f"{request.step or 'llm step'}: offline.classifier.text"
            text = self._templates.render_text(offline.classifier.text, request.context, where=where)
            context["prediction"] = classifier.predict(text)
            model = f"local/{csv_path.stem}+{_stem(template_path)}"

        rendered = self._templates.render_file(template_path, context)
        output = self._parse(rendered, template_path, request.step)
        return Completion(
            output=output,
            provider=self.name,
            model=model,
            input_tokens=len(request.prompt.split()),
            output_tokens=len(rendered.split()),
            cost_usd=0.0,
        )

    def _parse(self, rendered: str, template_path: Path, step: str) -> dict[str, Any]:
        hint = "quote values with the tojson filter, e.g. `reason: {{ input.note | tojson }}`"
        try:
            output = yaml.load(rendered, Loader=_OutputLoader)  # a SafeLoader: no arbitrary objects
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1} of the rendered text" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ModelError(
                provider=self.name,
                step=step,
                problem=f"template {template_path} did not render valid YAML{at}: {problem}",
                hint=hint,
            ) from None
        if not isinstance(output, dict):
            raise ModelError(
                provider=self.name,
                step=step,
                problem=f"template {template_path} rendered a {type(output).__name__}, not a YAML mapping",
                hint="the offline template must render 'key: value' lines, one per output field",
            )
        return output


def _stem(path: Path) -> str:
    """``lead-score`` for ``lead-score.yaml.j2``: the name without the template and format suffixes."""
    name = path.name
    for suffix in _TEMPLATE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return Path(name).stem
