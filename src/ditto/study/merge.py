"""`ditto merge TARGET SHARD...` for study folders: the shards' steps joined into one study folder.

Every shard of a study (`--shard i/N`) makes the steps of its own cells in its own `--out`.
A step done on a shard (its `study_step.json` written, or a trained model's
`ditto_train.json`) is copied into the target unless the target has it done already; a step
a shard left unfinished gives its run store to the target's folder, so that finishing it
there asks nothing twice. Then the same study command without `--shard` on the target finds
every cell done and writes the whole document.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ditto.errors import DittoError
from ditto.models.huggingface import TRAIN_RECORD
from ditto.store.merge_runs import merge_runs
from ditto.store.run_store import DATABASE_NAME, LOCK_NAME
from ditto.study.steps import STEP_FILE

STEP_KINDS = ("eval-set", "simulate", "ratings", "data", "merged", "models", "eval")
"""The folders a study's steps live in (steps.py names them)."""


def is_study_folder(path: Path) -> bool:
    return any((Path(path) / kind).is_dir() for kind in STEP_KINDS)


def _finished(folder: Path) -> bool:
    return (folder / STEP_FILE).is_file() or (folder / TRAIN_RECORD).is_file()


@dataclass
class StudyMerge:
    copied: list[str] = field(default_factory=list)
    present: int = 0
    stores_merged: list[str] = field(default_factory=list)


def merge_studies(target: Path, sources: list[Path]) -> StudyMerge:
    target = Path(target)
    for source in sources:
        if not is_study_folder(source):
            raise DittoError(f"ditto merge: {source} is not a study folder (none of {', '.join(STEP_KINDS)} in it)")
        if Path(source).resolve() == target.resolve():
            raise DittoError(f"ditto merge: {source} is the target itself")
    report = StudyMerge()
    for source in map(Path, sources):
        for kind in STEP_KINDS:
            for folder in sorted(p for p in (source / kind).glob("*") if p.is_dir()):
                destination = target / kind / folder.name
                name = f"{kind}/{folder.name}"
                if _finished(destination):
                    report.present += 1
                elif _finished(folder):
                    if destination.exists():
                        shutil.rmtree(destination)
                    shutil.copytree(folder, destination, ignore=shutil.ignore_patterns(LOCK_NAME))
                    report.copied.append(name)
                elif (folder / DATABASE_NAME).is_file():
                    merge_runs(destination, [folder])
                    report.stores_merged.append(name)
    return report
