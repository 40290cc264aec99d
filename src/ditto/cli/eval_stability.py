"""`ditto eval stability`: the judge against itself (candidate order, fresh samples) and
against a second judge, without people; tables or JSON, and stability.json for the report."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ditto.chat_files import write_text_atomic
from ditto.cli import options
from ditto.cli.eval_agreement import FIGURE_LABELS, figure_text, interval_text
from ditto.cli.options import judge_config, setting_option
from ditto.errors import DittoError
from ditto.evaluate.agreement import BOOTSTRAP, COMPARED, STATISTICS, read_judged_items
from ditto.evaluate.config import EvalConfig, JudgeConfig
from ditto.evaluate.records import RUN_INFO_FILE
from ditto.evaluate.stability import SHARES, STABILITY_FILE, stability
from ditto.models import load_model
from ditto.models.builtin import BUILTIN_NAME
from ditto.store import RunStore


def stability_tables(figures: dict) -> list[Table]:
    """Position bias (shares of turns, 95% interval), then test-retest and judge-judge figures."""
    bias = figures["position_bias"]
    position = Table(title=f"Candidate order ({bias['permutation']}): consistency verdicts asked again")
    for column in ("verdict", "share", "95% CI", "turns"):
        position.add_column(column, justify="left" if column == "verdict" else "right", no_wrap=True)
    for row, (key, label) in enumerate(SHARES.items()):
        position.add_row(label, figure_text(bias[key]), interval_text(bias["ci"].get(key)),
                         str(bias["n"]) if row == 0 else "")
    tables = [position]
    parts = [("test_retest", f"Test-retest (seed {figures['test_retest']['seed']})")]
    if "judge_judge" in figures:
        parts.append(("judge_judge", f"Judge against {figures['judge_judge']['other_judge']}"))
    for part, title in parts:
        table = Table(title=f"{title} (95% intervals over dialogues)")
        for column in ("metric", "figure", "value", "95% CI", "turns"):
            table.add_column(column, justify="left" if column in ("metric", "figure") else "right", no_wrap=True)
        for metric in COMPARED:
            found = figures[part][metric]
            for row, name in enumerate(STATISTICS[metric]):
                table.add_row(metric if row == 0 else "", FIGURE_LABELS[name], figure_text(found[name]),
                              interval_text(found["ci"][name]), str(found["n"]) if row == 0 else "")
        tables.append(table)
    return tables


def settings_notes(judged: Path, judge: str, config: JudgeConfig) -> list[str]:
    """Where JUDGED's run_info.json records another judge or other settings than this run's:
    its verdicts are then compared with a different judging, not the same one asked again."""
    path = judged.parent / RUN_INFO_FILE
    if not path.is_file():
        return []
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a note, not a check: an unreadable record only goes unread
        return []
    ours = {"judge": ("--judge", judge), "judge_n": ("--judge-n", config.n),
            "judge_temperature": ("--judge-temperature", config.temperature),
            "judge_max_tokens": ("--judge-max-tokens", config.max_tokens)}
    return [f"{path} records {flag} {info[key]}, this run {value}"
            for key, (flag, value) in ours.items() if key in info and info[key] != value]


def stability_command(
    judged: Path = typer.Argument(
        ..., metavar="JUDGED", show_default=False,
        help="A ditto judged.jsonl (`ditto eval run` or `eval judge`), with the judge's samples.",
    ),
    judge: str = typer.Option(BUILTIN_NAME, "--judge", help="The judge that judged JUDGED, asked again."),
    judge_base_url: str = typer.Option(None, "--judge-base-url", help="Server of --judge, if served."),
    other_judge: str = typer.Option(
        None, "--other-judge", help="A second judge of the same answers, for judge-judge agreement [default: none]."
    ),
    other_judge_base_url: str = typer.Option(None, "--other-judge-base-url", help="Server of --other-judge."),
    judge_n: int = setting_option(JudgeConfig, "n"),
    judge_temperature: float = setting_option(JudgeConfig, "temperature"),
    judge_max_tokens: int = setting_option(JudgeConfig, "max_tokens"),
    judge_max_reasks: int = setting_option(JudgeConfig, "max_reasks"),
    parsing: str = setting_option(JudgeConfig, "parsing"),
    seed: int = setting_option(EvalConfig, "seed", help="Seed JUDGED was judged with (the position and second "
                               "judge's questions use it)."),
    prompts: Path = setting_option(JudgeConfig, "prompts_dir"),
    retest_seed: int = typer.Option(
        None, "--retest-seed", help="Seed of the test-retest samples [default: the first seed JUDGED's judging "
        "did not use: --seed + --judge-n x (1 + --judge-max-reasks)].",
    ),
    bootstrap: int = typer.Option(
        BOOTSTRAP, "--bootstrap", min=0, help="Resamples of dialogues for the 95% intervals; 0 skips them."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Run directory for the request store and stability.json [default: JUDGED's "
        "own directory, where `ditto report` finds it].",
    ),
    json_: bool = typer.Option(False, "--json", help="Print the figures as one JSON object instead of tables."),
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    structured: str = options.STRUCTURED,
    no_progress: bool = options.NO_PROGRESS,
) -> None:
    """How stable the judge is without people: candidate order, fresh samples, a second judge."""
    if other_judge is None and other_judge_base_url is not None:
        raise DittoError("--other-judge-base-url is read only with --other-judge")
    items = read_judged_items(judged)
    config = judge_config(judge_n, judge_temperature, judge_max_tokens, judge_max_reasks, parsing, seed, prompts)
    notes = Console(stderr=True)
    for note in settings_notes(judged, judge, config):
        notes.print(f"note: {note}", highlight=False)
    out = judged.parent if out is None else out
    backend = options.backend_config(concurrency, timeout, max_retries, batch_size, structured)
    with RunStore(out) as store:
        judge_model = load_model(judge, judge_base_url, backend)
        second = load_model(other_judge, other_judge_base_url, backend) if other_judge else None
        try:
            figures = stability(judge_model, store, items, config, judge_name=judge, judged_file=str(judged),
                                other_judge=second, other_judge_name=other_judge, retest_seed=retest_seed,
                                bootstrap=bootstrap, progress=not no_progress)
        finally:
            judge_model.close()
            if second is not None:
                second.close()
    text = json.dumps(figures, ensure_ascii=False)
    write_text_atomic(out / STABILITY_FILE, text + "\n")
    if json_:
        print(text)
        return
    console = Console()
    if not console.is_terminal:  # piped or captured: keep whole rows rather than a guessed 80 columns
        console = Console(width=160)
    for table in stability_tables(figures):
        console.print(table)
    notes.print(f"figures in {out / STABILITY_FILE}", highlight=False)
