"""Reading and writing JSON-lines files of chats, with errors that name the file and line.

Input is validated whole before any model call, so bad input costs nothing; output is
written to a temporary file and renamed into place, so a half-written file is never left
where a finished one should be.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ditto.errors import DittoError
from ditto.types import Message

# A JSON escape of half a surrogate pair ("\ud800"): valid JSON, but no text anyone can write out.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _decode_line(raw: bytes, where: str, first: bool) -> object:
    try:
        line = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        raise DittoError(f"{where}: not UTF-8 text (byte {exc.start + 1} of the line)") from None
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DittoError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    except ValueError:  # more digits than Python turns into an int
        raise DittoError(f"{where}: not valid JSON (a number with too many digits)") from None
    except RecursionError:
        raise DittoError(f"{where}: not valid JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        raise DittoError(f"{where}: expected a JSON object per line")
    try:
        lone_surrogate = bool(SURROGATE_ESCAPE.search(line)) and _has_lone_surrogate(record)
    except RecursionError:
        raise DittoError(f"{where}: not valid JSON (nested too deeply)") from None
    if lone_surrogate:
        raise DittoError(f"{where}: a string holds half a surrogate pair (a lone \\ud800-\\udfff escape)")
    return record


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line, read as the caller asks for them, so
    that the caller's own check of a line comes before any fault of a later line.

    Any line that is not a JSON object is an error. A line ends at a line feed (a carriage
    return before it is whitespace), so line numbers are those of `wc -l` and `sed -n`; a
    UTF-8 byte-order mark at the start is skipped.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DittoError(f"{path}: cannot read it ({exc.strerror})") from None
    with handle:
        try:
            for number, raw in enumerate(handle, start=1):
                record = _decode_line(raw, f"{path}:{number}", number == 1)
                if record is not None:
                    yield number, record
        except OSError as exc:  # a folder opens on some systems and fails on the first read
            raise DittoError(f"{path}: cannot read it ({exc.strerror})") from None


def read_jsonl(path: str | Path) -> list[tuple[int, dict]]:
    """Every (line number, object) of `iter_jsonl`, the whole file checked."""
    return list(iter_jsonl(path))


def read_json(path: str | Path) -> object:
    """The JSON value of a whole file (not JSON lines); errors name the file and line."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DittoError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DittoError(f"{path}: cannot read it ({exc})") from None


Identified = TypeVar("Identified", bound=BaseModel)


def read_identified(path: str | Path, record: type[Identified], what: str) -> list[Identified]:
    """The records of a JSON-lines file as `record`s with an `id` each, in file order. Labels
    and samples name records by id, so an id that repeats is refused rather than guessed
    between; the first invalid field is named with the file and line."""
    records: list[Identified] = []
    lines: dict[str, int] = {}
    for number, raw in iter_jsonl(path):
        where = f"{path}:{number}"
        try:
            parsed = record.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field_name = ".".join(str(part) for part in first["loc"])
            raise DittoError(f"{where}: not a ditto {what} ({field_name}: {first['msg']})") from None
        identity = parsed.id  # type: ignore[attr-defined]
        if identity in lines:
            raise DittoError(f"{where}: {what} id {identity!r} repeats (line {lines[identity]}); labels name it by id")
        lines[identity] = number
        records.append(parsed)
    return records


def parse_messages(value: object, where: str) -> list[Message]:
    if not isinstance(value, list) or not value:
        raise DittoError(f"{where}: 'messages' must be a non-empty list")
    messages = []
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise DittoError(f"{where}: message {position} is not an object")
        role = item.get("role")
        if role not in ("system", "user", "assistant"):
            raise DittoError(
                f"{where}: message {position} has unknown role {role!r} "
                "(expected system, user or assistant)"
            )
        try:
            messages.append(Message(role=role, content=item.get("content")))
        except ValidationError:
            raise DittoError(f"{where}: message {position} needs a string 'content'") from None
    return messages


def read_chats(path: str | Path) -> list[tuple[dict, list[Message]]]:
    """Every record of a chat file with its parsed messages; other fields are kept as given."""
    chats = []
    for number, record in iter_jsonl(path):
        if "messages" not in record:
            raise DittoError(f"{path}:{number}: no 'messages' field")
        chats.append((record, parse_messages(record["messages"], f"{path}:{number}")))
    if not chats:
        raise DittoError(f"{path}: no records")
    return chats


def jsonl_line(record: dict) -> str:
    """One record as a line of a JSON-lines file, as every file ditto writes has it."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_jsonl_atomic(path: str | Path, records: Iterable[dict]) -> None:
    write_text_atomic(path, (jsonl_line(record) for record in records))


def write_text_atomic(path: str | Path, text: str | Iterable[str]) -> None:
    """Written to a temporary file beside `path`, then renamed over it: a file at `path` is
    always complete, even if the process is killed while writing."""
    path = Path(path)
    if not path.parent.exists():
        raise DittoError(f"{path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
