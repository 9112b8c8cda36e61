"""Model providers: who answers an ``llm`` step, and what the answer cost.

Only the offline ``local`` provider exists so far: a deterministic classifier and a template, honest
about not being a language model. Hosted and self-hosted models arrive with the connectors work.

Example::

    from baton.models import CompletionRequest, ProviderRegistry

    registry = ProviderRegistry()
    provider, model = registry.resolve(step.model, default=os.environ.get("BATON_MODEL", "local"))
    completion = provider.complete(
        CompletionRequest(prompt=prompt, output_schema=step.output, context=context,
                          offline=step.offline, base_dir=workflow_dir, model=model, step="wf/score")
    )
"""

from baton.models.base import Completion, CompletionRequest, ModelError, Provider
from baton.models.classifier import TextClassifier, train_classifier
from baton.models.local import LocalProvider
from baton.models.registry import ProviderRegistry, parse_model_ref, resolve_model

__all__ = [
    "Completion",
    "CompletionRequest",
    "LocalProvider",
    "ModelError",
    "Provider",
    "ProviderRegistry",
    "TextClassifier",
    "parse_model_ref",
    "resolve_model",
    "train_classifier",
]
