"""The ``openai`` provider: OpenAI, or any server that speaks its chat completions API.

``BATON_MODEL=openai:gpt-4o-mini`` (or a step's ``model: openai:...``) sends ``llm`` steps to OpenAI
with ``OPENAI_API_KEY``. Pointing ``BATON_OPENAI_BASE_URL`` (or ``OPENAI_BASE_URL``) at a self-hosted
server sends them there instead, e.g. Ollama at ``http://127.0.0.1:11434/v1`` with
``BATON_MODEL=openai:llama3.1``; a server on this machine needs no key.

A step with an ``output`` schema asks for JSON matching it (``response_format`` ``json_schema``) and
gets the parsed JSON back; a step without one gets the answer's text.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import math
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from baton.errors import ConfigError
from baton.models.base import Completion, CompletionRequest, ModelError
from baton.models.prices import PriceTable

if TYPE_CHECKING:
    # The SDK is imported where a call is made, not here: it adds about 0.3 s to every process that
    # imports the engine (each CLI command), and most of them never call a hosted model.
    import openai
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
    from openai.types.shared_params import ResponseFormatJSONSchema

__all__ = ["OpenAICompatibleProvider"]

logger = logging.getLogger(__name__)

_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers ignore the key, but the SDK refuses to build a client without one.
_LOOPBACK_KEY = "baton-local-no-key"
_SHOWN_CHARS = 200
_SYSTEM_JSON = "Answer with JSON only."
# What the SDK itself would retry; Baton's engine does the retrying, so these become retryable errors.
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_FENCED = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(.*?)\n?\s*```$", re.S)
# OpenAI echoes a rejected key half-masked ("sk-proj-****abcd"); no part of a key belongs in a message.
_KEY_LIKE = re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_*.\-]{4,}")


class OpenAICompatibleProvider:
    """Answers ``llm`` steps with a chat completions call through the official ``openai`` SDK.

    One SDK client is created at first use and shared between threads. The SDK does not retry
    (``max_retries=0``): failures become :class:`ModelError` with ``retryable`` set, and the engine's
    retry policy decides what happens next.

    Attributes:
        name: ``"openai"``.
        external: always ``True``: even a server on a loopback address may be a tunnel to another
            machine, so redaction and data-access policies apply to every call.
        base_url: the API's base URL, ending in ``/v1``.
        timeout_s: seconds to wait for one answer.
        prices: the price table costs are computed from.

    Example::

        provider = OpenAICompatibleProvider(base_url="http://127.0.0.1:11434/v1")   # Ollama, no key
        completion = provider.complete(CompletionRequest(
            prompt="Score this lead: ...", output_schema={"type": "object", ...}, context={},
            offline=None, base_dir=Path("."), model="llama3.1", step="leads/score"))
        completion.output        # {"score": 0.8, ...}
    """

    name = "openai"
    external = True
    default_model = "gpt-4o-mini"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        prices: PriceTable | None = None,
    ) -> None:
        """Create the provider; nothing is checked against the server until the first call.

        Args:
            base_url: the API's base URL (``https://api.openai.com/v1`` when omitted).
            api_key: the API key; may be omitted for a server on a loopback address.
            timeout_s: seconds to wait for one answer.
            prices: prices per model; :meth:`PriceTable.default` when omitted.

        Raises:
            ConfigError: the base URL is not an http(s) URL, or the timeout is not positive.
        """
        self.base_url = (base_url or "").strip() or _DEFAULT_BASE_URL
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"OpenAI-compatible base URL '{_shown_url(self.base_url)}' is not an http(s) URL; set "
                "BATON_OPENAI_BASE_URL to e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (Ollama)"
            )
        if not timeout_s > 0:
            raise ConfigError(f"the OpenAI-compatible provider's timeout must be positive, got {timeout_s!r}s")
        self.timeout_s = timeout_s
        self.prices = prices if prices is not None else PriceTable.default()
        self._api_key = api_key or None
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._unpriced: set[str] = set()

    @classmethod
    def from_env(cls, prices: PriceTable | None = None) -> OpenAICompatibleProvider:
        """The provider configured from the environment, with a project's price table if given.

        Reads ``BATON_OPENAI_BASE_URL`` (else ``OPENAI_BASE_URL``, else OpenAI's own API) and
        ``OPENAI_API_KEY``.

        Raises:
            ConfigError: the base URL is not an http(s) URL.
        """
        base_url = os.environ.get("BATON_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or None
        return cls(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY") or None, prices=prices)

    @property
    def is_loopback(self) -> bool:
        """Whether the base URL names this machine (``localhost``, ``127.0.0.1``, ``::1``)."""
        return _is_loopback(self.base_url)

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(base_url={_shown_url(self.base_url)!r})"

    def close(self) -> None:
        """Close the SDK client's connections, if a client was created."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def complete(self, request: CompletionRequest) -> Completion:
        """Ask the model once.

        Args:
            request: the prompt, the step's output schema (``None`` for free text) and the model name
                (``""`` for ``gpt-4o-mini``).

        Returns:
            The parsed JSON (or the text, without a schema), the tokens the server counted, and the
            cost from the price table (0.0 when the model's price is unknown).

        Raises:
            ConfigError: no API key is set and the base URL is not on this machine.
            ModelError: the server refused or failed, or the answer is not the JSON asked for;
                ``retryable`` is set for rate limits, timeouts, connection errors and server errors.
        """
        import openai

        model = request.model or self.default_model
        client = self._openai()
        schema = request.output_schema
        messages: list[ChatCompletionMessageParam] = []
        if schema is not None:
            messages.append({"role": "system", "content": _SYSTEM_JSON})
        messages.append({"role": "user", "content": request.prompt})
        try:
            if schema is None:
                response = client.chat.completions.create(model=model, messages=messages)
            else:
                response_format: ResponseFormatJSONSchema = {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": schema, "strict": False},
                }
                response = client.chat.completions.create(
                    model=model, messages=messages, response_format=response_format
                )
        # `from None` throughout: the SDK's exception text can echo the key; ours is scrubbed.
        except openai.APIStatusError as exc:
            raise self._status_error(exc, model, request.step, structured=schema is not None) from None
        except openai.APITimeoutError:
            raise self._error(
                request.step, f"'{model}' did not answer within {self.timeout_s:g}s", retryable=True
            ) from None
        except openai.APIConnectionError as exc:
            cause = _scrub(str(exc.__cause__ or exc), self._api_key)[:_SHOWN_CHARS]
            raise self._error(
                request.step,
                f"cannot reach {_shown_url(self.base_url)}: {cause}",
                hint="check that the server is running and BATON_OPENAI_BASE_URL is right",
                retryable=True,
            ) from None
        except openai.OpenAIError as exc:
            raise self._error(
                request.step, f"the request to '{model}' failed: {_scrub(str(exc), self._api_key)}"
            ) from None
        return self._completion(response, model, request)

    # --- internals ------------------------------------------------------------------------------

    def _openai(self) -> openai.OpenAI:
        client = self._client
        if client is not None:
            return client
        import openai

        with self._lock:
            if self._client is None:
                key = self._api_key
                if key is None:
                    if not self.is_loopback:
                        raise ConfigError(
                            f"the '{self.name}' model provider needs an API key for "
                            f"{_shown_url(self.base_url)}: set OPENAI_API_KEY, or set BATON_OPENAI_BASE_URL "
                            "to a server on this machine (e.g. http://127.0.0.1:11434/v1 for Ollama)"
                        )
                    key = _LOOPBACK_KEY
                self._client = openai.OpenAI(
                    api_key=key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
                )
            return self._client

    def _completion(self, response: ChatCompletion, model: str, request: CompletionRequest) -> Completion:
        if not response.choices:
            raise self._error(request.step, f"'{model}' answered with no choices")
        choice = response.choices[0]
        message = choice.message
        refusal = getattr(message, "refusal", None)
        if refusal:
            raise self._error(
                request.step,
                f"'{model}' refused to answer: {_scrub(refusal, self._api_key)[:_SHOWN_CHARS]}",
                hint="rephrase the prompt",
            )
        content = message.content
        if content is None:
            raise self._error(request.step, f"'{model}' answered with no text (finish_reason: {choice.finish_reason})")
        output: Any = content
        if request.output_schema is not None:
            output = self._parse_json(content, model, choice.finish_reason, request.step)
        usage = response.usage
        input_tokens = usage.prompt_tokens if usage is not None else 0
        output_tokens = usage.completion_tokens if usage is not None else 0
        answered = response.model or model
        return Completion(
            output=output,
            provider=self.name,
            model=answered,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=self._cost(answered, model, input_tokens, output_tokens),
        )

    def _parse_json(self, content: str, model: str, finish_reason: str, step: str) -> Any:
        text = content.strip()
        fenced = _FENCED.match(text)  # small local models wrap JSON in ```json fences even when told not to
        if fenced:
            text = fenced.group(1).strip()
        try:
            return json.loads(text)
        except ValueError:
            pass
        shown = content[:_SHOWN_CHARS] + ("..." if len(content) > _SHOWN_CHARS else "")
        if finish_reason == "length":
            hint = "the answer was cut off at the token limit; shorten the prompt or the output schema"
        else:
            hint = "use a model that supports structured outputs (response_format json_schema)"
        raise self._error(step, f"'{model}' did not answer with JSON: {shown!r}", hint=hint)

    def _cost(self, answered: str, requested: str, input_tokens: int, output_tokens: int) -> float:
        cost = self.prices.cost(self.name, answered, input_tokens, output_tokens)
        if cost is None and answered != requested:
            cost = self.prices.cost(self.name, requested, input_tokens, output_tokens)
        if cost is not None:
            return cost
        with self._lock:
            first = answered not in self._unpriced
            self._unpriced.add(answered)
        if first:
            logger.warning(
                "no price for model '%s:%s'; its calls are recorded as costing $0 (add it to prices.yaml)",
                self.name,
                answered,
            )
        return 0.0

    def _status_error(self, exc: openai.APIStatusError, model: str, step: str, *, structured: bool) -> ModelError:
        status = exc.status_code
        where = _shown_url(self.base_url)
        detail = _server_message(exc, self._api_key)
        said = f": {detail}" if detail else ""
        if status == 401:
            # The server's text is left out on purpose: OpenAI's echoes part of the rejected key.
            return self._error(
                step,
                f"{where} rejected the API key (HTTP 401)",
                hint="check OPENAI_API_KEY (a server on this machine usually needs none)",
            )
        if status == 403:
            return self._error(
                step,
                f"{where} refused access to '{model}' (HTTP 403){said}",
                hint="check that the key's organisation and project may use this model",
            )
        if status == 404:
            return self._error(
                step,
                f"'{model}' or the chat completions endpoint was not found at {where} (HTTP 404){said}",
                hint="check the model name (for Ollama, `ollama pull MODEL`) and that the base URL ends in /v1",
            )
        if status == 429 and exc.code == "insufficient_quota":
            return self._error(
                step,
                f"the account behind the API key is out of quota (HTTP 429){said}",
                hint="add credit or raise the project's spending limit; retrying will not help",
            )
        if status in _RETRYABLE_STATUS or status >= 500:
            what = "rate limited" if status == 429 else "failed"
            return self._error(
                step,
                f"{where} {what} (HTTP {status}) for '{model}'{said}",
                retryable=True,
                retry_after=_retry_after(exc),
            )
        hint = "check the model name and the prompt"
        if structured:
            hint = (
                "check that the model supports structured outputs (response_format json_schema) "
                "and that the step's output schema is valid"
            )
        return self._error(step, f"{where} rejected the request for '{model}' (HTTP {status}){said}", hint=hint)

    def _error(
        self, step: str, problem: str, *, hint: str = "", retryable: bool = False, retry_after: float | None = None
    ) -> ModelError:
        return ModelError(
            provider=self.name,
            step=step,
            problem=problem,
            hint=hint,
            retryable=retryable,
            retry_after=retry_after,
        )


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown_url(url: str) -> str:
    """``url`` without user, password, query or fragment, which may hold credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _scrub(text: str, key: str | None) -> str:
    if key:
        text = text.replace(key, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)


def _server_message(exc: openai.APIStatusError, key: str | None) -> str:
    """The server's own explanation (``error.message``), scrubbed of keys and shortened."""
    body: Any = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict):
        message = body.get("message")
        text = str(message) if message else ""
    elif isinstance(body, str):
        text = body
    else:
        text = ""
    text = _scrub(" ".join(text.split()), key)
    return text[:_SHOWN_CHARS] + ("..." if len(text) > _SHOWN_CHARS else "")


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date."""
    headers = exc.response.headers
    millis = _seconds(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _seconds(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return max(number, 0.0) if math.isfinite(number) else None
