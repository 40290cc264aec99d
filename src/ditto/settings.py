"""Settings declared once: a stage's dataclass field carries its default, its help text, its
command-line flag and its limits.

The library reads the defaults from the dataclass, the CLI builds its options from the same
fields (`ditto.cli.options.setting_option`), and `ditto run` builds its stage settings from
the same classes, so a library user, a CLI user and `ditto run` get the same data. The
pattern is TRL's: dataclass configs whose help text feeds the argument parser.

    turns: int = setting(5, "Turns per session.", min=1, max=50)

`check_settings` enforces the limits for library callers too, with the CLI flag in the
message, so a bad value is one line naming the option wherever it comes from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ditto.errors import DittoError

DEFAULT_SEED = 0
"""The seed of every random choice (selection, pairing, sampling, training) unless given."""


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    flag: str | None = None,
    short: str | None = None,
    min: float | None = None,
    max: float | None = None,
    above: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with its help text, flag (default: `--field-name`) and limits
    (`min`/`max` inclusive, `above` exclusive)."""
    metadata = {
        "help": help, "flag": flag, "short": short, "min": min, "max": max, "above": above, "choices": choices,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def setting_field(cls: type, name: str) -> dataclasses.Field:
    try:
        return next(f for f in dataclasses.fields(cls) if f.name == name)
    except StopIteration:
        raise KeyError(f"{cls.__name__} has no setting {name!r}") from None


def default_of(cls: type, name: str) -> Any:
    """The field's default (a fresh one for a factory default)."""
    found = setting_field(cls, name)
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    if found.default is dataclasses.MISSING:
        raise KeyError(f"{cls.__name__}.{name} has no default")
    return found.default


def help_of(cls: type, name: str) -> str:
    return setting_field(cls, name).metadata.get("help", "")


def flag_of(cls: type, name: str) -> str:
    """The command-line flag of a setting: `--field-name` unless the field names another."""
    return setting_field(cls, name).metadata.get("flag") or "--" + name.replace("_", "-")


def check_settings(config: Any) -> None:
    """Raise a DittoError naming the flag of the first setting outside its limits."""
    for found in dataclasses.fields(config):
        value = getattr(config, found.name)
        meta = found.metadata
        if value is None or not meta:
            continue
        flag = meta.get("flag") or "--" + found.name.replace("_", "-")
        if meta.get("choices") is not None and value not in meta["choices"]:
            raise DittoError(f"{flag} {value}: must be one of {', '.join(meta['choices'])}")
        if meta.get("min") is not None and value < meta["min"]:
            raise DittoError(f"{flag} {value}: must be at least {meta['min']}")
        if meta.get("above") is not None and value <= meta["above"]:
            raise DittoError(f"{flag} {value}: must be above {meta['above']}")
        if meta.get("max") is not None and value > meta["max"]:
            raise DittoError(f"{flag} {value}: must be at most {meta['max']}")
