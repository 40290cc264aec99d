"""Profiles on disk: JSON lines, one profile per line, read with errors naming file and line."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from ditto.characters.profile import Profile
from ditto.chat_files import iter_jsonl, write_jsonl_atomic
from ditto.errors import DittoError

BUILTIN_POOL = "builtin"


def builtin_pool_path() -> Path:
    """The curated starter pool shipped inside the package (works offline)."""
    return Path(str(resources.files("ditto") / "data" / "characters.jsonl"))


def read_profiles(path: str | Path) -> list[Profile]:
    """`path` may be a JSON-lines file or 'builtin' for the shipped starter pool."""
    source = builtin_pool_path() if str(path) == BUILTIN_POOL else Path(path)
    profiles = []
    for number, record in iter_jsonl(source):
        try:
            profiles.append(Profile.model_validate(record))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "record"
            raise DittoError(f"{source}:{number}: {_one_line(field)}: {first['msg']}") from None
    if not profiles:
        raise DittoError(f"{source}: no profiles")
    return profiles


def _one_line(text: str) -> str:
    """A field name as given (an unknown one is the file's own text) with line breaks and
    other unprintable characters escaped, so that the error stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def write_profiles(path: str | Path, profiles: Iterable[Profile]) -> None:
    write_jsonl_atomic(path, (p.model_dump(mode="json", exclude_none=True) for p in profiles))
