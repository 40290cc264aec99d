from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console

from ditto.characters import read_profiles
from ditto.chat_files import read_jsonl
from ditto.cli import options
from ditto.cli.eval_agreement import agreement_command
from ditto.cli.eval_score import score_command
from ditto.cli.eval_stability import stability_command
from ditto.cli.options import judge_config, setting_option
from ditto.cost import print_estimates
from ditto.errors import DittoError
from ditto.evaluate.answers import read_answers
from ditto.evaluate.build import build_eval_set, held_out
from ditto.evaluate.config import EvalConfig, JudgeConfig
from ditto.evaluate.estimate import estimate_evaluation
from ditto.evaluate.eval_sets import read_eval_set
from ditto.evaluate.mtbench import read_questions
from ditto.evaluate.run import evaluate, judge_answers
from ditto.evaluate.supervision import with_profiles
from ditto.models import load_model
from ditto.models.builtin import BUILTIN_NAME
from ditto.shard import Shard
from ditto.simulate.config import SimulateConfig
from ditto.simulate.estimate import estimate_simulation
from ditto.store import RunStore

eval_app = typer.Typer(help="WikiRoleEval-compatible evaluation: build sets, run the judge, score.",
                       no_args_is_help=True)


eval_app.command("score")(score_command)
eval_app.command("agreement")(agreement_command)
eval_app.command("stability")(stability_command)


def training_character_ids(path: Path | None) -> set[str]:
    if path is None:
        return set()
    return {str(r["character_id"]) for _, r in read_jsonl(path) if r.get("character_id") is not None}


@eval_app.command("build")
def build_command(
    teacher: str = typer.Option(BUILTIN_NAME, "--teacher", help="Model writing prompts and reference answers."),
    teacher_base_url: str = typer.Option(None, "--teacher-base-url", help="Server of --teacher, if served."),
    characters: str = options.CHARACTERS,
    out: Path = typer.Option(..., "--out", "-o", help="Eval set to write (JSON lines, WikiRoleEval layout)."),
    exclude_train: Path = typer.Option(
        None, "--exclude-train", help="SFT data (sft.jsonl) whose characters are refused."
    ),
    limit: int = setting_option(SimulateConfig, "limit"),
    lang: str = setting_option(SimulateConfig, "langs"),
    turns: int = setting_option(SimulateConfig, "turns", help="Turns per dialogue."),
    seed: int = setting_option(SimulateConfig, "seed", help="Seed of selection, pairing, sampling and candidates."),
    max_tokens: int = setting_option(SimulateConfig, "max_tokens"),
    prompts: Path = setting_option(SimulateConfig, "prompts_dir"),
    run: Path = typer.Option(None, "--run", help="Run directory (default: runs/<out name>)."),
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    structured: str = options.STRUCTURED,
    no_progress: bool = options.NO_PROGRESS,
    shard: str = options.SHARD,
    dry_run: bool = options.DRY_RUN,
) -> None:
    """Build an eval set from held-out characters with the simulation pipeline."""
    pool = read_profiles(characters)
    train_ids = training_character_ids(exclude_train)
    config = SimulateConfig(
        limit=limit, langs=options.split_list(lang), turns=turns, seed=seed, max_tokens=max_tokens,
        prompts_dir=str(prompts) if prompts else None, shard=Shard.parse(shard),
    )
    if dry_run:
        held_out_ids = frozenset(p.id for p in held_out(pool, train_ids)[0])
        print_estimates(estimate_simulation(pool, replace(config, character_ids=held_out_ids), "eval build: "))
        return
    run_dir = run or options.default_run_dir(out)
    with RunStore(run_dir) as store:
        backend = options.backend_config(concurrency, timeout, max_retries, batch_size, structured)
        model = load_model(teacher, teacher_base_url, backend)
        try:
            items = build_eval_set(pool, model, store, out, config, train_ids=train_ids, run_dir=run_dir,
                                   progress=not no_progress)
        finally:
            model.close()
    Console(stderr=True).print(f"wrote {len(items)} eval dialogues to {out}")




def select_shard(items: list, shard: str, source: Path, key=lambda item: item.id) -> list:
    if (selected := Shard.parse(shard)) is not None:
        items = selected.select(items, key)
        if not items:
            raise DittoError(f"--shard {shard}: no dialogue of {source} falls in this shard")
    return items


def print_scores(scores: dict, out: Path) -> None:
    overall = scores["all"]
    Console(stderr=True).print(
        f"consistency {overall['consistency']}, knowledge {overall['knowledge']}, rejection {overall['rejection']} "
        f"over {overall.get('turns', '?')} turns; results in {out}"
    )


JUDGE = typer.Option(BUILTIN_NAME, "--judge", help="Judge model (the paper used GPT-4).")
JUDGE_BASE_URL = typer.Option(None, "--judge-base-url", help="Server of --judge, if served.")
JUDGE_PROMPTS = setting_option(JudgeConfig, "prompts_dir", help="Folder of templates overriding the built-in ones.")


@eval_app.command("run")
def run_command(
    eval_file: Path = typer.Option(..., "--eval", "-e", help="Eval set (ours or the official WikiRoleEval file)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory for answers, judgements and scores."),
    model: str = options.MODEL,
    base_url: str = options.BASE_URL,
    judge: str = JUDGE,
    judge_base_url: str = JUDGE_BASE_URL,
    judge_n: int = setting_option(JudgeConfig, "n"),
    judge_temperature: float = setting_option(JudgeConfig, "temperature"),
    judge_max_tokens: int = setting_option(JudgeConfig, "max_tokens"),
    judge_max_reasks: int = setting_option(JudgeConfig, "max_reasks"),
    parsing: str = setting_option(JudgeConfig, "parsing"),
    mtbench: Path = typer.Option(
        None, "--mtbench", help="FastChat MT-Bench question.jsonl: also answer its role-play questions and grade "
        "them as FastChat does (answers at temperature 0.7, one greedy [[rating]] per turn).",
    ),
    with_profile: bool = typer.Option(
        False, "--with-profile", help="Answer with each character's full profile in the system prompt, as the "
        "simulation does (supervision performance, the paper's Table 3); needs --characters.",
    ),
    characters: str = typer.Option(
        None, "--characters", "-c", help="Profiles for --with-profile (JSON lines, or 'builtin')."
    ),
    limit: int = typer.Option(None, "--limit", min=1, help="Evaluate only the first N dialogues."),
    label: str = setting_option(EvalConfig, "label"),
    max_tokens: int = setting_option(EvalConfig, "max_tokens"),
    temperature: float = setting_option(EvalConfig, "temperature"),
    top_p: float = setting_option(EvalConfig, "top_p"),
    repetition_penalty: float = setting_option(EvalConfig, "repetition_penalty"),
    seed: int = setting_option(EvalConfig, "seed", help="Seed of the answers' and the judge's sampling."),
    prompts: Path = JUDGE_PROMPTS,
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    structured: str = options.STRUCTURED,
    no_progress: bool = options.NO_PROGRESS,
    shard: str = options.SHARD,
    dry_run: bool = options.DRY_RUN,
) -> None:
    """Answer the eval prompts as multi-turn chats, judge every turn, score."""
    if with_profile and not characters:
        raise DittoError("--with-profile needs --characters FILE (the profiles of the eval set's characters)")
    if characters and not with_profile:
        raise DittoError("--characters is read only with --with-profile")
    items = select_shard(read_eval_set(eval_file)[:limit], shard, eval_file)
    if with_profile:
        items = with_profiles(items, read_profiles(characters), str(prompts) if prompts else None, characters)
    questions = tuple(read_questions(mtbench)) if mtbench else None
    config = EvalConfig(
        max_tokens=max_tokens, temperature=temperature, top_p=top_p, repetition_penalty=repetition_penalty,
        seed=seed,
        judge=judge_config(judge_n, judge_temperature, judge_max_tokens, judge_max_reasks, parsing, seed, prompts),
        mtbench_questions=questions, label=label,
    )
    if dry_run:
        print_estimates(estimate_evaluation(items, config))
        return
    backend = options.backend_config(concurrency, timeout, max_retries, batch_size, structured)
    with RunStore(out) as store:
        tested = load_model(model, base_url, backend)
        same_judge = judge == model and judge_base_url == base_url
        judge_model = tested if same_judge else load_model(judge, judge_base_url, backend)
        try:
            scores = evaluate(tested, judge_model, store, items, out, config, model_name=model, judge_name=judge,
                              eval_file=str(eval_file), with_profile=with_profile, progress=not no_progress)
        finally:
            tested.close()
            judge_model.close()
    print_scores(scores, out)


@eval_app.command("judge")
def judge_command(
    answers: Path = typer.Option(
        ..., "--answers", "-a", help="Responses to judge: the official response layout (eval records whose "
        "'messages' hold the model's replies) or a ditto run's judged.jsonl.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory for judgements and scores."),
    judge: str = JUDGE,
    judge_base_url: str = JUDGE_BASE_URL,
    judge_n: int = setting_option(JudgeConfig, "n"),
    judge_temperature: float = setting_option(JudgeConfig, "temperature"),
    judge_max_tokens: int = setting_option(JudgeConfig, "max_tokens"),
    judge_max_reasks: int = setting_option(JudgeConfig, "max_reasks"),
    parsing: str = setting_option(JudgeConfig, "parsing"),
    label: str = setting_option(EvalConfig, "label"),
    limit: int = typer.Option(None, "--limit", min=1, help="Judge only the first N dialogues."),
    seed: int = setting_option(EvalConfig, "seed", help="Seed of the judge's sampling."),
    prompts: Path = JUDGE_PROMPTS,
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    structured: str = options.STRUCTURED,
    no_progress: bool = options.NO_PROGRESS,
    shard: str = options.SHARD,
) -> None:
    """Judge and score responses that already exist, without generating any."""
    items, replies = read_answers(answers)
    # each item stays paired with its own replies (ids may repeat in a user's file)
    pairs = select_shard(list(zip(items, replies))[:limit], shard, answers, key=lambda pair: pair[0].id)
    items, replies = [item for item, _ in pairs], [reply for _, reply in pairs]
    config = EvalConfig(
        judge=judge_config(judge_n, judge_temperature, judge_max_tokens, judge_max_reasks, parsing, seed, prompts),
        label=label or answers.stem,
    )
    backend = options.backend_config(concurrency, timeout, max_retries, batch_size, structured)
    with RunStore(out) as store:
        judge_model = load_model(judge, judge_base_url, backend)
        try:
            scores = judge_answers(judge_model, store, items, replies, out, config,
                                   judge_name=judge, eval_file=str(answers),
                                   model_name=label or answers.stem, info={"answers_file": str(answers)},
                                   progress=not no_progress)
        finally:
            judge_model.close()
    print_scores(scores, out)
