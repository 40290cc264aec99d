"""What a trained model was made from, so that `ditto run` trains it once and resumes it.

`training_inputs` is everything that decides the weights: the data file's content hash, the
base model (and, for a local one, its files' sizes and times) and every training setting,
with the values of the named recipe (so that a recipe edited in a later version trains again).
`train` writes it into the output folder when training starts (`INPUTS_FILE`) and into its
record when it ends (`TRAIN_RECORD`, written atomically). `train_unless_done` then skips a
finished model of the same inputs, resumes an unfinished one from its newest complete
checkpoint, and starts over when the inputs changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sys
from pathlib import Path

from ditto.chat_files import write_text_atomic
from ditto.models.huggingface import TRAIN_RECORD, local_fingerprint, resolve_source
from ditto.train.config import RECIPES, TrainConfig

INPUTS_FILE = "ditto_train_inputs.json"
NOT_INPUTS = ("output", "data", "progress", "resume", "save_steps", "logging_steps")
"""Settings that never change the trained weights."""


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def training_inputs(config: TrainConfig) -> dict:
    source, gguf_file = resolve_source(config.model)
    settings = {
        name: str(value) if isinstance(value, Path) else value
        for name, value in dataclasses.asdict(config).items()
        if name not in NOT_INPUTS
    }
    if config.recipe:
        settings["recipe_values"] = dataclasses.asdict(RECIPES[config.recipe])
    return {
        "data_sha256": file_digest(Path(config.data)),
        "base_model": config.model,
        "base_files": local_fingerprint(source, gguf_file),
        "settings": json.loads(json.dumps(settings, sort_keys=True, default=list)),
    }


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_started(output: Path, inputs: dict) -> None:
    write_text_atomic(output / INPUTS_FILE, json.dumps(inputs, indent=2, ensure_ascii=False) + "\n")


def finished_inputs(output: Path) -> dict | None:
    """The inputs of the finished model in `output`, or None (none finished, or an older record)."""
    record = _read_json(Path(output) / TRAIN_RECORD)
    return record.get("inputs") if record else None


def started_inputs(output: Path) -> dict | None:
    return _read_json(Path(output) / INPUTS_FILE)


def train_unless_done(config: TrainConfig) -> bool:
    """Train `config`, unless its output already holds a model trained on the same inputs;
    returns whether it trained. A run of the same inputs killed part-way resumes from its
    newest complete checkpoint (one cut off mid-save is passed over); an output made from
    other inputs is replaced."""
    from ditto.train.trainer import complete_checkpoints, train

    output = Path(config.output)
    inputs = training_inputs(config)
    if finished_inputs(output) == inputs:
        return False
    resume = started_inputs(output) == inputs and bool(complete_checkpoints(output))
    if not resume and output.exists() and any(output.iterdir()):
        print(f"note: {output} was trained on other inputs (data, base model or settings); training again",
              file=sys.stderr)
        shutil.rmtree(output)
    train(dataclasses.replace(config, resume=resume))
    return True
