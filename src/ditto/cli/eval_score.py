"""`ditto eval score`: WikiRoleEval scores of judged files, as a table or as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ditto.evaluate.scoring import format_score, plain_scores, read_judged, score_records

METRIC_LABELS = {"consistency": "consistency (0-1)", "knowledge": "knowledge (1-10)", "rejection": "rejection (0-1)"}


def score_tables(scores: dict, title: str) -> tuple[Table, Table]:
    """Metrics by all/language (mean [95% interval]) and metrics by character category (means)."""
    groups = list(plain_scores(scores))  # "all", then the languages
    by_group = Table(title=title)
    by_group.add_column("metric")
    for group in groups:
        by_group.add_column(group, justify="right", no_wrap=True)
    for metric, label in METRIC_LABELS.items():
        by_group.add_row(label, *(
            format_score(scores[group][metric], scores["ci"].get(group, {}).get(metric)) for group in groups
        ))
    by_group.add_row("turns", *(str(scores[group]["turns"]) for group in groups))

    categories = list(scores["by_category"])
    by_category = Table(title="by character category")
    by_category.add_column("metric")
    for category in categories:
        by_category.add_column(category, justify="right", no_wrap=True)
    for metric, label in METRIC_LABELS.items():
        by_category.add_row(label, *(format_score(scores["by_category"][c][metric], None) for c in categories))
    by_category.add_row("turns", *(str(scores["by_category"][c]["turns"]) for c in categories))
    return by_group, by_category


def score_command(
    files: list[Path] = typer.Argument(
        ..., metavar="FILE", show_default=False,
        help="Judged JSON-lines files (`ditto eval run`'s judged.jsonl or the official judged "
        "output); several files are scored together as one set."
    ),
    json_: bool = typer.Option(
        False, "--json", help='Print {"all": {...}, "en": {...}, "zh": {...}} (the three means) instead of tables.'
    ),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", min=0, help="Resamples of dialogues for the 95% intervals; 0 skips them."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
) -> None:
    """Score judged dialogues as the official WikiRoleEval script does, with 95% intervals."""
    records = [record for path in files for record in read_judged(path)]
    scores = score_records(records, bootstrap=bootstrap, seed=seed)
    if json_:
        print(json.dumps(plain_scores(scores), ensure_ascii=False))
        return
    title = f"WikiRoleEval: {len(records)} dialogues, {scores['all']['turns']} turns (mean [95% CI])"
    console = Console()
    if not console.is_terminal:  # piped or captured: keep whole rows rather than a guessed 80 columns
        console = Console(width=160)
    for table in score_tables(scores, title):
        console.print(table)
