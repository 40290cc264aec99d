"""Reading the JSON files of a run directory into typed records, with one-line errors.

Every file the report reads beside judged.jsonl (run_info.json, agreement.json,
stability.json, scores.json) goes through here, so a broken one always stops the report with
the same kind of message: the file, then what is wrong (the line for bad JSON, the field's
path for a bad value), never a traceback or a number silently shown as something else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ditto.chat_files import read_json
from ditto.errors import DittoError

Record = TypeVar("Record", bound=BaseModel)


def read_json_object(path: Path) -> dict:
    """The JSON object in `path`."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise DittoError(f"{path}: expected a JSON object")
    return value


def read_record(path: Path, record: type[Record]) -> Record:
    """The JSON object in `path` as a `record`; the first invalid field named in the error."""
    try:
        return record.model_validate(read_json_object(path))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        raise DittoError(f"{path}: '{where}': {problem['msg']}") from None
