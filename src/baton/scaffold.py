"""``baton init``: a small, working project to start from."""

from __future__ import annotations

import re
from pathlib import Path

from baton.errors import Conflict

_FILES: dict[str, str] = {
    "baton.yaml": "# A Baton project: workflows/, schemas/, prompts/, templates/, footprint.yaml, Python steps.\n"
                  "project: {name}\n",
    "workflows/hello.yaml": """\
workflow: hello
version: 1
description: Greet a new customer; a person reviews greetings for large accounts.
owner: you@example.com
team: operations
stage: experiment
input: {{$ref: ../schemas/customer.json}}
steps:
  - id: draft
    uses: llm
    prompt: ../prompts/greeting.md
    output: {{$ref: ../schemas/greeting.json}}
    data: [contact]
    offline:                                  # what the offline `local` model does
      template: ../templates/greeting.yaml.j2
  - id: review
    uses: human
    when: "input.seats >= 100"
    assign: {{role: approver, team: operations}}
    show: [draft]                             # what the reviewer sees, approves or edits
    sla: 4h
  - id: send
    uses: python
    call: {package}.steps:send_greeting
    retry: {{attempts: 3, backoff: 1s}}
    timeout: 30s
measure:
  baseline: {{manual_minutes_per_item: 5, hourly_cost_usd: 40}}
  business_key: input.customer_id
""",
    "schemas/customer.json": """\
{{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["customer_id", "name", "email", "seats"],
  "properties": {{
    "customer_id": {{"type": "string"}},
    "name": {{"type": "string", "minLength": 1}},
    "email": {{"type": "string", "format": "email"}},
    "seats": {{"type": "integer", "minimum": 1}}
  }}
}}
""",
    "schemas/greeting.json": """\
{{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["subject", "body"],
  "additionalProperties": false,
  "properties": {{
    "subject": {{"type": "string", "minLength": 3}},
    "body": {{"type": "string", "minLength": 10}}
  }}
}}
""",
    "prompts/greeting.md": """\
Write a short, warm welcome email to {{{{ input.name }}}}, a new customer with {{{{ input.seats }}}} seats.
Answer as JSON with "subject" and "body".
""",
    "templates/greeting.yaml.j2": """\
subject: {{{{ ("Welcome aboard, " ~ input.name) | tojson }}}}
body: {{{{ ("Hi " ~ input.name ~ ", thank you for choosing us for your " ~ input.seats ~ " seats.") | tojson }}}}
""",
    "{package}/__init__.py": "",
    "{package}/steps.py": '''\
"""Python steps of this project."""

from baton import StepContext


def send_greeting(ctx: StepContext) -> dict[str, str]:
    """Pretend to send the email; the idempotency key lets a real mailer drop duplicates."""
    draft = ctx.steps["draft"]
    return {{"to": ctx.input["email"], "subject": draft["subject"], "message_id": ctx.idempotency_key}}
''',
    "samples/hello.json": '{{"customer_id": "C-1", "name": "Ada", "email": "ada@example.com", "seats": 12}}\n',
    "people.yaml": """\
# Who may decide review tasks: each person's teams and their roles there ("*" means every team).
# Commands act as $BATON_USER (or --as). Nobody may approve a run they started themselves.
people:
  - {{user: boss@example.com, name: Your reviewer, teams: {{operations: [approver]}}}}
  - {{user: you@example.com, name: You, teams: {{operations: [owner]}}}}
""",
    "footprint.yaml": """\
# What the business runs today; `baton validate` checks it.
assets:
  - id: support-chatbot
    name: Website support chatbot
    kind: chatbot
    vendor: Intercom
    team: support
    owner: lead@example.com
    purpose: Answer customer questions on the website
    capabilities: [question-answering]
    data: [contact]
    monthly_cost: 300
    stage: production
    feeds: [hello]
""",
}


def scaffold_project(directory: Path) -> list[Path]:
    """Write a new project into ``directory`` (which must be empty or absent); return the files written."""
    if directory.exists() and any(directory.iterdir()):
        raise Conflict(f"{directory} is not empty; choose a new folder for `baton init`")
    name = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-") or "project"
    package = re.sub(r"[^a-z0-9_]", "_", name.replace("-", "_")) + "_steps"
    if package[0].isdigit():  # a Python module name cannot start with a digit
        package = f"p_{package}"
    written: list[Path] = []
    for relative, text in _FILES.items():
        path = directory / relative.format(package=package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(name=name, package=package), encoding="utf-8")
        written.append(path)
    return written
