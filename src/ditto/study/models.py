"""`MODEL[@URL]`: how a study names each model it uses, and the folder names made from them.

A study compares several models (supervisors, seed models, a judge), each of which may be
local (the builtin model, a Hugging Face id, a trained directory) or served (a vLLM server);
one option value per model keeps them apart: `--supervisor Qwen/Qwen2-72B-Instruct@http://gpu1:8000/v1`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ditto.errors import DittoError

URL_START = re.compile(r"@(https?://)")
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ModelRef:
    name: str
    """What `load_model` takes: 'builtin', a Hugging Face id, a local path, or a served name."""
    base_url: str | None = None
    """Server(s) of `name`, comma-separated; None: loaded here."""

    @classmethod
    def parse(cls, text: str, option: str) -> ModelRef:
        """'NAME' or 'NAME@http(s)://...': the URL starts at the last '@' followed by a scheme,
        so a name may itself hold '@' (an Ollama tag, a path)."""
        matches = list(URL_START.finditer(text))
        name, url = (text[: matches[-1].start()], text[matches[-1].start() + 1 :]) if matches else (text, None)
        if not name.strip():
            raise DittoError(f"{option} {text}: expected MODEL or MODEL@URL, e.g. builtin or "
                             "Qwen/Qwen2-7B-Instruct@http://localhost:8000/v1")
        return cls(name.strip(), url.strip() if url else None)

    @property
    def label(self) -> str:
        """How tables and figures name it: a local directory by its last two path parts (a
        trained model is `<run>/model`), anything else by its name."""
        path = Path(self.name)
        if path.is_dir():
            return "/".join(path.resolve().parts[-2:])
        return self.name

    @property
    def slug(self) -> str:
        """A folder name for what this model makes: readable, and unique per (name, URL)."""
        digest = hashlib.sha256(str(self).encode()).hexdigest()[:6]
        readable = UNSAFE.sub("_", self.label).strip("_")[-40:] or "model"
        return f"{readable}-{digest}"

    def __str__(self) -> str:
        return f"{self.name}@{self.base_url}" if self.base_url else self.name
