from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ditto.cli import options
from ditto.cost import print_estimates
from ditto.pipeline import RunConfig, estimate_run, run_ditto


def run_command(
    out: Path = typer.Option(Path("runs/ditto"), "--out", "-o", help="Folder for every stage's run directory and the report."),
    model: str = options.MODEL,
    base_url: str = options.BASE_URL,
    teacher: str = typer.Option(None, "--teacher", help="Model writing the data and eval set (default: --model)."),
    teacher_base_url: str = typer.Option(None, "--teacher-base-url", help="Server of --teacher."),
    judge: str = typer.Option(None, "--judge", help="Judge model (default: --model; the paper used GPT-4)."),
    judge_base_url: str = typer.Option(None, "--judge-base-url", help="Server of --judge."),
    characters: str = typer.Option("builtin", "--characters", "-c", help="Profiles (JSON lines) or 'builtin'."),
    train_characters: int = typer.Option(4, "--train-characters", min=1, help="Training characters per language."),
    eval_characters: int = typer.Option(2, "--eval-characters", min=1, help="Held-out characters per language."),
    lang: str = typer.Option("en", "--lang", help="Languages, comma-separated (the paper: en,zh)."),
    turns: int = typer.Option(3, "--turns", min=1, max=50, help="Turns per simulated and eval dialogue (paper: about 5)."),
    max_tokens: int = typer.Option(96, "--max-tokens", min=1, help="Most new tokens per generated answer."),
    judge_n: int = typer.Option(3, "--judge-n", min=1, help="Judge samples per question (paper: 3)."),
    judge_max_tokens: int = typer.Option(128, "--judge-max-tokens", min=1, help="Most new tokens per judge answer."),
    train_steps: int = typer.Option(8, "--train-steps", min=1, help="LoRA training steps."),
    train_batch_size: int = typer.Option(2, "--train-batch-size", min=1, help="Training batch size per device."),
    mtbench: Path = typer.Option(None, "--mtbench", help="FastChat MT-Bench question.jsonl for the role-play questions."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    concurrency: int = options.CONCURRENCY,
    batch_size: int = options.BATCH_SIZE,
    no_progress: bool = options.NO_PROGRESS,
    dry_run: bool = options.DRY_RUN,
) -> None:
    """The whole method: simulate with the seed model, fine-tune, evaluate seed vs tuned, report."""
    config = RunConfig(
        out=out, model=model, base_url=base_url, teacher=teacher, teacher_base_url=teacher_base_url,
        judge=judge, judge_base_url=judge_base_url, characters=characters, train_characters=train_characters,
        eval_characters=eval_characters, langs=tuple(x.strip() for x in lang.split(",") if x.strip()),
        turns=turns, max_tokens=max_tokens, judge_n=judge_n, judge_max_tokens=judge_max_tokens, train_max_steps=train_steps,
        train_batch_size=train_batch_size, mtbench=mtbench, seed=seed, concurrency=concurrency,
        batch_size=batch_size, progress=not no_progress,
    )
    if dry_run:
        print_estimates(estimate_run(config))
        return
    report = run_ditto(config)
    console = Console(stderr=True)
    console.print("time per stage: " + ", ".join(f"{k} {v:.0f} s" for k, v in config.stage_seconds.items()))
    console.print(f"report: {report}")
