"""The http and llm step kinds through the engine, against real things: a loopback HTTP server, real CSVs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from baton.engine.runtime import Runtime
from helpers import write


class _Service:
    """A tiny CRM on loopback: records every request, fails on demand."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures_left = 0
        self.status_when_failing = 503
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                service.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                if service.failures_left > 0:
                    service.failures_left -= 1
                    self.send_response(service.status_when_failing)
                    self.end_headers()
                    self.wfile.write(b"busy")
                    return
                payload = json.dumps({"account": self.path.rsplit("/", 1)[-1], "seen": body}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def service() -> Iterator[_Service]:
    crm = _Service()
    thread = threading.Thread(target=crm.server.serve_forever, daemon=True)
    thread.start()
    yield crm
    crm.server.shutdown()
    crm.server.server_close()


def _http_workflow(project: Any, url: str, attempts: int) -> None:
    project.workflow("crm", f"""
        steps:
          - id: lookup
            uses: http
            url: "{url}/accounts/${{{{ input.account }}}}"
            json: {{size: "${{{{ input.size * 2 }}}}", note: "lead ${{{{ input.account }}}}"}}
            retry: {{attempts: {attempts}, backoff: 0.01}}
            output: {{type: object, required: [account]}}
    """)


def test_http_step_sends_rendered_request_and_records_the_json_answer(
    runtime: Runtime, project: Any, service: _Service
) -> None:
    _http_workflow(project, service.url, attempts=1)
    started = runtime.start_run("crm", {"account": "acme", "size": 21})
    detail = runtime.store.get_run(started.run_id)
    assert detail.summary.status == "completed"
    [request] = service.requests
    assert request["path"] == "/accounts/acme"
    assert request["body"] == {"size": 42, "note": "lead acme"}
    assert request["headers"]["Idempotency-Key"] == f"{started.run_id}:lookup"
    assert detail.steps[0]["output"] == {"account": "acme", "seen": {"size": 42, "note": "lead acme"}}


def test_http_5xx_is_retried_until_it_answers(runtime: Runtime, project: Any, service: _Service) -> None:
    service.failures_left = 2
    _http_workflow(project, service.url, attempts=3)
    detail = runtime.store.get_run(runtime.start_run("crm", {"account": "a", "size": 1}).run_id)
    assert (detail.summary.status, detail.steps[0]["attempts"]) == ("completed", 3)
    assert len(service.requests) == 3
    assert {r["headers"]["Idempotency-Key"] for r in service.requests} == {f"{detail.summary.id}:lookup"}


def test_http_4xx_fails_at_once_with_the_status_in_the_error(
    runtime: Runtime, project: Any, service: _Service
) -> None:
    service.failures_left, service.status_when_failing = 5, 404
    _http_workflow(project, service.url, attempts=3)
    detail = runtime.store.get_run(runtime.start_run("crm", {"account": "a", "size": 1}).run_id)
    assert detail.summary.status == "failed"
    assert len(service.requests) == 1
    assert "answered 404" in (detail.summary.error or "")


def test_http_unreachable_service_fails_the_run_naming_the_url(runtime: Runtime, project: Any) -> None:
    _http_workflow(project, "http://127.0.0.1:9", attempts=2)
    detail = runtime.store.get_run(runtime.start_run("crm", {"account": "a", "size": 1}).run_id)
    assert detail.summary.status == "failed"
    assert "http://127.0.0.1:9/accounts/a" in (detail.summary.error or "")
    assert detail.steps[0]["attempts"] == 2


def test_llm_step_uses_the_offline_model_and_records_lineage(runtime: Runtime, project: Any) -> None:
    rows = ["text,label"] + [f"invoice refund charge billing {i},billing" for i in range(15)]
    rows += [f"crash error bug stack trace {i},bug" for i in range(15)]
    write(project.root, {
        "data/history.csv": "\n".join(rows) + "\n",
        "prompts/route.md": "Route this ticket: {{ input.text }}\n",
        "templates/route.yaml.j2": "queue: {{ prediction.label | tojson }}\nconfidence: {{ prediction.confidence }}\n",
    })
    project.workflow("triage", """
        steps:
          - id: classify
            uses: llm
            prompt: ../prompts/route.md
            output: {type: object, required: [queue, confidence], properties: {queue: {enum: [billing, bug]}}}
            offline:
              classifier: {train: ../data/history.csv, text: "{{ input.text }}"}
              template: ../templates/route.yaml.j2
    """)
    detail = runtime.store.get_run(runtime.start_run("triage", {"text": "the app shows a stack trace"}).run_id)
    assert detail.summary.status == "completed"
    [step] = detail.steps
    assert step["output"]["queue"] == "bug" and step["output"]["confidence"] > 0.5
    assert step["model"].startswith("local/")
    assert step["input_tokens"] == 9  # words in "Route this ticket: the app shows a stack trace"
    assert step["output_tokens"] > 0 and step["cost_usd"] == 0.0
    assert step["prompt_hash"] is not None and len(step["prompt_hash"]) == 64


def test_llm_step_without_offline_block_fails_with_a_hint(runtime: Runtime, project: Any) -> None:
    write(project.root, {"prompts/p.md": "Hello {{ input.name }}\n"})
    project.workflow("bare", """
        steps:
          - {id: ask, uses: llm, prompt: ../prompts/p.md}
    """)
    detail = runtime.store.get_run(runtime.start_run("bare", {"name": "x"}).run_id)
    assert detail.summary.status == "failed"
    assert "offline" in (detail.summary.error or "") and "BATON_MODEL" in (detail.summary.error or "")
