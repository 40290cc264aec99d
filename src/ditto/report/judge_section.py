"""The "Judge reliability" section: what agreement.json and stability.json say, written once
for markdown.py and html.py.

One table, one column per checked run (as the score table has one per model): the judge
against people (each figure with its 95% interval over dialogues and the turns it is over,
then Krippendorff's alpha between annotators), the position check (where the judge's choice
went once the candidates were reordered), test-retest and, when there was one, a second
judge. A run without either file is named as unchecked; when no run has one, the section is
one sentence saying so and naming the commands that check a judge, so that a score is never
read as trusted by default.

Kappa is read with Landis and Koch's (1977) bands, given as the conventions they are: they
were proposed without a test behind them, and with few turns the interval says more than
which band the point falls in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ditto.evaluate.agreement import COMPARED, FIGURE_LABELS, STATISTICS
from ditto.evaluate.scoring import format_score
from ditto.evaluate.stability import SHARES
from ditto.report.collect import Run
from ditto.report.reliability import AgreementFile, MetricFigures, StabilityFile
from ditto.report.tables import Table

UNCHECKED = (
    "The judge has not been checked against people or for stability, so nothing in this report says how "
    "far its scores can be trusted. To check it: label a sample of judged turns with `ditto annotate serve`, "
    "compare the labels with the judge by `ditto eval agreement JUDGED HUMAN.jsonl --out RUN_DIR/agreement.json`, "
    "and ask the judge again with the candidates reordered and fresh samples by `ditto eval stability`; "
    "this section then shows the figures."
)
KAPPA_READING = (
    "Reading kappa: 1 is perfect agreement and 0 what chance alone would give. Landis and Koch (1977) call "
    "0.01-0.20 slight, 0.21-0.40 fair, 0.41-0.60 moderate, 0.61-0.80 substantial and 0.81-1.00 almost perfect "
    "agreement; these bands are conventions, not tests, and with few turns the interval says more than the point."
)
POSITION_READING = (
    "Position check: consistency asked again with the candidates reordered; a judge that reads the replies keeps "
    "naming the same character, one that answers by position names whoever now stands where its choice stood."
)

@dataclass
class JudgeSection:
    table: Table | None  # None: no run's judge was checked
    readings: list[str] = field(default_factory=list)  # how to read the figures, when there are any
    notes: list[str] = field(default_factory=list)  # unchecked runs, files about another judge
    charts: dict[str, Path] = field(default_factory=dict)  # charts.judge_charts, drawn by build_report


def _figure_cells(title: str, figures: MetricFigures) -> dict[str, str]:
    """Each figure of each metric (value [95% interval]) and the turns it is over."""
    cells = {}
    for metric in COMPARED:
        part = getattr(figures, metric)
        for name in STATISTICS[metric]:
            cells[f"{title}: {metric}, {FIGURE_LABELS[name]}"] = format_score(getattr(part, name), part.ci.get(name))
        cells[f"{title}: {metric}, turns"] = str(part.n)
    return cells


def _agreement_cells(agreement: AgreementFile) -> dict[str, str]:
    cells = _figure_cells("Judge vs people", agreement)
    annotators = agreement.annotators
    cells["Annotators"] = str(annotators.count)
    for metric in COMPARED:
        alpha = annotators.alpha.get(metric)
        cells[f"Annotators: Krippendorff's alpha, {metric}"] = (
            f"{format_score(alpha)} ({annotators.units.get(metric, 0)} turns labelled by 2+)"
        )
    return cells


def _stability_cells(stability: StabilityFile) -> dict[str, str]:
    bias = stability.position_bias
    cells = {"Position check: order": bias.permutation}
    cells |= {f"Position check: {label}": format_score(getattr(bias, key), bias.ci.get(key))
              for key, label in SHARES.items()}
    cells["Position check: turns"] = str(bias.n)
    cells["Test-retest: seed"] = str(stability.test_retest.seed)
    cells |= _figure_cells("Test-retest", stability.test_retest)
    if stability.judge_judge is not None:
        cells["Second judge"] = stability.judge_judge.other_judge
        cells |= _figure_cells("Second judge", stability.judge_judge)
    return cells


def _judge_name(run: Run) -> str:
    return run.info.judge or (run.stability.judge if run.stability else None) or "—"


def _notes(runs: list[Run], checked: list[Run]) -> list[str]:
    notes = []
    unchecked = [run.label for run in runs if not run.judge_checked]
    if unchecked:
        notes.append(f"Not checked (no agreement.json or stability.json): {', '.join(unchecked)}.")
    for run in checked:
        if run.stability and run.info.judge and run.stability.judge != run.info.judge:
            notes.append(f"{run.label}: stability.json checks the judge {run.stability.judge}, but the run was "
                         f"judged by {run.info.judge}; its stability figures are about another judge.")
        if run.agreement and run.agreement.pairs is None:
            notes.append(f"{run.label}: agreement.json has no per-turn pairs (written by an older ditto); "
                         "run `ditto eval agreement` again to draw its charts.")
    return notes


def judge_section(runs: list[Run]) -> JudgeSection:
    """The table of every checked run's figures, how to read them, and what is not checked."""
    checked = [run for run in runs if run.judge_checked]
    if not checked:
        return JudgeSection(table=None, notes=[UNCHECKED])
    agreement = [_agreement_cells(run.agreement) if run.agreement else {} for run in checked]
    stability = [_stability_cells(run.stability) if run.stability else {} for run in checked]
    columns = [{"Judge": _judge_name(run)} | ours | theirs for run, ours, theirs in zip(checked, agreement, stability)]
    labels = dict.fromkeys(["Judge", *(label for cells in agreement + stability for label in cells)])
    rows = [[label, *(cells.get(label, "—") for cells in columns)] for label in labels]
    readings = [KAPPA_READING] + ([POSITION_READING] if any(stability) else [])
    table = Table(header=["", *(run.label for run in checked)], rows=rows)
    return JudgeSection(table=table, readings=readings, notes=_notes(runs, checked))
