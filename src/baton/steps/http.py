"""``http`` steps: call a service; its JSON response is the output."""

from __future__ import annotations

from typing import Any

import httpx

from baton.errors import StepFailed
from baton.expressions import render_value
from baton.steps.base import StepCall, StepResult

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpKind:
    """Runs ``http`` steps with one shared connection pool."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def run(self, call: StepCall, *, timeout: float | None = None) -> StepResult:
        """Send the request; 408/429/5xx and network errors are retryable, other 4xx are not."""
        assert call.step.uses == "http"
        variables = call.expression_variables()
        url = str(render_value(call.step.url, variables, where=call.where))
        headers = {k: str(v) for k, v in render_value(dict(call.step.headers), variables, where=call.where).items()}
        body = render_value(call.step.json_body, variables, where=call.where)
        headers.setdefault("Idempotency-Key", call.idempotency_key)
        if call.guard is not None:  # a tool is another system: data rules apply, nothing is redacted
            call.guard.outbound(call.where, f"http:{httpx.URL(url).host}", True, call.step.data,
                                {"url": url, "headers": headers, "json": body}, redact=False)
        try:
            response = self.client.request(call.step.method, url, headers=headers,
                                           json=body if body is not None else None,
                                           timeout=timeout if timeout else 30.0)
        except httpx.HTTPError as exc:
            raise StepFailed(step=call.where, reason=f"{call.step.method} {url}: {type(exc).__name__}: {exc}",
                             retryable=True) from exc
        if response.status_code >= 400:
            raise StepFailed(step=call.where,
                             reason=f"{call.step.method} {url} answered {response.status_code}: {response.text[:200]}",
                             retryable=response.status_code in _RETRYABLE_STATUS)
        return StepResult(output=_body(response), sent={"method": call.step.method, "url": url, "json": body})


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return {"status": response.status_code}
    try:
        return response.json()
    except ValueError:
        return {"status": response.status_code, "text": response.text}
