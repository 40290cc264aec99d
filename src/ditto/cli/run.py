from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ditto.cli import options
from ditto.cli.options import setting_option
from ditto.cli.run_settings import run_config, run_settings, with_options
from ditto.cost import print_estimates
from ditto.pipeline import RunConfig, estimate_run, run_ditto, self_evaluation_warnings


@with_options(run_settings)
def run_command(
    out: Path = setting_option(RunConfig, "out"),
    model: str = options.MODEL,
    base_url: str = options.BASE_URL,
    teacher: str = setting_option(RunConfig, "teacher"),
    teacher_base_url: str = setting_option(RunConfig, "teacher_base_url"),
    eval_teacher: str = setting_option(RunConfig, "eval_teacher"),
    eval_teacher_base_url: str = setting_option(RunConfig, "eval_teacher_base_url"),
    judge: str = setting_option(RunConfig, "judge"),
    judge_base_url: str = setting_option(RunConfig, "judge_base_url"),
    settings: dict | None = None,
) -> None:
    """The whole method: simulate with the seed model, fine-tune, evaluate seed vs tuned, report.
    A run killed at any point resumes with the same command."""
    config = run_config(
        settings, out=out, model=model, base_url=base_url, teacher=teacher, teacher_base_url=teacher_base_url,
        eval_teacher=eval_teacher, eval_teacher_base_url=eval_teacher_base_url, judge=judge,
        judge_base_url=judge_base_url,
    )
    if settings["dry_run"]:
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
