"""The whole Ditto method in one function, the first file to read:

    characters -> simulate -> train -> evaluate (seed and tuned) -> report

`run_ditto` splits the character pool into training and held-out characters, lets the
seed model (or a teacher) simulate role-play data for the training ones and write an eval
set from the held-out ones, fine-tunes the seed model on its data, evaluates the seed and
the tuned model with the judge, and writes a report comparing them. Each stage has its own
run directory under `out`, so a re-run reuses everything already done and a killed run
resumes with the same command.

Every stage setting comes from its stage's config class (`SimulateConfig`, `EvalConfig`,
`JudgeConfig`, `TrainConfig`); `RunConfig` only chooses models, sizes, and the few values
that differ on the embedded CPU model (`EMBEDDED_MODEL_DEFAULTS`).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from ditto.characters import Profile, read_profiles
from ditto.characters.io import BUILTIN_POOL
from ditto.cost import StageEstimate
from ditto.errors import DittoError
from ditto.evaluate.build import build_eval_set, draw_candidates
from ditto.evaluate.config import EvalConfig, JudgeConfig
from ditto.evaluate.mtbench import read_questions
from ditto.evaluate.records import EvalItem
from ditto.evaluate.run import evaluate
from ditto.models import BackendConfig, ChatModel, load_model
from ditto.models.builtin import BUILTIN_NAME
from ditto.prompts.role import role_system_prompt
from ditto.settings import DEFAULT_SEED, check_settings, help_of, setting
from ditto.simulate.config import SimulateConfig
from ditto.simulate.run import simulate
from ditto.store import RunStore

TIMINGS_FILE = "timings.jsonl"
EVAL_SET_FILE = "eval_set.jsonl"

EMBEDDED_MODEL_DEFAULTS: dict[str, object] = {
    "langs": ("en",),
    "turns": 3,
    "max_tokens": 96,
    "judge_max_tokens": 128,
    "train_steps": 8,
}
"""The one rule where `ditto run` departs from the stage defaults: with the embedded model
(`--model builtin`, SmolLM2-135M on two CPU cores) it runs English only, shorter dialogues,
shorter answers and 8 LoRA steps, so that `make demo` ends in about 15 minutes. Any other
model gets the stage defaults. A value given explicitly always wins."""


def _embedded_help(help: str, name: str, stage_default: object) -> str:
    """Help text that states both defaults of a setting under `EMBEDDED_MODEL_DEFAULTS`."""

    def shown(value: object) -> str:
        return ",".join(value) if isinstance(value, tuple) else str(value)

    embedded = EMBEDDED_MODEL_DEFAULTS[name]
    return f"{help} [default: {shown(stage_default)}; {shown(embedded)} with the embedded model]"


@dataclass(frozen=True)
class RunConfig:
    out: Path = setting(Path("runs/ditto"), "Folder for every stage's run directory and the report.", short="-o")
    model: str = BUILTIN_NAME
    """The seed model: 'builtin', a Hugging Face id, a local directory or .gguf, or a served name."""
    base_url: str | None = None
    teacher: str | None = setting(
        None, "Model writing the training data and the eval set [default: the seed model (self-alignment)]."
    )
    teacher_base_url: str | None = setting(None, "Server of --teacher.")
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
        None, _embedded_help("Most new tokens per query list, simulated reply and evaluated answer.", "max_tokens",
                             SimulateConfig.max_tokens), min=1
    )
    judge_n: int = setting(JudgeConfig.n, help_of(JudgeConfig, "n"), min=1)
    judge_max_tokens: int | None = setting(
        None, _embedded_help(help_of(JudgeConfig, "max_tokens"), "judge_max_tokens", JudgeConfig.max_tokens), min=1
    )
    train_steps: int | None = setting(
        None, _embedded_help("Optimizer steps of training.", "train_steps", "the epochs of `ditto train`"), min=1
    )
    train_batch_size: int | None = setting(None, "Training batch per device [default: as `ditto train`].", min=1)
    train_lr: float | None = setting(None, "Peak learning rate [default: as `ditto train`].", above=0.0)
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
        judge = JudgeConfig(**_given(n=self.judge_n, max_tokens=self.resolved("judge_max_tokens"), seed=self.seed))
        questions = tuple(read_questions(self.mtbench)) if self.mtbench else None
        return EvalConfig(**_given(max_tokens=self.resolved("max_tokens"), seed=self.seed),
                          judge=judge, mtbench_questions=questions, label=label)

    def train_config(self, data: Path, output: Path):
        from ditto.train import TrainConfig

        steps = self.resolved("train_steps")
        return TrainConfig(**_given(
            model=self.model, data=data, output=output, max_steps=steps, batch_size=self.train_batch_size,
            lr=self.train_lr, seed=self.seed, progress=self.progress,
            save_steps=steps,  # a checkpoint at the last step: a kill before the final save loses nothing
        ))


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


def split_pool(pool: list[Profile], config: RunConfig) -> tuple[list[Profile], list[Profile]]:
    """Training and held-out profiles: disjoint by character id, drawn with the seed."""
    langs = config.simulate_config().langs
    ids = sorted({p.id for p in pool if p.lang in langs})
    random.Random(f"{config.seed}:split").shuffle(ids)
    n_eval, n_train = config.eval_characters, config.train_characters
    if len(ids) < n_eval + n_train:
        raise DittoError(f"--characters: {len(ids)} characters, fewer than {n_train} to train plus {n_eval} held out")
    eval_ids, train_ids = set(ids[:n_eval]), set(ids[n_eval : n_eval + n_train])
    return [p for p in pool if p.id in train_ids], [p for p in pool if p.id in eval_ids]


def estimate_run(config: RunConfig) -> list[StageEstimate]:
    """What `run_ditto` will send, stage by stage, before anything runs. The eval set does
    not exist yet, so each held-out character counts as one dialogue of `turns` queries."""
    from ditto.evaluate.estimate import estimate_evaluation
    from ditto.simulate.estimate import QUERY_TOKENS, estimate_simulation

    pool = read_profiles(config.characters)
    train_pool, eval_pool = split_pool(pool, config)
    simulation = config.simulate_config()
    estimates = estimate_simulation(train_pool, simulation, "simulate: ")
    held_out = replace(simulation, character_ids=frozenset(p.id for p in eval_pool))
    estimates += estimate_simulation(pool, held_out, "eval build: ")
    steps = config.resolved("train_steps")
    estimates.append(StageEstimate("train", 0, 0, 0, 0,
                                   note=f"{steps} steps, no requests" if steps else "training, no requests"))
    items = [
        EvalItem(id=p.id, lang=p.lang, label=p.name, summary=p.summary, system=role_system_prompt(p),
                 prompts=["x" * 4 * QUERY_TOKENS] * simulation.turns, candidates=draw_candidates(p, pool, config.seed))
        for p in eval_pool if p.lang in simulation.langs
    ]
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
    out.mkdir(parents=True, exist_ok=True)
    pool = read_profiles(config.characters)
    train_pool, eval_pool = split_pool(pool, config)
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
    #      from held-out characters, written by the same model with their profiles.
    teacher = load(config.teacher, config.teacher_base_url)
    try:
        with RunStore(out / "simulate") as store:
            simulated = simulate(train_pool, teacher, store, out / "simulate", simulation, progress=config.progress)
        if not simulated.samples:
            raise DittoError("simulate: no session was produced; see failures.jsonl in the simulate folder")
        clock.done("simulate")
        with RunStore(out / "eval-build") as store:
            held_out = replace(simulation, character_ids=frozenset(p.id for p in eval_pool))
            items = build_eval_set(pool, teacher, store, out / EVAL_SET_FILE, held_out,
                                   train_ids={p.id for p in train_pool}, run_dir=out / "eval-build",
                                   progress=config.progress)
        clock.done("eval build")
    finally:
        teacher.close()  # training needs the memory

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
                        model_name=name, judge_name=config.judge or config.model, eval_file=str(out / EVAL_SET_FILE),
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
    report = build_report(run_dirs, out / "report")
    clock.done("report")
    # One line per invocation: a re-run answered from the stores must not hide the first run's timings.
    with (out / TIMINGS_FILE).open("a", encoding="utf-8") as timings:
        finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
        timings.write(json.dumps({"finished": finished, "seconds": clock.seconds}) + "\n")
    directories = {"simulate": out / "simulate", "eval set": out / EVAL_SET_FILE, "model": tuned,
                   **{f"eval {label}": d for label, d in zip(scores, run_dirs)}, "report": out / "report"}
    return RunResult(report=report, scores=scores, directories=directories, stage_seconds=clock.seconds,
                     trained=trained)
