"""`ditto eval agreement`: the LLM judge against people's labels, as tables or as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ditto.chat_files import write_text_atomic
from ditto.evaluate.agreement import (
    BOOTSTRAP,
    COMPARED,
    FIGURE_LABELS,
    SEED,
    STATISTICS,
    Agreement,
    compare,
    read_judged_items,
)
from ditto.evaluate.human_labels import read_labels

SHOWN_IDS = 5  # unknown item ids named in the note; the rest are counted


def figure_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def interval_text(interval: list[float] | None) -> str:
    return "n/a" if interval is None else f"[{interval[0]:.4f}, {interval[1]:.4f}]"


def agreement_tables(figures: dict) -> tuple[Table, Table]:
    """Judge vs people (figure, 95% interval, turns compared) and the annotators' alpha."""
    judge = Table(title="Judge against people (95% intervals over dialogues)")
    for column in ("metric", "figure", "value", "95% CI", "turns"):
        judge.add_column(column, justify="left" if column in ("metric", "figure") else "right", no_wrap=True)
    for metric in COMPARED:
        part = figures[metric]
        for row, name in enumerate(STATISTICS[metric]):
            judge.add_row(metric if row == 0 else "", FIGURE_LABELS[name], figure_text(part[name]),
                          interval_text(part["ci"][name]), str(part["n"]) if row == 0 else "")
    annotators = figures["annotators"]
    people = Table(title=f"Between annotators ({annotators['count']}): Krippendorff's alpha")
    for column in ("metric", "alpha", "turns labelled by 2+"):
        people.add_column(column, justify="left" if column == "metric" else "right", no_wrap=True)
    for metric in COMPARED:
        people.add_row(metric, figure_text(annotators["alpha"][metric]), str(annotators["units"][metric]))
    return judge, people


def agreement_notes(result: Agreement) -> list[str]:
    """What was not compared, and the resamples skipped: one line each, only when there is any."""
    unmatched = result.figures["unmatched"]
    notes = []
    if unmatched["judged_only"] or unmatched["human_only"]:
        notes.append(f"unmatched turn verdicts (per turn and metric): {unmatched['judged_only']} judged but not "
                     f"labelled, {unmatched['human_only']} labelled but not judged")
    if result.unknown_items:
        shown = ", ".join(result.unknown_items[:SHOWN_IDS])
        more = len(result.unknown_items) - SHOWN_IDS
        notes.append(f"items labelled but not in the judged file ({len(result.unknown_items)}): {shown}"
                     + (f" and {more} more" if more > 0 else ""))
    if ignored := result.figures["labels"]["query_valid_ignored"]:
        notes.append(f"{ignored} query_valid labels ignored here")
    skipped = [f"{metric} {name} {count}" for metric, by_name in result.skipped.items()
               for name, count in by_name.items() if count]
    if skipped:
        notes.append("bootstrap resamples skipped where the figure was undefined: " + ", ".join(skipped))
    return notes


def agreement_command(
    judged: Path = typer.Argument(
        ..., metavar="JUDGED", show_default=False,
        help="A ditto judged.jsonl (`ditto eval run` or `eval judge`), with the judge's samples.",
    ),
    labels: list[Path] = typer.Argument(
        ..., metavar="HUMAN.jsonl", show_default=False,
        help='Human labels, one a line: {"item", "turn" (from 0), "metric" (consistency, knowledge, rejection '
        'or query_valid), "value" (a candidate name, 1-10, or 0/1), "annotator"}; several files are read together.',
    ),
    json_: bool = typer.Option(False, "--json", help="Print the figures as one JSON object instead of tables."),
    out: Path = typer.Option(
        None, "--out", "-o", help="Also write the JSON to this file (agreement.json in a run directory, for the "
        "report).",
    ),
    bootstrap: int = typer.Option(
        BOOTSTRAP, "--bootstrap", min=0, help="Resamples of dialogues for the 95% intervals; 0 skips them."
    ),
    seed: int = typer.Option(SEED, "--seed", help="Seed of the bootstrap resampling."),
) -> None:
    """How far the judge agrees with people: kappa, accuracy, rank correlations, Krippendorff's alpha."""
    items = read_judged_items(judged)
    human = read_labels(labels, {item.id: item.candidates for item in items})
    result = compare(items, human, bootstrap, seed)
    text = json.dumps(result.figures, ensure_ascii=False)
    if out is not None:
        write_text_atomic(out, text + "\n")
    notes = Console(stderr=True)
    if json_:
        print(text)
        for note in agreement_notes(result):
            notes.print(note, highlight=False)
        return
    console = Console()
    if not console.is_terminal:  # piped or captured: keep whole rows rather than a guessed 80 columns
        console = Console(width=160)
    for table in agreement_tables(result.figures):
        console.print(table)
    for note in agreement_notes(result):
        console.print(note, highlight=False)
