"""Response schemas: one JSON-schema template beside each prompt whose answer has a form
(`<prompt>.schema.j2` in the prompts folder), rendered like a prompt, with the same sandbox
and the same `--prompts` override, so a user can bring their own schema with their wording.

Values go in through Jinja's `tojson`, so a candidate name holding quotes, brackets or
newlines is one JSON string and cannot change the schema's shape. A rendered schema must be
JSON and a valid JSON schema; a user's that is not is a one-line error naming its file.
Checking a schema against the JSON-schema meta-schema costs tens of milliseconds, and the
judge renders one per eval item (the candidates' names differ), so each template's first
rendering in a process is checked in full and later ones only parsed: values enter through
`tojson` and cannot change the schema's shape.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path

from ditto.errors import DittoError
from ditto.prompts import load_template, render
from ditto.types import ResponseSchema

RESERVED_TOKENS = 32
"""Tokens kept free for an answer's JSON around its free text: braces, keys, the verdict."""
MIN_ANALYSIS_CHARS = 16
_checked_templates: weakref.WeakSet = weakref.WeakSet()
"""Templates whose rendered schema passed the meta-schema check (Jinja loads a changed file
as a new template, which is checked again)."""


def render_schema(name: str, lang: str = "en", prompts_dir: str | Path | None = None, **values) -> ResponseSchema:
    """The response schema of prompt `name` (template `<name>.schema.j2`), named `ditto_<name>`."""
    import jsonschema

    text = render(f"{name}.schema", lang, prompts_dir, **values)
    template = load_template(f"{name}.schema", lang, prompts_dir)
    filename = template.filename
    try:
        schema = json.loads(text)
        if template not in _checked_templates:
            jsonschema.Draft202012Validator.check_schema(schema)
            _checked_templates.add(template)
    except ValueError as exc:
        raise DittoError(f"{filename}: the rendered schema is not JSON ({exc})") from None
    except jsonschema.SchemaError as exc:
        raise DittoError(f"{filename}: not a valid JSON schema ({exc.message})") from None
    return ResponseSchema.of(f"ditto_{name}", schema)


def analysis_chars(max_tokens: int, *verdicts: str) -> int:
    """The longest `analysis` a schema may allow so that the whole object (the analysis, the
    longest of the `verdicts` it may end with, and the JSON around them) fits in `max_tokens`
    even at one character per token: an analysis cut at the token limit would leave the
    answer unparsable, and the verdict after it unwritten."""
    longest = max((len(v) for v in verdicts), default=0)
    return max(MIN_ANALYSIS_CHARS, max_tokens - RESERVED_TOKENS - longest)
