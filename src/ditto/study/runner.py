"""Runs a study's steps with the stages `ditto run` uses, each once, each resumable.

A step is done when its folder holds `study_step.json` (written last); a done step is read,
never run again, so a re-run of a finished study loads no model and sends nothing. A step
killed part-way runs again in the same folder, where its run store answers every request
it had already made, and training resumes from its last checkpoint (`train_unless_done`).
Models are loaded once per (name, URL) and closed before each training, which needs the
memory; a closed model loads again at its next request.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ditto.characters import Profile, read_profiles
from ditto.chat_files import read_identified, read_jsonl, write_jsonl_atomic, write_text_atomic
from ditto.errors import DittoError
from ditto.evaluate.build import build_eval_set
from ditto.evaluate.eval_sets import read_eval_set
from ditto.evaluate.records import METRICS, EvalItem
from ditto.evaluate.run import evaluate
from ditto.evaluate.scoring import format_score
from ditto.evaluate.supervision import with_profiles
from ditto.models import ChatModel, load_model
from ditto.models.huggingface import adapter_base
from ditto.pipeline import split_pool
from ditto.report.collect import Run, read_run
from ditto.shard import Shard
from ditto.simulate.run import simulate
from ditto.store import RunStore
from ditto.study.config import StudyConfig
from ditto.study.models import ModelRef
from ditto.study.query_validity import RatedQuery, rate_queries, valid_sessions
from ditto.study.steps import (
    STEP_FILE,
    Cell,
    Evaluation,
    QueryRating,
    Simulation,
    Training,
    TrainingData,
    canonical,
    digest,
)
from ditto.train.inputs import train_unless_done
from ditto.train.merge_adapter import merge_adapter
from ditto.types import Session

RATINGS_FILE = "ratings.jsonl"


class CellImpossible(DittoError):
    """A cell that cannot be made from what its steps gave (a filter that kept no sample): the
    study goes on without it and says why."""


def is_done(folder: Path) -> bool:
    return (folder / STEP_FILE).is_file()


def mark_done(folder: Path, spec: dict) -> None:
    write_text_atomic(folder / STEP_FILE, json.dumps(canonical(spec), indent=2, ensure_ascii=False) + "\n")


@dataclass
class CellResult:
    cell: Cell
    run: Run
    """The cell's evaluation, read back: scores with their 95% intervals per metric."""
    seconds: float | None
    """None: it was done before this invocation."""


@dataclass
class StudyContext:
    """The characters a study trains and tests on: split once, with the seed, as `ditto run`
    splits them, so every cell learns from the same characters and is tested on the same
    held-out ones."""

    config: StudyConfig
    pool: list[Profile] = field(init=False)
    train_pool: list[Profile] = field(init=False)
    eval_pool: list[Profile] = field(init=False)
    given_items: list[EvalItem] | None = field(init=False)

    def __post_init__(self) -> None:
        settings = self.config.settings
        self.pool = read_profiles(settings.characters)
        self.given_items = settings.eval_items()
        self.train_pool, self.eval_pool = split_pool(self.pool, settings, self.given_items)

    @property
    def train_ids(self) -> list[str]:
        """The training characters' ids, in the pool's order."""
        return list(dict.fromkeys(p.id for p in self.train_pool))

    def simulation(self, writer: ModelRef, **changes: object) -> Simulation:
        """`writer` simulating every training character, with the study's settings and `changes`."""
        config = replace(self.config.simulation, character_ids=frozenset(self.train_ids), **changes)
        return Simulation(writer, config, pool=digest([p.model_dump(mode="json") for p in self.train_pool]))

    def training(self, seed: ModelRef, data: TrainingData) -> Training:
        return Training(seed, data, context=self.config.training_context)

    def evaluation(self, model: ModelRef | Training, with_profile: bool = False) -> Evaluation:
        return Evaluation(model, with_profile, context=self.config.eval_context)


class StepRunner:
    """Makes the steps a study's cells need, in its `--out` folder."""

    def __init__(self, context: StudyContext, *, progress: bool = True) -> None:
        self.context = context
        self.config = context.config
        self.out = Path(self.config.out)
        self.progress = progress
        self._models: dict[ModelRef, ChatModel] = {}
        self._items: list[EvalItem] | None = None

    # --- models -----------------------------------------------------------------------------
    def model(self, ref: ModelRef) -> ChatModel:
        if ref not in self._models:
            self._models[ref] = load_model(ref.name, ref.base_url, self.config.settings.backend)
        return self._models[ref]

    def release(self) -> None:
        """Closes every model (each loads again at its next request)."""
        for model in self._models.values():
            model.close()

    # --- steps ------------------------------------------------------------------------------
    def eval_items(self) -> list[EvalItem]:
        """The study's one eval set: the given file, or built once by the eval teacher from the
        held-out characters."""
        if self._items is not None:
            return self._items
        if self.context.given_items is not None:
            self._items = self.context.given_items
            return self._items
        file = self.config.eval_set_file
        folder = file.parent
        if not is_done(folder):
            build = self.config.eval_build
            held_out = replace(build.config, character_ids=frozenset(p.id for p in self.context.eval_pool))
            with RunStore(folder) as store:
                build_eval_set(self.context.pool, self.model(build.writer), store, file, held_out,
                               train_ids=set(self.context.train_ids), run_dir=folder, progress=self.progress)
            mark_done(folder, build.spec())
        self._items = read_eval_set(file)
        return self._items

    def simulation(self, step: Simulation) -> Path:
        folder = self.out / step.folder
        if not is_done(folder):
            with RunStore(folder) as store:
                # the training characters are each other's partners, as in `ditto run`: no held-out
                # character enters the training data, not even as the source of a contrastive question
                result = simulate(self.context.train_pool, self.model(step.writer), store, folder, step.config,
                                  progress=self.progress)
            if not result.samples:
                raise DittoError(f"{step.writer}: its simulation produced no session; see {folder}/failures.jsonl")
            mark_done(folder, step.spec())
        return folder

    def sessions(self, step: Simulation) -> list[Session]:
        return read_identified(self.simulation(step) / "sessions.jsonl", Session, "session")

    def rating(self, step: QueryRating) -> list[RatedQuery]:
        """The judge's verdict on every query of the simulation (ratings.jsonl)."""
        folder = self.out / step.folder
        if not is_done(folder):
            sessions = self.sessions(step.simulation)
            judge_config = self.config.settings.eval_config().judge
            with RunStore(folder) as store:
                rated = rate_queries(self.model(self.config.judge), store, sessions, judge_config,
                                     prompts_dir=step.simulation.config.prompts_dir, progress=self.progress)
            write_jsonl_atomic(folder / RATINGS_FILE, (canonical(r) for r in rated))
            mark_done(folder, step.spec())
        return [RatedQuery(**record) for _, record in read_jsonl(folder / RATINGS_FILE)]

    def data(self, step: TrainingData) -> Path:
        """The SFT file of `step`: the simulation's own, or its filtered copy."""
        sft = self.simulation(step.simulation) / "sft.jsonl"
        if not step.filtered:
            return sft
        folder = self.out / step.folder
        if not is_done(folder):
            keep_sessions = valid_sessions(self.rating(step.valid_only)) if step.valid_only is not None else None
            samples = [
                sample for _, sample in read_jsonl(sft)
                if (step.characters is None or sample["character_id"] in step.characters)
                and (keep_sessions is None or sample["session_id"] in keep_sessions)
            ]
            if not samples:
                raise CellImpossible(f"no training sample is left in {step.name} ({folder})")
            folder.mkdir(parents=True, exist_ok=True)
            write_jsonl_atomic(folder / "sft.jsonl", samples)
            mark_done(folder, step.spec())
        return folder / "sft.jsonl"

    def trainable(self, seed: ModelRef) -> str:
        """What training starts from: the seed itself, or, for a LoRA adapter (a model ditto
        trained, say, as the second seed of a cross-supervision study), the adapter merged
        into its base once (`ditto train merge`), since an adapter cannot be a base model."""
        if adapter_base(seed.name) is None:
            return seed.name
        merged = self.out / "merged" / seed.slug
        if not is_done(merged):
            self.release()
            merge_adapter(seed.name, merged)
            mark_done(merged, {"adapter": str(seed)})
        return str(merged)

    def training(self, step: Training) -> Path:
        data = self.data(step.data)
        output = self.out / step.folder
        self.release()  # training needs the memory
        settings = replace(self.config.settings, model=self.trainable(step.seed), progress=self.progress)
        train_unless_done(settings.train_config(data, output))
        mark_done(output, step.spec())  # what `trained_here` reads when this model is named again
        return output

    def evaluation(self, step: Evaluation) -> Path:
        folder = self.out / step.folder
        if is_done(folder):
            return folder
        items = self.eval_items()
        tested = ModelRef(str(self.training(step.model))) if isinstance(step.model, Training) else step.model
        if step.with_profile:
            prompts = self.config.simulation.prompts_dir
            items = with_profiles(items, self.context.pool, prompts, self.config.settings.characters)
        model, judge = self.model(tested), self.model(self.config.judge)
        try:
            with RunStore(folder) as store:
                evaluate(model, judge, store, items, folder, self.config.settings.eval_config(step.label),
                         model_name=tested.name, judge_name=str(self.config.judge),
                         eval_file=str(self.config.eval_set_file), with_profile=step.with_profile,
                         progress=self.progress)
        finally:
            if model is not judge and tested.base_url is None:
                model.close()  # a local model's memory, for the next one
        mark_done(folder, step.spec())
        return folder

    # --- cells ------------------------------------------------------------------------------
    def run_cells(self, cells: list[Cell]) -> tuple[dict[str, CellResult], dict[str, str]]:
        """Every cell this machine owns (all of them without `--shard`), one progress line each;
        returns the results and, per cell that cannot be made, why."""
        owned = owned_cells(cells, self.config.shard)
        results: dict[str, CellResult] = {}
        impossible: dict[str, str] = {}
        try:
            for number, cell in enumerate(owned, 1):
                started = time.perf_counter()
                folder = self.out / cell.evaluation.folder
                before = is_done(folder)
                try:
                    self.evaluation(cell.evaluation)
                except CellImpossible as reason:
                    impossible[cell.key] = str(reason)
                    print(f"[{number}/{len(owned)}] {cell.title}: not made: {reason}", file=sys.stderr)
                    continue
                run = read_run(folder)
                seconds = None if before else round(time.perf_counter() - started, 1)
                results[cell.key] = CellResult(cell, run, seconds)
                took = "done before" if seconds is None else f"{seconds:.0f} s"
                print(f"[{number}/{len(owned)}] {cell.title}: {score_line(run)} ({took}; {folder})", file=sys.stderr)
        finally:
            self.release()
        return results, impossible

    def done_results(self, cells: list[Cell], known: dict[str, CellResult]) -> dict[str, CellResult]:
        """`known`, and the other cells already evaluated (by a merged shard), nothing run."""
        return known | {
            cell.key: CellResult(cell, read_run(self.out / cell.evaluation.folder), None)
            for cell in cells if cell.key not in known and is_done(self.out / cell.evaluation.folder)
        }


def owned_cells(cells: list[Cell], shard: Shard | None) -> list[Cell]:
    """The cells this machine makes: all of them, or those `--shard` gives it."""
    return [cell for cell in cells if shard is None or shard.owns(cell.key)]


def score_line(run: Run) -> str:
    scores = run.scores["all"]
    return ", ".join(f"{metric} {format_score(scores[metric])}" for metric in METRICS)
