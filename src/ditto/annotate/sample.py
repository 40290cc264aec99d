"""What people label: a seeded sample of judged turns, or of simulated queries.

The sample is a pure function of the run's file, its size and the seed, so that several
annotators (or one who restarts the page) label the same turns without a file passed
around. It is drawn in strata (language x query kind: role-specific or out of the
character's scope), taking from each stratum in turn, so that even a small sample covers
both languages and both kinds wherever the run has them; a judge can be good at one and
poor at the other, and an agreement computed on one kind alone would hide that.

- task "turns" (an eval run directory's judged.jsonl): one unit is one judged turn, with
  the questions the judge answered about it (consistency only when the item has candidates);
- task "queries" (a simulation run directory's sessions.jsonl): one unit is one simulated
  query, labelled valid or not for the role, half role-specific and half contrastive where
  the run has enough of each: the paper's query-quality study (its section 5.3).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ditto.chat_files import read_identified
from ditto.errors import DittoError
from ditto.evaluate.agreement import read_judged_items
from ditto.evaluate.candidates import split_candidate
from ditto.evaluate.judge import judged_metrics
from ditto.evaluate.records import JUDGED_FILE
from ditto.types import Session

Task = Literal["turns", "queries"]
TASKS: tuple[Task, ...] = ("turns", "queries")
SESSIONS_FILE = "sessions.jsonl"  # written by `ditto simulate` (simulate/run.py)
TASK_FILES: dict[str, str] = {"turns": JUDGED_FILE, "queries": SESSIONS_FILE}
DEFAULT_SAMPLE = 100  # about an hour of labelling (docs/judge-reliability.md)
DEFAULT_SEED = 0
KINDS = {0: "role_specific", 1: "contrastive"}  # a turn's rejection label -> the kind of its query


@dataclass(frozen=True)
class Candidate:
    name: str
    summary: str


@dataclass(frozen=True)
class Unit:
    """One thing to label and everything the page shows about it."""

    item: str
    turn: int
    lang: str
    kind: str
    """role_specific or contrastive."""
    character: str
    about: str
    """The character's summary (turns) or description (queries)."""
    question: str
    metrics: tuple[str, ...]
    """What is asked about it, in the page's order."""
    reply: str = ""
    evidence: str = ""
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def key(self) -> tuple[str, int]:
        return self.item, self.turn


def turn_units(path: Path) -> list[Unit]:
    """Every judged turn of a judged.jsonl, in file order."""
    units = []
    for item in read_judged_items(path):
        metrics = judged_metrics(item)
        candidates = tuple(Candidate(*split_candidate(line)) for line in item.candidates)
        for turn, reply in enumerate(item.answers):
            label = item.rejection_labels[turn] if turn < len(item.rejection_labels) else 0
            units.append(Unit(
                item=item.id, turn=turn, lang=item.lang, kind=KINDS.get(label, "role_specific"),
                character=item.label, about=item.summary, question=item.prompts[turn], reply=reply,
                evidence=item.evidence[turn] if turn < len(item.evidence) else "",
                candidates=candidates, metrics=metrics,
            ))
    return units


def query_units(path: Path) -> list[Unit]:
    """Every simulated query of a sessions.jsonl, in file order; errors name file and line."""
    units = []
    for session in read_identified(path, Session, "session"):
        units += [
            Unit(item=session.id, turn=turn, lang=session.lang, kind=t.kind, character=session.name,
                 about=session.description, question=t.query, metrics=("query_valid",))
            for turn, t in enumerate(session.turns)
        ]
    return units


def task_file(run_dir: Path, task: Task) -> Path:
    """The file of `run_dir` that `task` labels; a one-line error when it is not there."""
    path = Path(run_dir) / TASK_FILES[task]
    if not path.is_file():
        made_by = "ditto eval run --out" if task == "turns" else "ditto simulate --out"
        raise DittoError(f"{path}: no such file; --task {task} labels the {TASK_FILES[task]} of a run directory "
                         f"made by `{made_by} DIR`")
    return path


def all_units(run_dir: Path, task: Task) -> list[Unit]:
    path = task_file(run_dir, task)
    units = turn_units(path) if task == "turns" else query_units(path)
    if not units:
        raise DittoError(f"{path}: nothing to label")
    return units


def draw_sample(units: Sequence[Unit], size: int, seed: int) -> list[Unit]:
    """`size` units (all of them when there are fewer), drawn stratum by stratum, then put in a
    seeded order so that an annotator does not label one character's turns in a row."""
    rng = random.Random(seed)
    strata: dict[tuple[str, str], list[Unit]] = {}
    for unit in units:
        strata.setdefault((unit.lang, unit.kind), []).append(unit)
    queues = []
    for key in sorted(strata):
        members = list(strata[key])
        rng.shuffle(members)
        queues.append(members)
    picked: list[Unit] = []
    while len(picked) < size and any(queues):
        for queue in queues:
            if queue and len(picked) < size:
                picked.append(queue.pop())
    rng.shuffle(picked)
    return picked


def annotation_sample(run_dir: Path, task: Task, size: int = DEFAULT_SAMPLE, seed: int = DEFAULT_SEED) -> list[Unit]:
    """The sample of `run_dir` every annotator sees for these arguments."""
    if size < 1:
        raise DittoError(f"--sample {size}: must be at least 1")
    return draw_sample(all_units(run_dir, task), size, seed)
