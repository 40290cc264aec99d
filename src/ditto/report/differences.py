"""Plain statements of the difference between models: a paired bootstrap against the first run.

Two means with overlapping intervals say little about their difference: both models answered
the same dialogues, so much of each interval's width (hard characters, easy ones) is shared
and cancels in the difference. Each run after the first is compared with the first (the
baseline; in `ditto run`, the seed model) over the turns both were scored on: turns are
matched by eval item (`examples.item_key`; an id repeated in a file counts once, its first
record) and turn index, and each metric keeps the turns both runs have a score for (knowledge
skips a turn scored 0 or null, as the scores do). The difference is the mean of the per-turn
differences, which on those turns is the difference of the two turn-weighted means; its 95%
percentile interval resamples the shared dialogues with replacement (`bootstrap` resamples
from `seed`) through `scoring.dialogue_intervals`, the resampling of the scores' intervals.

A sentence says "higher" or "lower" only when the interval excludes 0 and the turns come from
at least MIN_DIALOGUES dialogues, and otherwise that no difference can be told apart from
noise at this size. The floor is there because a percentile bootstrap over a handful of
dialogues is far too narrow (two dialogues have three distinct resamples; below about ten its
coverage falls well short of 95%, Efron & Tibshirani 1993, ch. 13), and a demo on six turns
must not read as a verdict on the method. The decision reads the interval as shown (3
decimals), so a sentence never contradicts its numbers. The interval covers which
dialogues were drawn, not the judge: a judge that cannot tell the models apart makes them
look alike, and one that prefers a model makes a difference of its own (the Judge reliability
section says what is known about it). Runs judged by different judges are compared all the
same, with a note that the difference then mixes the models with the judges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ditto.evaluate.records import METRICS
from ditto.evaluate.scoring import dialogue_intervals, format_score, turn_means, turn_table
from ditto.report.collect import Run
from ditto.report.examples import item_key
from ditto.report.tables import METRIC_NAMES

MIN_DIALOGUES = 10  # fewer shared dialogues: no "higher" or "lower", whatever the interval (module doc)


@dataclass
class Difference:
    """One metric of one run against the baseline: run minus baseline."""

    metric: str
    mean: float | None  # rounded to 2 decimals as the scores; None: no turn scored in both
    interval: list[float] | None  # 95% percentile interval; None without resampling
    turns: int  # turns scored in both runs
    dialogues: int  # dialogues those turns belong to


@dataclass
class Comparison:
    label: str
    baseline: str
    differences: list[Difference]
    note: str | None = None

    def sentences(self) -> list[str]:
        return [sentence(self.label, self.baseline, difference) for difference in self.differences]


def direction(difference: Difference) -> str | None:
    """"higher" or "lower" where the interval excludes 0 and MIN_DIALOGUES dialogues or more
    are behind it; None where no difference can be told from noise (module doc)."""
    if difference.mean is None or difference.interval is None or difference.dialogues < MIN_DIALOGUES:
        return None
    low, high = difference.interval
    return "higher" if low > 0 else "lower" if high < 0 else None


def sentence(label: str, baseline: str, difference: Difference) -> str:
    """The difference in words; "higher" or "lower" only when the interval excludes 0 and
    MIN_DIALOGUES dialogues or more are behind it."""
    name, mean, interval = METRIC_NAMES[difference.metric], difference.mean, difference.interval
    size = f"{difference.turns} turns of {difference.dialogues} dialogues scored in both"
    if mean is None:
        return f"{name}: no turn was scored for both {label} and {baseline}."
    if interval is None:
        return (f"{name}: {label} minus {baseline} is {mean:+.2f} ({size}); no interval was computed "
                "(bootstrap 0), so nothing tells it from noise.")
    low, high = interval
    told = direction(difference)
    if told == "higher":
        return f"{name}: {label} is higher than {baseline} by {format_score(mean, interval)}, over {size}."
    if told == "lower":
        return f"{name}: {label} is lower than {baseline} by {format_score(-mean, [-high, -low])}, over {size}."
    few = f", fewer than the {MIN_DIALOGUES} an interval needs" if difference.dialogues < MIN_DIALOGUES else ""
    return (f"{name}: no difference between {label} and {baseline} can be told apart from noise at this size "
            f"({size}{few}; difference {mean + 0.0:+.2f}, interval [{low:.3f}, {high:.3f}]).")


def _rows(run: Run, table: dict[str, np.ndarray]) -> dict[tuple[str, int], int]:
    """(item key, turn) -> the turn's row in `table`, the first record of a repeated item only."""
    keys = [item_key(record) for record in run.records]
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    return {
        (keys[record], int(turn)): row
        for row, (record, turn) in enumerate(zip(table["record"], table["turn"]))
        if first[keys[record]] == record
    }


def paired_table(baseline: Run, run: Run) -> dict[str, np.ndarray]:
    """The turns both runs answered, in the baseline's order: "record" (the baseline's dialogue)
    and per metric the run's score minus the baseline's, NaN where either has no score."""
    base, other = turn_table(baseline.records), turn_table(run.records)
    base_rows, other_rows = _rows(baseline, base), _rows(run, other)
    shared = [key for key in base_rows if key in other_rows]
    ours = np.array([base_rows[key] for key in shared], dtype=np.int64)
    theirs = np.array([other_rows[key] for key in shared], dtype=np.int64)
    return {"record": base["record"][ours]} | {metric: other[metric][theirs] - base[metric][ours] for metric in METRICS}


def _judges_note(baseline: Run, run: Run) -> str | None:
    judges = (baseline.info.judge, run.info.judge)
    if None in judges or judges[0] == judges[1]:
        return None
    return (f"{run.label} was judged by {judges[1]}, {baseline.label} by {judges[0]}: "
            "the differences mix the models with the judges.")


def compare_runs(runs: list[Run], *, bootstrap: int = 1000, seed: int = 0) -> list[Comparison]:
    """Every run after the first against the first, per metric (rules: module doc)."""
    comparisons = []
    baseline = runs[0]
    for run in runs[1:]:
        table = paired_table(baseline, run)
        shared = len(table["record"]) > 0
        means = turn_means(table)
        intervals = dialogue_intervals(table, bootstrap, seed) if bootstrap and shared else {}
        differences = []
        for metric in METRICS:
            scored = ~np.isnan(table[metric])
            differences.append(Difference(
                metric=metric, mean=means[metric], interval=intervals.get(metric),
                turns=int(scored.sum()), dialogues=len(np.unique(table["record"][scored])),
            ))
        comparisons.append(Comparison(run.label, baseline.label, differences, _judges_note(baseline, run)))
    return comparisons


def method_line(baseline: str) -> str:
    """How to read the sentences, shown above them."""
    return (f"Each run against the first ({baseline}), over the turns both were scored on: the difference of the "
            "means with a 95% paired bootstrap interval over the shared dialogues; \"higher\" or \"lower\" only "
            f"where the interval excludes 0 and {MIN_DIALOGUES} or more dialogues are shared. The interval covers "
            "which dialogues were drawn, not the judge's own errors (see Judge reliability).")
