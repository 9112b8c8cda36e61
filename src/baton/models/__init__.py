"""Model providers: who answers an ``llm`` step, and what the answer cost.

Two providers exist: ``local``, offline and deterministic (a classifier and a template, honest about not
being a language model), and ``openai``, which reaches OpenAI or any OpenAI-compatible server (Ollama,
vLLM, llama.cpp) through the official SDK. Costs come from a :class:`PriceTable`.

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
from baton.models.openai_compat import OpenAICompatibleProvider
from baton.models.prices import Price, PriceTable
from baton.models.registry import ProviderRegistry, parse_model_ref, resolve_model

__all__ = [
    "Completion",
    "CompletionRequest",
    "LocalProvider",
    "ModelError",
    "OpenAICompatibleProvider",
    "Price",
    "PriceTable",
    "Provider",
    "ProviderRegistry",
    "TextClassifier",
    "parse_model_ref",
    "resolve_model",
    "train_classifier",
]
