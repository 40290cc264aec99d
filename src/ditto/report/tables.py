"""The report's tables as plain rows of text, written once and rendered by markdown.py and html.py.

Models are columns, in the order the run directories were given (seed model first, then
Ditto, then others), so a reader compares along a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from ditto.evaluate.records import METRICS
from ditto.evaluate.scoring import NOT_LANGUAGES, format_score
from ditto.report.collect import Run

METRIC_NAMES = {"consistency": "Consistency (0-1)", "knowledge": "Knowledge (1-10)", "rejection": "Rejection (0-1)"}


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


def score_groups(runs: list[Run]) -> list[str]:
    """"all", then every language any run has, in sorted order."""
    langs = {group for run in runs for group in run.scores if group not in ("all", *NOT_LANGUAGES)}
    return ["all", *sorted(langs)]


def _score(run: Run, group: str, metric: str) -> str:
    if group not in run.scores:
        return "—"
    return format_score(run.scores[group][metric], run.scores["ci"].get(group, {}).get(metric))


def _tokens(run: Run, stage: str) -> str:
    counts = run.info.tokens.get(stage)
    if not counts:
        return "—"
    return f"{counts.get('prompt', 0):,} / {counts.get('completion', 0):,}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _mtbench(run: Run) -> str:
    if run.mtbench is None or run.mtbench.mean is None:
        return "—"
    return f"{run.mtbench.mean:.2f} ({run.mtbench.scored_turns} turns)"


def score_table(runs: list[Run]) -> Table:
    """Means [95% interval] for all turns and per language, then MT-Bench and the run's costs."""
    rows = [
        ["Model", *(run.info.model or "—" for run in runs)],
        ["Judge", *(run.info.judge or "—" for run in runs)],
    ]
    for group in score_groups(runs):
        for metric in METRICS:
            rows.append([f"{METRIC_NAMES[metric]}, {group}", *(_score(run, group, metric) for run in runs)])
        rows.append(
            [f"Turns, {group}", *(str(run.scores[group]["turns"]) if group in run.scores else "—" for run in runs)]
        )
    rows += [
        ["MT-Bench role-play (1-10)", *(_mtbench(run) for run in runs)],
        ["Judge calls", *(f"{run.info.judge_calls:,}" if run.info.judge_calls is not None else "—" for run in runs)],
        ["Tokens, rollout (prompt / completion)", *(_tokens(run, "rollout") for run in runs)],
        ["Tokens, judge (prompt / completion)", *(_tokens(run, "judge") for run in runs)],
        ["Time", *(_duration(run.info.seconds) for run in runs)],
    ]
    return Table(header=["", *(run.label for run in runs)], rows=rows)


def category_table(runs: list[Run]) -> Table:
    """Means per character category (human, fictional, ...), all languages together."""
    categories = sorted({category for run in runs for category in run.scores["by_category"]})
    rows = []
    for category in categories:
        for metric in METRICS:
            cells = [
                format_score(run.scores["by_category"][category][metric])
                if category in run.scores["by_category"]
                else "—"
                for run in runs
            ]
            rows.append([f"{METRIC_NAMES[metric]}, {category}", *cells])
    return Table(header=["", *(run.label for run in runs)], rows=rows)
