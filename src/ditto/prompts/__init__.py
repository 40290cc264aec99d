"""Prompt templates: Jinja2 files per language, overridable from a user's folder.

Each template starts with a `{# version: N #}` comment; what a prompt produced records that
version, so results made with an older wording can be told apart. Values are inserted as
data (Jinja does not evaluate text inside a value), so profile or model text cannot break
out of a template. Templates render in Jinja's immutable sandbox: a template from a
`--prompts` folder cannot reach Python internals (`''.__class__.__mro__`) or change the
values it is given; trying is a one-line error naming the template file and line.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ditto.errors import DittoError

PACKAGE_PROMPTS = Path(__file__).parent
VERSION_PATTERN = re.compile(r"\{#\s*version:\s*(\S+)\s*#\}")


@lru_cache(maxsize=16)
def _environment(search_path: tuple[str, ...]) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(list(search_path)),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _search_path(lang: str, prompts_dir: str | Path | None) -> tuple[str, ...]:
    """A user's folder first (its `<lang>/` subfolder, then itself), then the package's
    (its `<lang>/` subfolder for prompts, then its root, where the response schemas are)."""
    paths = []
    if prompts_dir is not None:
        user = Path(prompts_dir)
        if not user.is_dir():
            raise DittoError(f"--prompts {prompts_dir}: no such folder")
        paths += [str(user / lang), str(user)]
    language = lang if (PACKAGE_PROMPTS / lang).is_dir() else "en"
    paths += [str(PACKAGE_PROMPTS / language), str(PACKAGE_PROMPTS)]
    return tuple(paths)


def load_template(name: str, lang: str = "en", prompts_dir: str | Path | None = None) -> Template:
    try:
        return _environment(_search_path(lang, prompts_dir)).get_template(f"{name}.j2")
    except TemplateNotFound:
        raise DittoError(f"prompt template '{name}.j2' not found for language {lang!r}") from None
    except TemplateSyntaxError as exc:
        if _shipped(exc.filename):
            raise  # a bug in a shipped template: keep the traceback
        raise DittoError(f"{exc.filename}:{exc.lineno}: prompt template: {_one_line(exc)}") from None


def _shipped(filename: str | None) -> bool:
    return filename is not None and Path(filename).parent.parent == PACKAGE_PROMPTS


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _failed_at(exc: Exception, template: Template) -> tuple[str, int | None]:
    """The template file and line where rendering failed: Jinja rewrites the traceback so
    that a template's frames carry its file name and line (the innermost is the culprit,
    an included template's when the failure is there)."""
    where: tuple[str, int | None] = (template.filename or template.name or "?", None)
    traceback = exc.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return where


def render(template: str, lang: str = "en", prompts_dir: str | Path | None = None, **values) -> str:
    loaded = load_template(template, lang, prompts_dir)
    try:
        return loaded.render(**values).strip()
    except TemplateError as exc:
        filename, line = _failed_at(exc, loaded)
        if _shipped(loaded.filename) and _shipped(filename) and not isinstance(exc, SecurityError):
            raise  # shipped templates failing on their own values: a bug, keep the traceback
        if isinstance(exc, SecurityError):
            detail = f"refused by the sandbox: {_one_line(exc)}"
        elif isinstance(exc, TemplateNotFound):
            detail = f"includes {exc.name!r}, which is not in the prompt folders"
        else:
            detail = f"cannot be rendered: {_one_line(exc)}"
        at = f"{filename}:{line}" if line else filename
        raise DittoError(f"{at}: prompt template {detail}") from None


def template_version(name: str, lang: str = "en", prompts_dir: str | Path | None = None) -> str:
    template = load_template(name, lang, prompts_dir)
    source = Path(template.filename).read_text(encoding="utf-8")
    match = VERSION_PATTERN.search(source)
    return f"{name}@{match.group(1) if match else 'unversioned'}"
