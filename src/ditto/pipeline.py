"""The whole Ditto method in one function, the first file to read:

    characters -> simulate -> train -> evaluate (seed and tuned) -> report

`run_ditto` splits the character pool into training and held-out characters, lets the
seed model (or a teacher) simulate role-play data for the training ones and write an eval
set from the held-out ones (or reads a given eval set, the official WikiRoleEval file, and
keeps its characters out of training), fine-tunes the seed model on its data, evaluates the
seed and the tuned model with the judge, and writes a report comparing them, with a warning
when the seed model judges itself or wrote its own test. Each stage has its own
run directory under `out`, so a re-run reuses everything already done and a killed run
resumes with the same command.

Every stage setting comes from its stage's config class (`SimulateConfig`, `EvalConfig`,
`JudgeConfig`, `TrainConfig`: the training settings `ditto run` passes on are `TrainConfig`'s
own fields, `_train_setting`); `RunConfig` only chooses models, sizes, and the few values
that differ on the embedded CPU model (`EMBEDDED_MODEL_DEFAULTS`).
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from ditto.characters import Profile, read_profiles
from ditto.characters.io import BUILTIN_POOL
from ditto.cost import StageEstimate
from ditto.errors import DittoError
from ditto.evaluate.build import CandidateDrawer, build_eval_set
from ditto.evaluate.config import EvalConfig, JudgeConfig, Parsing
from ditto.evaluate.eval_sets import read_eval_set
from ditto.evaluate.mtbench import read_questions
from ditto.evaluate.records import EvalItem
from ditto.evaluate.run import evaluate
from ditto.models import BackendConfig, ChatModel, load_model
from ditto.models.builtin import BUILTIN_NAME
from ditto.prompts.role import role_system_prompt
from ditto.settings import DEFAULT_SEED, check_settings, help_of, setting, setting_field
from ditto.simulate.config import SimulateConfig
from ditto.simulate.run import simulate
from ditto.store import RunStore
from ditto.train.config import Method, TrainConfig

TIMINGS_FILE = "timings.jsonl"
EVAL_SET_FILE = "eval_set.jsonl"

EMBEDDED_MODEL_DEFAULTS: dict[str, object] = {
    "langs": ("en",),
    "turns": 3,
    "max_tokens": 512,
    "answer_max_tokens": 96,
    "judge_max_tokens": 256,
    "train_steps": 8,
}
"""The one rule where `ditto run` departs from the stage defaults: with the embedded model
(`--model builtin`, SmolLM2-135M on two CPU cores) it runs English only, shorter dialogues,
shorter evaluated answers and judge answers, and 8 training steps, so that `make demo` ends
in about 15 minutes. Simulated replies get room to end: a reply cut at the limit ends its
session, and this model's replies run from a few words to 700 tokens; at 512 most end, and a
local batch never waits more than 512 steps for its longest reply. Any other model gets the
stage defaults. A value given explicitly always wins."""


def _embedded_help(help: str, name: str, stage_default: object) -> str:
    """Help text that states both defaults of a setting under `EMBEDDED_MODEL_DEFAULTS`."""

    def shown(value: object) -> str:
        return ",".join(value) if isinstance(value, tuple) else str(value)

    embedded = EMBEDDED_MODEL_DEFAULTS[name]
    return f"{help} [default: {shown(stage_default)}; {shown(embedded)} with the embedded model]"


def _stage_setting(cls: type, name: str, prefix: str):
    """A stage's own setting (default, flag, limits and help), for `ditto run` to pass on:
    written once, in the stage's config class."""
    found = setting_field(cls, name)
    return field(default=found.default, metadata={**found.metadata, "help": prefix + found.metadata["help"]})


def _train_setting(name: str):
    return _stage_setting(TrainConfig, name, "Training: ")


@dataclass(frozen=True)
class RunConfig:
    out: Path = setting(Path("runs/ditto"), "Folder for every stage's run directory and the report.", short="-o")
    model: str = BUILTIN_NAME
    """The seed model: 'builtin', a Hugging Face id, a local directory or .gguf, or a served name."""
    base_url: str | None = None
    teacher: str | None = setting(
        None, "Model writing the training data [default: the seed model (self-alignment)]."
    )
    teacher_base_url: str | None = setting(None, "Server of --teacher.")
    eval_teacher: str | None = setting(
        None, "Model writing the eval set (unused with --eval-set) [default: --teacher]. The seed model writing "
        "its own test inflates its scores: prefer a stronger model, or --eval-set."
    )
    eval_teacher_base_url: str | None = setting(None, "Server of --eval-teacher.")
    eval_set: Path | None = setting(
        None, "Eval set to use instead of building one: the official WikiRoleEval jsonl, or a file of "
        "`ditto eval build`. Its characters are kept out of training; items in languages outside --lang are "
        "skipped."
    )
    judge: str | None = setting(None, "Judge model [default: the seed model; the paper used GPT-4].")
    judge_base_url: str | None = setting(None, "Server of --judge.")
    characters: str = BUILTIN_POOL
    train_characters: int = setting(4, "Training characters per language.", min=1)
    eval_characters: int = setting(2, "Held-out characters per language.", min=1)
    langs: tuple[str, ...] | None = setting(
        None, _embedded_help("Languages, comma-separated.", "langs", SimulateConfig.langs), flag="--lang"
    )
    turns: int | None = setting(
        None, _embedded_help("Turns per simulated and eval dialogue.", "turns", SimulateConfig.turns), min=1, max=50
    )
    max_tokens: int | None = setting(
        None, _embedded_help("Most new tokens per simulated query list and reply (a reply cut there ends its "
                             "session).", "max_tokens", SimulateConfig.max_tokens), min=1
    )
    answer_max_tokens: int | None = setting(
        None, _embedded_help("Most new tokens per answer of the evaluated models.", "answer_max_tokens",
                             EvalConfig.max_tokens), min=1
    )
    judge_n: int = setting(JudgeConfig.n, help_of(JudgeConfig, "n"), min=1)
    judge_max_tokens: int | None = setting(
        None, _embedded_help(help_of(JudgeConfig, "max_tokens"), "judge_max_tokens", JudgeConfig.max_tokens), min=1
    )
    parsing: Parsing = _stage_setting(JudgeConfig, "parsing", "")
    recipe: str | None = _train_setting("recipe")
    method: Method | None = _train_setting("method")
    epochs: float | None = _train_setting("epochs")
    train_steps: int | None = setting(
        None, _embedded_help("Training: optimizer steps (with --epochs or a recipe's, whichever comes first).",
                             "train_steps", "the epochs of `ditto train`"), min=1
    )
    lr: float | None = _train_setting("lr")
    max_length: int | None = _train_setting("max_length")
    train_batch_size: int | None = setting(
        None, "Training: " + help_of(TrainConfig, "batch_size"), flag="--train-batch-size", min=1
    )
    mtbench: Path | None = setting(None, "FastChat MT-Bench question.jsonl: also grade its role-play questions.")
    seed: int = setting(DEFAULT_SEED, "Seed of every random choice, sampling and training included.")
    backend: BackendConfig = field(default_factory=BackendConfig)
    progress: bool = True

    def __post_init__(self) -> None:
        check_settings(self)

    @property
    def embedded(self) -> bool:
        """Whether the seed model is the embedded one (whatever serves it)."""
        return self.model == BUILTIN_NAME

    def resolved(self, name: str) -> object:
        """A setting's value: as given, else the embedded model's, else None (the stage default)."""
        value = getattr(self, name)
        if value is None and self.embedded:
            return EMBEDDED_MODEL_DEFAULTS.get(name)
        return value

    def simulate_config(self) -> SimulateConfig:
        return SimulateConfig(**_given(
            langs=self.resolved("langs"), turns=self.resolved("turns"), max_tokens=self.resolved("max_tokens"),
            seed=self.seed,
        ))

    def eval_config(self, label: str | None = None) -> EvalConfig:
        judge = JudgeConfig(**_given(n=self.judge_n, max_tokens=self.resolved("judge_max_tokens"),
                                     parsing=self.parsing, seed=self.seed))
        questions = tuple(read_questions(self.mtbench)) if self.mtbench else None
        return EvalConfig(**_given(max_tokens=self.resolved("answer_max_tokens"), seed=self.seed),
                          judge=judge, mtbench_questions=questions, label=label)

    def train_config(self, data: Path, output: Path) -> TrainConfig:
        steps = self.resolved("train_steps")
        return TrainConfig(**_given(
            model=self.model, data=data, output=output, recipe=self.recipe, method=self.method, epochs=self.epochs,
            max_steps=steps, lr=self.lr, max_length=self.max_length, batch_size=self.train_batch_size,
            seed=self.seed, progress=self.progress,
            save_steps=steps,  # a checkpoint at the last step: a kill before the final save loses nothing
        ))

    def eval_items(self) -> list[EvalItem] | None:
        """The items of `eval_set` in the run's languages (None without one): read before
        any model loads, so that a bad file is one line naming it."""
        if self.eval_set is None:
            return None
        langs = self.simulate_config().langs
        read = read_eval_set(self.eval_set)
        items = [item for item in read if item.lang in langs]
        if not items:
            raise DittoError(f"--eval-set {self.eval_set}: no item in {','.join(langs)} (see --lang)")
        if len(items) < len(read):
            print(f"note: --eval-set: {len(read) - len(items)} of {len(read)} items are in other languages than "
                  f"{','.join(langs)}; skipped", file=sys.stderr)
        return items


def self_evaluation_warnings(config: RunConfig) -> list[str]:
    """What makes this run's scores flatter the seed model: it judging itself, or it writing
    the test it then takes. Printed on stderr and shown in the report (whose own check of each
    run's judge sees the same wording and does not repeat it)."""
    from ditto.report.cautions import self_judge_warning

    warnings = []
    if (config.judge or config.model) == config.model:
        warnings.append(self_judge_warning(config.model, "the seed model"))
    writer = config.eval_teacher or config.teacher or config.model
    if config.eval_set is None and writer == config.model:
        warnings.append(
            f"the eval set is written by the seed model itself ({config.model}): a test written by the model "
            "under test inflates its scores; pass --eval-set (the official WikiRoleEval file) or --eval-teacher "
            "a stronger model"
        )
    return warnings


def _given(**values: object) -> dict:
    """The values that are set; the rest keep their stage's default."""
    return {name: value for name, value in values.items() if value is not None}


@dataclass
class RunResult:
    """What `run_ditto` made: the report, each contender's scores and the stage timings."""

    report: dict[str, Path]
    """report.md, report.html and the charts."""
    scores: dict[str, dict]
    """Per contender ('seed', 'ditto'): the scores of `ditto eval run`."""
    directories: dict[str, Path]
    stage_seconds: dict[str, float]
    trained: bool
    """False when a model trained on the same inputs was already there."""


def tested_ids(items: list[EvalItem], pool: list[Profile]) -> set[str]:
    """The pool's characters that an eval set tests, by id or by name (the official set has
    names only): they must not be trained on."""
    names = {item.label for item in items}
    return {item.character_id for item in items if item.character_id} | {p.id for p in pool if p.name in names}


def split_pool(
    pool: list[Profile], config: RunConfig, eval_items: list[EvalItem] | None = None
) -> tuple[list[Profile], list[Profile]]:
    """Training and held-out profiles: disjoint by character id, drawn with the seed. With a
    given eval set, the training characters are drawn from those it does not test, and none
    is held out for an eval set to build."""
    langs = config.simulate_config().langs
    ids = sorted({p.id for p in pool if p.lang in langs})
    random.Random(f"{config.seed}:split").shuffle(ids)
    n_eval, n_train = config.eval_characters, config.train_characters
    if eval_items is not None:
        tested = tested_ids(eval_items, pool)
        free = [i for i in ids if i not in tested]
        if len(free) < n_train:
            raise DittoError(f"--characters: {len(free)} characters outside --eval-set, fewer than {n_train} to train")
        train_ids = set(free[:n_train])
        return [p for p in pool if p.id in train_ids], []
    if len(ids) < n_eval + n_train:
        raise DittoError(f"--characters: {len(ids)} characters, fewer than {n_train} to train plus {n_eval} held out")
    eval_ids, train_ids = set(ids[:n_eval]), set(ids[n_eval : n_eval + n_train])
    return [p for p in pool if p.id in train_ids], [p for p in pool if p.id in eval_ids]


def planned_eval_items(pool: list[Profile], eval_pool: list[Profile], simulation: SimulateConfig) -> list[EvalItem]:
    """Stand-ins for an eval set still to build, for estimates: one dialogue per held-out
    character, of `turns` queries of a typical length."""
    from ditto.simulate.estimate import QUERY_TOKENS

    drawer = CandidateDrawer(pool)
    return [
        EvalItem(id=p.id, lang=p.lang, label=p.name, summary=p.summary, system=role_system_prompt(p),
                 prompts=["x" * 4 * QUERY_TOKENS] * simulation.turns,
                 candidates=drawer.draw(p, simulation.seed))
        for p in eval_pool if p.lang in simulation.langs
    ]


def training_estimate(stage: str, steps: int | None, what: str = "") -> StageEstimate:
    """A training's line in a dry run: it sends nothing; its cost is the steps."""
    note = f"{steps} steps, no requests" if steps else "training, no requests"
    return StageEstimate(stage, 0, 0, 0, 0, note=f"{what}: {note}" if what else note)


def estimate_run(config: RunConfig) -> list[StageEstimate]:
    """What `run_ditto` will send, stage by stage, before anything runs. An eval set still to
    build counts each held-out character as one dialogue of `turns` queries."""
    from ditto.evaluate.estimate import estimate_evaluation
    from ditto.simulate.estimate import estimate_simulation

    pool = read_profiles(config.characters)
    items = config.eval_items()
    train_pool, eval_pool = split_pool(pool, config, items)
    simulation = config.simulate_config()
    estimates = estimate_simulation(train_pool, simulation, "simulate: ")
    if items is None:
        held_out = replace(simulation, character_ids=frozenset(p.id for p in eval_pool))
        estimates += estimate_simulation(pool, held_out, "eval build: ")
    estimates.append(training_estimate("train", config.resolved("train_steps")))
    if items is None:
        items = planned_eval_items(pool, eval_pool, simulation)
    for label in ("seed", "ditto"):
        estimates += estimate_evaluation(items, config.eval_config(), f"eval {label}: ")
    return estimates


class StageClock:
    """Seconds per stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._started, 2)
        self._started = now


def run_ditto(config: RunConfig) -> RunResult:
    """Runs every stage, each model closed when its last stage ends."""
    from ditto.report import build_report
    from ditto.train.inputs import train_unless_done

    out = Path(config.out)
    pool = read_profiles(config.characters)
    given_items = config.eval_items()
    train_pool, eval_pool = split_pool(pool, config, given_items)
    eval_file = Path(config.eval_set) if config.eval_set else out / EVAL_SET_FILE
    warnings = self_evaluation_warnings(config)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    simulation = config.simulate_config()
    clock = StageClock()

    models: dict[tuple[str, str | None], ChatModel] = {}

    def load(name: str | None, url: str | None) -> ChatModel:
        """One instance per (name, URL): seed, teacher and judge share it by default. A closed
        local model loads again at its next request."""
        key = (name or config.model, url if name else config.base_url)
        if key not in models:
            models[key] = load_model(*key, config.backend)
        return models[key]

    # 1-2. Characters and dialogue simulation by the seed model (or the teacher); the eval set
    #      from held-out characters, written by the eval teacher (default: the same model)
    #      with their profiles, unless one was given.
    teacher = load(config.teacher, config.teacher_base_url)
    writer = None
    if given_items is None:
        writer = load(config.eval_teacher, config.eval_teacher_base_url) if config.eval_teacher else teacher
    items = given_items
    try:
        with RunStore(out / "simulate") as store:
            simulated = simulate(train_pool, teacher, store, out / "simulate", simulation, progress=config.progress)
        if not simulated.samples:
            raise DittoError("simulate: no session was produced; see failures.jsonl in the simulate folder")
        clock.done("simulate")
        if writer is not teacher:
            teacher.close()  # the eval teacher, or training, needs the memory
        if writer is not None:
            with RunStore(out / "eval-build") as store:
                held_out = replace(simulation, character_ids=frozenset(p.id for p in eval_pool))
                items = build_eval_set(pool, writer, store, eval_file, held_out,
                                       train_ids={p.id for p in train_pool}, run_dir=out / "eval-build",
                                       progress=config.progress)
            clock.done("eval build")
    finally:
        for model in (teacher, writer):
            if model is not None:
                model.close()  # training needs the memory (closing twice is harmless)

    # 3. Fine-tuning, the profile removed; skipped when a model of the same inputs exists,
    #    resumed from its last checkpoint when a run was killed part-way.
    tuned = out / "model"
    trained = train_unless_done(config.train_config(Path(simulated.files["sft"]), tuned))
    clock.done("train")

    # 4. Evaluate the seed and the tuned model with the same judge and eval set.
    judge = load(config.judge, config.judge_base_url)
    scores: dict[str, dict] = {}
    run_dirs = []
    try:
        for label, tested, name in (("seed", load(None, None), config.model),
                                    ("ditto", load(str(tuned), None), str(tuned))):
            run_dir = out / f"eval-{label}"
            try:
                with RunStore(run_dir) as store:
                    scores[label] = evaluate(
                        tested, judge, store, items, run_dir, config.eval_config(f"{label} ({Path(name).name})"),
                        model_name=name, judge_name=config.judge or config.model, eval_file=str(eval_file),
                        progress=config.progress,
                    )
            finally:
                if tested is not judge:
                    tested.close()
            run_dirs.append(run_dir)
            clock.done(f"eval {label}")
    finally:
        judge.close()

    # 5. Report.
    report = build_report(run_dirs, out / "report", warnings=warnings)
    clock.done("report")
    # One line per invocation: a re-run answered from the stores must not hide the first run's timings.
    with (out / TIMINGS_FILE).open("a", encoding="utf-8") as timings:
        finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
        timings.write(json.dumps({"finished": finished, "seconds": clock.seconds}) + "\n")
    directories = {"simulate": out / "simulate", "eval set": eval_file, "model": tuned,
                   **{f"eval {label}": d for label, d in zip(scores, run_dirs)}, "report": out / "report"}
    return RunResult(report=report, scores=scores, directories=directories, stage_seconds=clock.seconds,
                     trained=trained)
