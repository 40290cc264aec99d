"""What a study's cells are made of: simulations, training data, trainings and evaluations.

Each step is a frozen value whose `spec` is everything that decides its output, and whose
folder under the study's `--out` is named by a digest of that spec. Two cells (of one study
or of two studies sharing `--out`) that need the same step therefore find the same folder,
and whatever one made the other reuses: the eval set, each model's answers before training,
a supervisor's data, a model trained on the same data. Every folder is an ordinary ditto run
directory (`ditto report`, `ditto annotate serve` and `ditto eval stability` work on it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ditto.simulate.config import SimulateConfig
from ditto.study.models import ModelRef

STEP_FILE = "study_step.json"
"""Written into a step's folder once the step is complete: a re-run skips the step."""


def canonical(value: object) -> object:
    """A JSON-able form of a spec: dataclasses as dicts, sets sorted, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(canonical(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def digest(spec: object) -> str:
    return hashlib.sha256(json.dumps(canonical(spec), sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Simulation:
    """A model writing Ditto data (queries and in-character replies) for the training characters."""

    writer: ModelRef
    config: SimulateConfig
    pool: str = ""
    """Digest of the profiles the simulation draws characters and partners from."""

    def spec(self) -> dict:
        return {"writer": str(self.writer), "config": canonical(dataclasses.replace(self.config, shard=None)),
                "pool": self.pool}

    @property
    def folder(self) -> str:
        return f"simulate/{self.writer.slug}-{digest(self.spec())}"


@dataclass(frozen=True)
class QueryRating:
    """A judge rating every simulated query of a simulation as valid for its role or not."""

    simulation: Simulation

    def spec(self) -> dict:
        return {"simulation": self.simulation.spec()}

    @property
    def folder(self) -> str:
        return f"ratings/{digest(self.spec())}"


@dataclass(frozen=True)
class TrainingData:
    """The SFT file a seed model learns from: a simulation's samples, kept whole or filtered to
    some characters or to the sessions whose every query the judge rated valid."""

    simulation: Simulation
    name: str
    """What the tables call it: 'all', '1/4 of the characters', 'valid queries only'."""
    characters: frozenset[str] | None = None
    valid_only: QueryRating | None = None

    @property
    def filtered(self) -> bool:
        return self.characters is not None or self.valid_only is not None

    def spec(self) -> dict:
        return {"simulation": self.simulation.spec(), "characters": canonical(self.characters),
                "valid_only": self.valid_only.spec() if self.valid_only else None}

    @property
    def folder(self) -> str:
        """Where a filtered file is written (an unfiltered one is the simulation's own)."""
        return f"data/{digest(self.spec())}"


@dataclass(frozen=True)
class Training:
    """A seed model fine-tuned on training data, with the study's training settings."""

    seed: ModelRef
    data: TrainingData
    context: str = ""
    """Digest of the study's training settings: other settings, another folder."""

    def spec(self) -> dict:
        return {"seed": str(self.seed), "data": self.data.spec(), "context": self.context}

    @property
    def folder(self) -> str:
        return f"models/{self.seed.slug}-{digest(self.spec())}"

    @property
    def label(self) -> str:
        return f"{self.seed.label} tuned on {self.data.name} of {self.data.simulation.writer.label}"


Tested = ModelRef | Training


def trained_here(model: ModelRef) -> dict | None:
    """The training spec of a model a study trained (its folder's `study_step.json`), when
    `model` names such a folder: evaluating it is then the same step as evaluating that
    training, so a study that takes a trained model as a seed or supervisor asks nothing twice."""
    marker = Path(model.name) / STEP_FILE
    if model.base_url is not None or not marker.is_file():
        return None
    try:
        spec = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return spec if isinstance(spec, dict) and {"seed", "data", "context"} <= spec.keys() else None


@dataclass(frozen=True)
class Evaluation:
    """A model answering the study's eval set, scored by its judge: as it is (the role prompt
    only), with each character's full profile injected (`with_profile`: supervision
    performance), or after training."""

    model: Tested
    with_profile: bool = False
    context: str = ""
    """Digest of the study's eval set, judge and eval settings: other ones, another folder."""

    def _tested(self) -> tuple[object, str]:
        """What the evaluated model is, and the slug its folder starts with."""
        if isinstance(self.model, Training):
            return self.model.spec(), self.model.seed.slug
        training = trained_here(self.model)
        if training is not None:
            return canonical(training), ModelRef.parse(training["seed"], "seed").slug
        return str(self.model), self.model.slug

    def spec(self) -> dict:
        return {"model": self._tested()[0], "with_profile": self.with_profile, "context": self.context}

    @property
    def folder(self) -> str:
        return f"eval/{self._tested()[1]}{'-profile' if self.with_profile else ''}-{digest(self.spec())}"

    @property
    def label(self) -> str:
        label = self.model.label
        return f"{label} (with profile)" if self.with_profile else label


@dataclass(frozen=True)
class Cell:
    """One row of a study's table: a model evaluated in one role, named by its study's labels."""

    role: str
    """'seed' (before training), 'supervision' (with the profile), 'imitation' (after training)."""
    labels: tuple[tuple[str, str], ...]
    """The study's own columns for this row, in order: (('seed', 'builtin'), ('supervisor', ...))."""
    evaluation: Evaluation

    @property
    def key(self) -> str:
        """What `--shard` hashes: the same cell lands on the same shard on every machine."""
        return json.dumps([self.role, list(self.labels)])

    @property
    def title(self) -> str:
        return f"{self.role}: " + ", ".join(f"{name} {value}" for name, value in self.labels)

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)
