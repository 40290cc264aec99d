"""Does this server enforce a JSON schema? Asked, not assumed.

A server that accepts `response_format` may still ignore it (llama.cpp has accepted schemas
without enforcing them), so the probe asks for something only an enforcing server can
produce: an object whose one property is an enum of a random token that the prompt never
mentions. Each request form is tried in turn:

- "json_schema": `{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}`,
  as OpenAI, vLLM, SGLang and llama.cpp's own server take it;
- "json_object": `{"type": "json_object", "schema": ...}`, as llama-cpp-python's server takes it.

The first form whose answer is exactly the expected object is the endpoint's form; none means
the endpoint answers in free text.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import httpx

from ditto.types import ResponseSchema

SCHEMA_FORMS = ("json_schema", "json_object")
PROBE_MAX_TOKENS = 48
PROBE_PROMPT = "Reply with a JSON object."


def is_probe(body: dict) -> bool:
    """Whether a request body is a probe's (for proxies and logs that count a run's requests)."""
    messages = body.get("messages") or [{}]
    return "response_format" in body and messages[0].get("content") == PROBE_PROMPT


def response_format(form: str, schema: ResponseSchema) -> dict:
    """The request field that asks `form`'s servers to enforce `schema`."""
    if form == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.name, "schema": schema.schema, "strict": True}}
    if form == "json_object":
        return {"type": "json_object", "schema": schema.schema}
    raise ValueError(f"unknown schema form {form!r}")


@dataclass(frozen=True)
class ProbeResult:
    form: str | None
    """The request form the endpoint enforces; None: it answers in free text."""
    detail: str
    """What each form got, for the run's record and the notice."""
    answered: bool = True
    """False when the endpoint could not be reached: such a result is not kept for re-runs."""

    @property
    def enforced(self) -> bool:
        return self.form is not None


def probe_schema(model: str) -> tuple[ResponseSchema, str]:
    """A fresh probe: the schema (one property, an enum of one random token) and that token."""
    token = "zq" + secrets.token_hex(4)
    schema = {
        "type": "object",
        "properties": {"token": {"type": "string", "enum": [token]}},
        "required": ["token"],
        "additionalProperties": False,
    }
    return ResponseSchema.of("ditto_probe", schema), token


TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
"""Statuses the probe asks again on. A 500 that persists is taken as a refusal of the form:
llama-cpp-python answers a response_format it does not know with 500."""


def probe_endpoint(client: httpx.Client, url: str, model: str, attempts: int = 3) -> ProbeResult:
    """Try each form on `url` until one is enforced. A transient status or a malformed body
    is asked again, up to `attempts` times; a form the server still refuses (an HTTP error)
    or answers wrongly is noted and the next tried; a failure to connect is raised (httpx's
    errors)."""
    notes = []
    for form in SCHEMA_FORMS:
        schema, token = probe_schema(model)
        body = {
            "model": model,
            "messages": [{"role": "user", "content": PROBE_PROMPT}],
            "max_tokens": PROBE_MAX_TOKENS,
            "temperature": 0.0,
            "response_format": response_format(form, schema),
        }
        for _ in range(attempts):
            response = client.post(f"{url}/chat/completions", json=body)
            try:
                text = (response.json()["choices"][0]["message"]["content"] or "").strip()
            except (ValueError, KeyError, IndexError, TypeError):
                text = None
            if response.status_code not in TRANSIENT_STATUS and (text is not None or response.status_code >= 400):
                break
        if response.status_code >= 400:
            notes.append(f"{form}: refused (HTTP {response.status_code})")
            continue
        if text is None:
            notes.append(f"{form}: malformed response body")
            continue
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if answer == {"token": token}:
            notes.append(f"{form}: enforced")
            return ProbeResult(form, "; ".join(notes))
        notes.append(f"{form}: not enforced (answered {text[:60]!r})")
    return ProbeResult(None, "; ".join(notes))
