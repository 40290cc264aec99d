"""Wikidata entities out of every shape they are saved in, streamed where they can be.

Accepted, by the first non-blank line of the (optionally .gz or .bz2) file:
- `[` alone: a Wikidata JSON dump, one entity per line with trailing commas, read line by
  line so a 100 GB dump needs no more memory than one entity;
- a complete JSON object: JSON lines, each a single entity or an API response;
- anything else: one JSON document: a wbgetentities or Special:EntityData response
  ({"entities": {...}}), a single entity, or a list of entities.

Deleted ("missing") entities, redirects and API errors saved in place of data each become a
note, never an exception; a file that is not JSON is a `DittoError` naming it (and the line,
for dumps and JSON lines).
"""

from __future__ import annotations

import bz2
import gzip
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

from ditto.characters.labels import Labels
from ditto.characters.notes import Notes
from ditto.errors import DittoError

ENTITY_ID = re.compile(r"^[QPL]\d+$")
LABEL_FILE_SUFFIXES = (".json", ".json.gz", ".json.bz2", ".jsonl", ".jsonl.gz", ".jsonl.bz2")


def open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    if path.suffix == ".bz2":
        return bz2.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


# --- one parsed document ------------------------------------------------------------------


def entities_in_response(data: object, where: str, notes: Notes) -> Iterator[dict]:
    """The usable entities of one parsed JSON document, each with its `id` filled in."""
    if isinstance(data, list):
        for item in data:
            yield from _entity(item, None, where, notes)
    elif not isinstance(data, Mapping):
        notes.add("no-entities", f"{where}: expected a JSON object or list of entities")
    elif isinstance(data.get("entities"), Mapping):
        for key, entity in data["entities"].items():
            yield from _entity(entity, str(key), where, notes)
    elif isinstance(data.get("error"), Mapping):
        error = data["error"]
        notes.add(
            "api-error",
            f"{where}: an API error, not data: {error.get('code')}: {error.get('info')}",
        )
    elif _looks_like_entity(data):
        yield from _entity(data, None, where, notes)
    else:
        notes.add(
            "no-entities",
            f"{where}: no Wikidata entities in it (expected wbgetentities, Special:EntityData "
            "or dump JSON)",
        )


def _looks_like_entity(data: Mapping) -> bool:
    return any(key in data for key in ("claims", "labels", "sitelinks", "redirect", "missing")) or (
        isinstance(data.get("id"), str) and "type" in data
    )


def _entity(entity: object, key: str | None, where: str, notes: Notes) -> Iterator[dict]:
    if not isinstance(entity, Mapping):
        notes.add("malformed", f"{where}: entity {key or '?'} is not a JSON object")
        return
    entity_id = entity.get("id") if isinstance(entity.get("id"), str) else None
    if "missing" in entity:
        if entity_id or (key and ENTITY_ID.match(key)):
            notes.add(
                "missing", f"{where}: {entity_id or key} is missing (deleted or never existed)"
            )
        else:
            notes.add(
                "missing",
                f"{where}: no entity for {entity.get('site', '?')} page "
                f"{entity.get('title', '?')!r}",
            )
        return
    if isinstance(entity.get("redirect"), str) and "claims" not in entity:
        source = entity_id or entity.get("entity") or key or "?"
        notes.add(
            "redirect",
            f"{where}: {source} is a redirect to {entity['redirect']} (no data here; fetch or "
            "import the target)",
        )
        return
    entity_id = entity_id or (key if key and ENTITY_ID.match(key) else None)
    if entity_id is None:
        notes.add("malformed", f"{where}: an entity without an id was skipped")
        return
    redirects = entity.get("redirects")
    if isinstance(redirects, Mapping) and redirects.get("from"):
        notes.add(
            "redirect", f"{where}: {redirects['from']} redirects to {entity_id}; using {entity_id}"
        )
    elif key and ENTITY_ID.match(key) and key != entity_id:
        notes.add("redirect", f"{where}: {key} redirects to {entity_id}; using {entity_id}")
    yield entity if entity.get("id") == entity_id else {**entity, "id": entity_id}


# --- files --------------------------------------------------------------------------------


def read_entity_file(path: str | Path, notes: Notes) -> Iterator[dict]:
    """Every usable entity of a file, streamed (see the module docstring for the formats)."""
    path = Path(path)
    try:
        yield from _read(path, notes)
    except UnicodeDecodeError:
        raise DittoError(f"{path}: not UTF-8 text") from None
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DittoError(f"{path}: cannot read it ({reason})") from None


def _read(path: Path, notes: Notes) -> Iterator[dict]:
    with open_text(path) as handle:
        lines = enumerate(handle, start=1)
        for number, line in lines:  # noqa: B007 - `number` is read after the loop
            first = line.strip()
            if first:
                break
        else:
            notes.add("empty", f"{path}: empty file")
            return
        if first == "[":
            yield from _dump(path, lines, notes)
            return
        document = _parse_line(first)
        if document is not None:
            yield from entities_in_response(document, f"{path}:{number}", notes)
            yield from _json_lines(path, lines, notes)
            return
        text = line + handle.read()
    yield from entities_in_response(_parse_document(path, text), str(path), notes)


def _parse_line(text: str) -> object | None:
    text = text.strip().rstrip(",")
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _parse_document(path: Path, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DittoError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _json_lines(path: Path, lines: Iterator[tuple[int, str]], notes: Notes) -> Iterator[dict]:
    for number, line in lines:
        if not line.strip():
            continue
        document = _parse_line(line)
        if document is None:
            raise DittoError(f"{path}:{number}: not valid JSON (expected one object per line)")
        yield from entities_in_response(document, f"{path}:{number}", notes)


def _dump(path: Path, lines: Iterator[tuple[int, str]], notes: Notes) -> Iterator[dict]:
    """One entity per line between `[` and `]`; a pretty-printed array is read whole instead."""
    first_entity = True
    for number, line in lines:
        stripped = line.strip()
        if not stripped or stripped == "]":
            continue
        entity = _parse_line(stripped)
        if entity is None and first_entity:
            yield from _pretty_array(path, notes)
            return
        if entity is None:
            raise DittoError(f"{path}:{number}: not valid JSON (a dump has one entity per line)")
        first_entity = False
        yield from _entity(entity, None, f"{path}:{number}", notes)


def _pretty_array(path: Path, notes: Notes) -> Iterator[dict]:
    with open_text(path) as handle:
        text = handle.read()
    yield from entities_in_response(_parse_document(path, text), str(path), notes)


# --- label files --------------------------------------------------------------------------


def label_files(path: str | Path) -> list[Path]:
    """A file, or the JSON files directly inside a directory, in name order."""
    path = Path(path)
    if path.is_dir():
        return sorted(
            p for p in path.iterdir() if p.is_file() and p.name.endswith(LABEL_FILE_SUFFIXES)
        )
    if path.is_file():
        return [path]
    raise DittoError(f"--labels {path}: no such file or directory")


def read_labels(paths: list[str | Path], labels: Labels | None = None) -> Labels:
    """Labels from wbgetentities label responses or entity files (their own labels)."""
    labels = labels if labels is not None else Labels()
    quiet = Notes(echo=None)
    for path in paths:
        for file in label_files(path):
            for entity in read_entity_file(file, quiet):
                labels.add_entity(entity["id"], entity)
    return labels
