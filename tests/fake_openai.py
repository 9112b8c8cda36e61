"""A recording OpenAI-compatible server on loopback, for tests that talk to ``openai:`` models for real.

Example::

    with FakeOpenAI(reply={"score": 0.9}) as fake:
        provider = OpenAICompatibleProvider(base_url=fake.base_url)
        completion = provider.complete(request)
        assert fake.requests[0]["messages"][-1]["content"] == request.prompt

``reply`` is what the model answers: a string is sent as the message content as it is; any other
JSON-able value is sent as its JSON text; a callable receives the request body and returns either.
Set ``status`` (and ``error_message``, ``headers``) to answer with an OpenAI-style error instead.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FakeOpenAI"]

Reply = Any | Callable[[dict[str, Any]], Any]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_denied",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
}


class FakeOpenAI:
    """A chat completions server on ``127.0.0.1`` (a free port) that records what it receives.

    Attributes:
        reply: the answer's content (see the module docstring).
        status: the HTTP status to answer with; anything but 200 sends an OpenAI error body.
        error_message: ``error.message`` of error answers.
        error_code: ``error.code`` of error answers (e.g. ``"insufficient_quota"``).
        headers: extra response headers, e.g. ``{"Retry-After": "7"}``.
        prompt_tokens: ``usage.prompt_tokens`` of successful answers.
        completion_tokens: ``usage.completion_tokens`` of successful answers.
        model: the model named in answers; ``None`` echoes the requested one.
        finish_reason: ``choices[0].finish_reason`` of successful answers.
        delay_s: seconds to wait before answering (for timeout tests).
    """

    def __init__(
        self,
        reply: Reply = "",
        *,
        status: int = 200,
        prompt_tokens: int = 11,
        completion_tokens: int = 7,
        model: str | None = None,
    ) -> None:
        self.reply: Reply = reply
        self.status = status
        self.error_message = "fake error"
        self.error_code: str | None = None
        self.headers: dict[str, str] = {}
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.model = model
        self.finish_reason = "stop"
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._request_headers: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what was received -----------------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies POSTed to ``/v1/chat/completions``, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        """The headers of those requests, lower-cased names, in the same order (a copy)."""
        with self._lock:
            return list(self._request_headers)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``OpenAICompatibleProvider(base_url=...)``."""
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not started; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._send(self, 404, _error_body("not found", "invalid_request_error", None))

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- answering -------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        if handler.path.rstrip("/") != "/v1/chat/completions":
            self._send(handler, 404, _error_body(f"unknown path {handler.path}", "invalid_request_error", None))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send(handler, 400, _error_body("body is not JSON", "invalid_request_error", None))
            return
        with self._lock:
            self._requests.append(body)
            self._request_headers.append({name.lower(): value for name, value in handler.headers.items()})
            status, delay = self.status, self.delay_s
        if delay:
            time.sleep(delay)
        if status != 200:
            error_type = _ERROR_TYPES.get(status, "server_error")
            self._send(handler, status, _error_body(self.error_message, error_type, self.error_code))
            return
        try:
            content = self._content(body)
        except Exception as exc:  # a broken reply callable: answer 500 so the test sees it, don't hang
            self._send(handler, 500, _error_body(f"reply callable raised {exc!r}", "server_error", None))
            return
        self._send(handler, 200, self._completion(body, content))

    def _content(self, body: dict[str, Any]) -> str:
        reply = self.reply(body) if callable(self.reply) else self.reply
        return reply if isinstance(reply, str) else json.dumps(reply)

    def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        with self._lock:
            number = len(self._requests)
        return {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model or str(body.get("model", "")),
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
            },
        }

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in self.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) closes the socket before the answer: not a failure.
        pass


def _error_body(message: str, error_type: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}
