"""Structured outputs: answers that must have a form are asked under a JSON schema, where the
model can be made to follow it, and every such answer is validated.

A stage that needs a form (query lists, judge verdicts, MT-Bench ratings) describes it as a
`Form`: the schema, how to read a valid object, and how to read free text. Whether schemas
are used is the backend's answer to `uses_schemas`, under `--structured`:

- "auto" (default): a server is probed once per run and endpoint (`probe.py`) and gets the
  schema only where it was seen to enforce one; the local backend uses its grammar engine;
- "on": as auto, but an endpoint that does not enforce schemas stops the run;
- "off": no schema is ever sent, and prompts ask for the free-text forms.

An enforced answer that does not validate counts as a violation: unparsed, and asked again.
An answer from an endpoint that does not enforce is read as an object when it is one, else by
the stage's tolerant text parser. `StructuredTally` counts each kind per endpoint.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from ditto.errors import DittoError
from ditto.types import Completion, ResponseSchema

T = TypeVar("T")
StructuredMode = Literal["auto", "on", "off"]
STRUCTURED_MODES: tuple[StructuredMode, ...] = ("auto", "on", "off")


def check_mode(mode: str) -> StructuredMode:
    if mode not in STRUCTURED_MODES:
        raise DittoError(f"--structured {mode}: choose one of {', '.join(STRUCTURED_MODES)}")
    return mode  # type: ignore[return-value]


def uses_schemas(model, store) -> bool:
    """Whether requests to `model` should carry response schemas in this run (and prompts ask
    for JSON): its `structured_outputs(store)` decides, probing endpoints where it must. A
    backend without that method (a user's own) gets free text."""
    decide = getattr(model, "structured_outputs", None)
    return bool(decide(store)) if callable(decide) else False


def valid_object(text: str, schema: ResponseSchema) -> dict | list | None:
    """The JSON value of `text` when it is one and validates under `schema`, else None.

    Raw control characters (a newline) inside strings are read as themselves: strict JSON
    forbids them, but their meaning is plain, and llama-cpp-python's grammar lets them
    through (4 of 8 query answers on the builtin model, BENCHMARKS.md)."""
    try:
        value = json.loads(text, strict=False)
    except ValueError:
        return None
    return value if validator(schema.text).is_valid(value) else None


@functools.lru_cache(maxsize=256)
def validator(schema_text: str):
    """A validator per schema, kept: `jsonschema.validate` also checks the schema against
    the meta-schema on every call, which cost more than the rest of reading an answer.
    Schemas are checked where they are made (`prompts.schemas.render_schema`)."""
    import jsonschema

    schema = json.loads(schema_text)
    return jsonschema.validators.validator_for(schema)(schema)


def object_in_text(text: str, schema: ResponseSchema) -> dict | list | None:
    """A valid object written inside free text (in a code fence, after a sentence): from the
    first `{` to the last `}`. For answers from endpoints that do not enforce schemas."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        return None
    return valid_object(text[start : end + 1], schema)


@dataclass(frozen=True)
class Form(Generic[T]):
    """What an answer must say and how to read it: `schema` (None: free text only),
    `from_object` for a valid object, `from_text` for free text; each returns None when the
    answer does not say one clear thing."""

    from_text: Callable[[str], T | None]
    schema: ResponseSchema | None = None
    from_object: Callable[[dict], T | None] | None = None

    def read(self, completion: Completion) -> tuple[T | None, str]:
        """(value, outcome). Outcomes: "enforced" (a valid answer under an enforced schema),
        "violated" (an enforced answer that does not validate), "text" (read from a free-text
        answer), "unparsed" (an answer, valid or free, that says nothing usable: a query
        object whose strings all fail the question checks, a free text with no verdict)."""
        if self.schema is not None and self.from_object is not None:
            if completion.structured == "enforced":
                value = valid_object(completion.text, self.schema)
                if value is None:
                    return None, "violated"
                read = self.from_object(value)
                return (read, "enforced") if read is not None else (None, "unparsed")
            value = object_in_text(completion.text, self.schema)
            if value is not None:
                read = self.from_object(value)
                if read is not None:
                    return read, "text"
        read = self.from_text(completion.text)
        return (read, "text") if read is not None else (None, "unparsed")


OUTCOMES = ("enforced", "violated", "text", "unparsed")


@dataclass
class StructuredTally:
    """Answers per endpoint by outcome (`Form.read`), for stats.json and run_info.json."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, endpoint: str | None, outcome: str) -> None:
        per_endpoint = self.counts.setdefault(endpoint or "unknown", dict.fromkeys(OUTCOMES, 0))
        per_endpoint[outcome] += 1

    def as_dict(self) -> dict:
        """{endpoint: {"enforced": n, "violated": n, "parsed_from_text": n, "unparsed": n}}"""
        return {
            endpoint: {"enforced": c["enforced"], "violated": c["violated"],
                       "parsed_from_text": c["text"], "unparsed": c["unparsed"]}
            for endpoint, c in sorted(self.counts.items())
        }


def structured_record(store, answers: dict) -> dict:
    """What stats.json and run_info.json say of structured outputs: each endpoint's latest
    probe in this run directory (none for a local model) and the answers per endpoint by how
    they were read (`StructuredTally.as_dict`)."""
    latest = {(p["model"], p["endpoint"]): p for p in store.probes()}
    return {
        "probes": [{key: p[key] for key in ("endpoint", "model", "form", "enforced", "detail")}
                   for p in latest.values()],
        "answers": answers,
    }
