"""The whole Ditto method in one function, the first file to read:

    characters -> simulate -> train -> evaluate (seed and tuned) -> report

`run_ditto` splits the character pool into training and held-out characters, lets the
seed model simulate role-play data for the training ones, fine-tunes it (LoRA), builds an
eval set from the held-out ones with the teacher, evaluates the seed and the tuned model
with the judge, and writes a report comparing them. Each stage has its own run directory
under `out`, so a re-run reuses everything already done and a killed run resumes.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from ditto.characters import Profile, read_profiles
from ditto.cost import StageEstimate
from ditto.errors import DittoError
from ditto.evaluate.build import build_eval_set, draw_candidates
from ditto.evaluate.judge import JudgeConfig
from ditto.evaluate.mtbench import read_questions
from ditto.evaluate.records import EvalItem
from ditto.evaluate.run import EvalConfig, evaluate
from ditto.models import ChatModel, load_model
from ditto.models.transformers_backend import TRAIN_RECORD
from ditto.simulate.run import SimulateConfig, simulate
from ditto.simulate.system_prompt import role_system_prompt
from ditto.store import RunStore
from ditto.types import SamplingParams

TIMINGS_FILE = "timings.jsonl"


@dataclass
class RunConfig:
    out: Path = Path("runs/ditto")
    model: str = "builtin"
    base_url: str | None = None
    teacher: str | None = None
    """Writes the training data and the eval set; default: the seed model (self-alignment)."""
    teacher_base_url: str | None = None
    judge: str | None = None
    """Default: the seed model. The paper used GPT-4; point this at a strong model."""
    judge_base_url: str | None = None
    characters: str = "builtin"
    train_characters: int = 4
    """Training characters per language."""
    eval_characters: int = 2
    """Held-out characters per language."""
    langs: tuple[str, ...] = ("en",)
    turns: int = 3
    max_tokens: int = 96
    judge_n: int = 3
    judge_max_tokens: int = 128
    train_max_steps: int = 8
    train_batch_size: int = 2
    train_lr: float | None = None
    mtbench: Path | None = None
    seed: int = 0
    concurrency: int = 64
    batch_size: int | None = None
    progress: bool = True
    stage_seconds: dict[str, float] = field(default_factory=dict)


def split_pool(pool: list[Profile], config: RunConfig) -> tuple[list[Profile], list[Profile]]:
    """Training and held-out profiles: disjoint by character id, drawn with the seed."""
    ids = sorted({p.id for p in pool if p.lang in config.langs})
    random.Random(f"{config.seed}:split").shuffle(ids)
    n_eval, n_train = config.eval_characters, config.train_characters
    if len(ids) < n_eval + n_train:
        raise DittoError(f"--characters: {len(ids)} characters, fewer than {n_train} to train plus {n_eval} held out")
    eval_ids, train_ids = set(ids[:n_eval]), set(ids[n_eval : n_eval + n_train])
    return [p for p in pool if p.id in train_ids], [p for p in pool if p.id in eval_ids]


def stage_configs(config: RunConfig) -> tuple[SamplingParams, SimulateConfig, JudgeConfig]:
    """The sampling, simulation and judge settings every stage of a run shares."""
    sampling = SamplingParams(max_tokens=config.max_tokens, temperature=0.7, top_p=0.95, seed=config.seed)
    simulation = SimulateConfig(
        langs=config.langs, turns=config.turns, seed=config.seed,
        query_params=sampling.model_copy(update={"temperature": 0.8}), response_params=sampling,
    )
    judge = JudgeConfig(n=config.judge_n, max_tokens=config.judge_max_tokens, seed=config.seed)
    return sampling, simulation, judge


def estimate_run(config: RunConfig) -> list[StageEstimate]:
    """What `run_ditto` will send, stage by stage, before anything runs. The eval set does
    not exist yet, so each held-out character counts as one dialogue of `turns` queries."""
    from ditto.evaluate.plan import estimate_evaluation
    from ditto.simulate.plan import QUERY_TOKENS, estimate_simulation

    pool = read_profiles(config.characters)
    train_pool, eval_pool = split_pool(pool, config)
    sampling, simulation, judge = stage_configs(config)
    estimates = estimate_simulation(train_pool, simulation, "simulate: ")
    estimates.append(StageEstimate("train", 0, 0, 0, 0, note=f"{config.train_max_steps} LoRA steps, no requests"))
    held_out = replace(simulation, character_ids=frozenset(p.id for p in eval_pool))
    estimates += estimate_simulation(pool, held_out, "eval build: ")
    items = [
        EvalItem(id=p.id, lang=p.lang, label=p.name, summary=p.summary, system=role_system_prompt(p),
                 prompts=["x" * 4 * QUERY_TOKENS] * config.turns, candidates=draw_candidates(p, pool, config.seed))
        for p in eval_pool if p.lang in config.langs
    ]
    questions = read_questions(config.mtbench) if config.mtbench else None
    eval_config = EvalConfig(answer_params=sampling, judge=judge, mtbench_questions=questions)
    for label in ("seed", "ditto"):
        estimates += estimate_evaluation(items, eval_config, f"eval {label}: ")
    return estimates


def _timed(config: RunConfig, stage: str, started: float) -> None:
    config.stage_seconds[stage] = round(time.perf_counter() - started, 2)


def run_ditto(config: RunConfig) -> Path:
    """Runs every stage; returns the path of the HTML report."""
    from ditto.report import build_report
    from ditto.train import TrainConfig, train

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    pool = read_profiles(config.characters)
    train_pool, eval_pool = split_pool(pool, config)
    models: dict[tuple[str, str | None], ChatModel] = {}

    def model(name: str | None, url: str | None) -> ChatModel:
        """One instance per (name, URL): seed, teacher and judge share it by default."""
        key = (name or config.model, url if name else config.base_url)
        if key not in models:
            models[key] = load_model(key[0], key[1], concurrency=config.concurrency, batch_size=config.batch_size)
        return models[key]

    teacher = model(config.teacher, config.teacher_base_url)
    sampling, simulation, judge_config = stage_configs(config)

    # 1-2. Characters and dialogue simulation with the seed model (or the teacher).
    started = time.perf_counter()
    with RunStore(out / "simulate") as store:
        result = simulate(train_pool, teacher, store, out / "simulate", simulation, progress=config.progress)
    if not result.samples:
        raise DittoError("simulate: no session was produced; see failures.jsonl in the simulate folder")
    _timed(config, "simulate", started)

    # 3. Fine-tuning, the profile removed. A finished run is not trained again.
    started = time.perf_counter()
    tuned_dir = out / "model"
    if not (tuned_dir / TRAIN_RECORD).exists():
        train(TrainConfig(
            model=config.model, data=Path(result.files["sft"]), output=tuned_dir, max_steps=config.train_max_steps,
            batch_size=config.train_batch_size, lr=config.train_lr, seed=config.seed, progress=config.progress,
            save_steps=max(config.train_max_steps, 1),
        ))
    _timed(config, "train", started)

    # 4a. The eval set from held-out characters, written by the teacher with their profiles.
    started = time.perf_counter()
    eval_file = out / "eval_set.jsonl"
    with RunStore(out / "eval-build") as store:
        train_ids = {p.id for p in train_pool}
        held_out = replace(simulation, character_ids=frozenset(p.id for p in eval_pool))
        items = build_eval_set(pool, teacher, store, eval_file, held_out, train_ids=train_ids,
                               run_dir=out / "eval-build", progress=config.progress)
    _timed(config, "eval build", started)

    # 4b. Evaluate the seed and the tuned model with the same judge.
    judge = model(config.judge, config.judge_base_url)
    questions = read_questions(config.mtbench) if config.mtbench else None
    contenders = [("seed", model(None, None), config.model), ("ditto", model(str(tuned_dir), None), str(tuned_dir))]
    run_dirs = []
    for label, tested, name in contenders:
        started = time.perf_counter()
        run_dir = out / f"eval-{label}"
        eval_config = EvalConfig(answer_params=sampling, judge=judge_config, mtbench_questions=questions,
                                 label=f"{label} ({Path(name).name})")
        with RunStore(run_dir) as store:
            evaluate(tested, judge, store, items, run_dir, eval_config, model_name=name,
                     judge_name=config.judge or config.model, eval_file=str(eval_file), progress=config.progress)
        run_dirs.append(run_dir)
        _timed(config, f"eval {label}", started)

    # 5. Report.
    started = time.perf_counter()
    paths = build_report(run_dirs, out / "report")
    _timed(config, "report", started)
    # One line per invocation: a re-run answered from the stores must not hide the first
    # run's timings.
    with (out / TIMINGS_FILE).open("a", encoding="utf-8") as timings:
        finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
        timings.write(json.dumps({"finished": finished, "seconds": config.stage_seconds}) + "\n")
    return Path(paths["html"])
