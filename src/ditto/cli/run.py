from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ditto.cli import options
from ditto.cli.options import setting_option
from ditto.cost import print_estimates
from ditto.pipeline import RunConfig, estimate_run, run_ditto, self_evaluation_warnings


def run_command(
    out: Path = setting_option(RunConfig, "out"),
    model: str = options.MODEL,
    base_url: str = options.BASE_URL,
    teacher: str = setting_option(RunConfig, "teacher"),
    teacher_base_url: str = setting_option(RunConfig, "teacher_base_url"),
    eval_teacher: str = setting_option(RunConfig, "eval_teacher"),
    eval_teacher_base_url: str = setting_option(RunConfig, "eval_teacher_base_url"),
    eval_set: Path = setting_option(RunConfig, "eval_set"),
    judge: str = setting_option(RunConfig, "judge"),
    judge_base_url: str = setting_option(RunConfig, "judge_base_url"),
    characters: str = options.CHARACTERS,
    train_characters: int = setting_option(RunConfig, "train_characters"),
    eval_characters: int = setting_option(RunConfig, "eval_characters"),
    lang: str = setting_option(RunConfig, "langs"),
    turns: int = setting_option(RunConfig, "turns"),
    max_tokens: int = setting_option(RunConfig, "max_tokens"),
    answer_max_tokens: int = setting_option(RunConfig, "answer_max_tokens"),
    judge_n: int = setting_option(RunConfig, "judge_n"),
    judge_max_tokens: int = setting_option(RunConfig, "judge_max_tokens"),
    parsing: str = setting_option(RunConfig, "parsing"),
    recipe: str = setting_option(RunConfig, "recipe"),
    lora: bool = setting_option(RunConfig, "method"),
    epochs: float = setting_option(RunConfig, "epochs"),
    train_steps: int = setting_option(RunConfig, "train_steps", "--max-steps"),
    lr: float = setting_option(RunConfig, "lr", "--train-lr"),
    max_length: int = setting_option(RunConfig, "max_length"),
    train_batch_size: int = setting_option(RunConfig, "train_batch_size"),
    mtbench: Path = setting_option(RunConfig, "mtbench"),
    seed: int = setting_option(RunConfig, "seed"),
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    structured: str = options.STRUCTURED,
    no_progress: bool = options.NO_PROGRESS,
    dry_run: bool = options.DRY_RUN,
) -> None:
    """The whole method: simulate with the seed model, fine-tune, evaluate seed vs tuned, report.
    A run killed at any point resumes with the same command."""
    config = RunConfig(
        out=out, model=model, base_url=base_url, teacher=teacher, teacher_base_url=teacher_base_url,
        eval_teacher=eval_teacher, eval_teacher_base_url=eval_teacher_base_url, eval_set=eval_set,
        judge=judge, judge_base_url=judge_base_url, characters=characters, train_characters=train_characters,
        eval_characters=eval_characters, langs=options.split_list(lang) if lang else None, turns=turns,
        max_tokens=max_tokens, answer_max_tokens=answer_max_tokens, judge_n=judge_n,
        judge_max_tokens=judge_max_tokens, parsing=parsing, recipe=recipe,  # type: ignore[arg-type]
        method=None if lora is None else ("lora" if lora else "full"), epochs=epochs, train_steps=train_steps,
        lr=lr, max_length=max_length, train_batch_size=train_batch_size, mtbench=mtbench, seed=seed,
        backend=options.backend_config(concurrency, timeout, max_retries, batch_size, structured),
        progress=not no_progress,
    )
    if dry_run:
        print_estimates(estimate_run(config))
        for warning in self_evaluation_warnings(config):
            Console(stderr=True).print(f"warning: {warning}", markup=False, highlight=False)
        return
    result = run_ditto(config)
    console = Console(stderr=True)
    console.print("time per stage: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.stage_seconds.items()))
    if not result.trained:
        console.print(f"train: {result.directories['model']} was already trained on these inputs")
    console.print(f"report: {result.report['html']}")
