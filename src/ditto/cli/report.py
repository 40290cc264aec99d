"""`ditto report`: compare evaluation runs side by side in report.md and a self-contained report.html.

Its charts need matplotlib (the `report` extra), imported only when they are drawn: without it
this command stops with an install hint and the rest of the CLI works.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ditto.report import build_report


def report_command(
    run_dirs: list[Path] = typer.Argument(
        ..., metavar="RUN_DIR", show_default=False,
        help="Run directories of `ditto eval run`, in the order of the report's columns "
        "(e.g. the seed model first, then Ditto; each later run's difference from the first is stated). Each "
        "needs judged.jsonl; mtbench.jsonl, run_info.json, scores.json, agreement.json (`ditto eval agreement`) "
        "and stability.json (`ditto eval stability`) are used when present."
    ),
    out: Path = typer.Option(
        Path("report"), "--out", "-o",
        help="Folder for report.md, report.html, scores.png and radar.png (and the judge's charts, "
        "judge_consistency.png and judge_knowledge.png, when a run has agreement.json).",
    ),
) -> None:
    """Compare evaluation runs: differences, scores with 95% intervals, charts, the judge's checks, examples."""
    files = build_report(run_dirs, out)
    Console(stderr=True).print(f"report: {files['markdown']} and {files['html']} ({len(run_dirs)} runs)")
