"""The settings every study shares: `ditto run`'s own (`RunConfig`), plus the judge, the eval
set and its writer, the shard, and the digests that name the folders they decide.

The stage settings are resolved once, from the first seed model: with the embedded model a
study takes `EMBEDDED_MODEL_DEFAULTS` (as `ditto run` does), and every cell then uses the same
values, so that a seed model that is a trained directory does not fall back to the stage
defaults and train for epochs where the builtin one trained for 8 steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ditto.errors import DittoError
from ditto.pipeline import EMBEDDED_MODEL_DEFAULTS, RunConfig
from ditto.shard import Shard
from ditto.simulate.config import SimulateConfig
from ditto.study.models import ModelRef
from ditto.study.steps import Simulation, canonical, digest
from ditto.train.inputs import file_digest

TRAINING_SETTINGS = ("recipe", "method", "epochs", "train_steps", "lr", "max_length", "train_batch_size", "seed")


@dataclass(frozen=True)
class StudyConfig:
    out: Path
    settings: RunConfig
    """Characters, sizes, tokens, judge and training settings, resolved (module doc)."""
    judge: ModelRef
    eval_teacher: ModelRef
    """Writes the eval set from held-out characters, once, unless `eval_set` is given."""
    eval_set: Path | None = None
    shard: Shard | None = None

    @classmethod
    def create(cls, out: Path, settings: RunConfig, *, first_seed: ModelRef, judge: ModelRef | None,
               eval_teacher: ModelRef | None, default_writer: ModelRef, shard: Shard | None = None) -> StudyConfig:
        """`settings` as `ditto run` parses them; the judge defaults to the first seed model
        (as in `ditto run`, with its warning) and the eval teacher to `default_writer`."""
        settings = replace(settings, model=first_seed.name)
        resolved = replace(settings, **{name: settings.resolved(name) for name in EMBEDDED_MODEL_DEFAULTS})
        config = cls(out=Path(out), settings=resolved, judge=judge or first_seed,
                     eval_teacher=eval_teacher or default_writer, eval_set=settings.eval_set, shard=shard)
        if shard is not None and config.eval_set is None and not config.eval_set_file.is_file():
            raise DittoError(
                f"--shard {shard}: every machine must test on the same eval set: pass --eval-set FILE (write it once "
                "with `ditto eval build`, or take the eval_set.jsonl an unsharded start of this study built)"
            )
        return config

    @property
    def simulation(self) -> SimulateConfig:
        return self.settings.simulate_config()

    @property
    def eval_build(self) -> Simulation:
        """The eval set's own simulation: the eval teacher over the held-out characters (their
        ids are filled in when the pool is split, which the pool and the split's sizes decide)."""
        characters = Path(self.settings.characters)
        pool = {"characters": file_digest(characters) if characters.is_file() else self.settings.characters,
                "train": self.settings.train_characters, "eval": self.settings.eval_characters}
        return Simulation(self.eval_teacher, self.simulation, pool=digest(pool))

    @property
    def eval_set_file(self) -> Path:
        if self.eval_set is not None:
            return Path(self.eval_set)
        return self.out / "eval-set" / f"{self.eval_teacher.slug}-{digest(self.eval_build.spec())}" / "eval_set.jsonl"

    @property
    def training_context(self) -> str:
        return digest({name: getattr(self.settings, name) for name in TRAINING_SETTINGS})

    @property
    def eval_context(self) -> str:
        """The judge, the eval set (a given file by its bytes, a built one by what builds it)
        and the eval settings."""
        source = file_digest(self.eval_set) if self.eval_set is not None else self.eval_build.spec()
        eval_config = replace(self.settings.eval_config(), label=None)
        return digest({"judge": str(self.judge), "eval_set": source, "eval": canonical(eval_config)})
