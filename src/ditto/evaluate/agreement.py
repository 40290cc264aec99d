"""The judge against people: how far the LLM judge's verdicts agree with human labels.

WikiRoleEval's numbers are only as good as its judge. People label a sample of judged turns
(`human_labels.py`); each turn then has a judge verdict and a human verdict per metric, and
this module measures their agreement with the usual statistics, computed by scikit-learn,
SciPy and `krippendorff`, never by hand:

- consistency (which candidate is speaking, a nominal class: the candidate's position) and
  rejection (0/1): Cohen's kappa and accuracy;
- knowledge (1-10, ordered): Spearman's and Kendall's correlations and quadratic-weighted
  kappa over the labels 1-10;
- between annotators, where two or more labelled a metric: Krippendorff's alpha (nominal for
  consistency and rejection, ordinal for knowledge: a 1-10 score is ranked, its steps are not
  known to be equal) over the turns that two or more of them labelled.

Verdicts per turn. The judge: consistency is the candidate most of its samples name, a tie
going to the smallest position (no sample order means anything); knowledge is the mean
score rounded half up (samples outside 1-10 are no score); rejection is the majority as
`judge.turn_scores` takes it (`Counter.most_common`: a tie goes to the first sample's vote).
People: consistency and rejection are the annotators' majority, a tie going to the smallest
value (the smallest position; for rejection 0, "did not refuse"), knowledge their median
rounded half up. A turn's metric with no readable sample has no judge verdict.

Each judge-human figure comes with n (turns compared) and a 95% percentile interval from
resampling dialogues with replacement, as `scoring.py` does for the scores: the turns of a
dialogue share a character and a reply style, so they are not independent. A resample where
a figure is undefined (one class only, a constant score) is skipped and counted.

Turns only one side has are counted per turn and metric (`unmatched`), never dropped
silently: a judged turn nobody labelled, a label of an item the judged file lacks, of a
turn past its end, or of a turn whose judge samples were all unreadable.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ditto.chat_files import read_identified
from ditto.errors import DittoError
from ditto.evaluate.human_labels import KNOWLEDGE_SCORES, HumanLabel, candidate_index
from ditto.evaluate.records import JudgedItem, JudgeSample

Key = tuple[str, int, str]
"""(item id, turn from 0, metric): what one verdict is about."""

COMPARED = ("consistency", "rejection", "knowledge")  # the order of the JSON output
STATISTICS = {"consistency": ("kappa", "accuracy"), "rejection": ("kappa", "accuracy"),
              "knowledge": ("spearman", "kendall", "qwk")}
FIGURE_LABELS = {"kappa": "Cohen's kappa", "accuracy": "accuracy", "spearman": "Spearman", "kendall": "Kendall",
                 "qwk": "quadratic-weighted kappa"}  # how the tables and the report name each figure
ALPHA_LEVELS = {"consistency": "nominal", "rejection": "nominal", "knowledge": "ordinal"}
BOOTSTRAP = 1000  # resamples of dialogues for the 95% intervals
SEED = 0
DECIMALS = 4
AGREEMENT_FILE = "agreement.json"  # in a run directory, read by the report


def round_half_up(value: float | Fraction) -> int:
    """6.5 -> 7 (Python's `round` would give 6: it rounds halves to even)."""
    return math.floor(Fraction(value) + Fraction(1, 2))


def read_judged_items(path: str | Path) -> list[JudgedItem]:
    """The records of a ditto judged.jsonl with their judge samples; errors name file and line.

    Labels name items by id, so an id that repeats is refused rather than guessed between."""
    items = read_identified(path, JudgedItem, "judged item")
    if not items:
        raise DittoError(f"{path}: no records")
    if not any(item.judgements for item in items):
        raise DittoError(f"{path}: no judge samples ('judgements'); agreement needs ditto's judged.jsonl")
    return items


# The judge's verdicts.


def _smallest_majority(values: Sequence) -> int | str:
    """The most frequent value; a tie goes to the smallest of the tied."""
    counts = Counter(values)
    top = max(counts.values())
    return min(value for value, count in counts.items() if count == top)


def _whole(value: object) -> int | None:
    """An integer sample value (7 or 7.0), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def _chosen_candidate(item: JudgedItem, value: object) -> int | None:
    """The position a consistency sample names: an index (tolerant parsing) or a bracketed
    name (official parsing); None when it names no candidate."""
    if isinstance(value, str):
        return candidate_index(item.candidates, value)
    index = _whole(value)
    return index if index is not None and 0 <= index < len(item.candidates) else None


def _consistency(item: JudgedItem, samples: list[JudgeSample]) -> int | None:
    chosen = [c for c in (_chosen_candidate(item, s.value) for s in samples) if c is not None]
    return int(_smallest_majority(chosen)) if chosen else None


def _is_score(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= 10


def _knowledge(samples: list[JudgeSample]) -> int | None:
    scores = [Fraction(s.value) for s in samples if _is_score(s.value)]
    return round_half_up(sum(scores) / len(scores)) if scores else None


def _rejection(samples: list[JudgeSample]) -> int | None:
    votes = [vote for vote in (_whole(s.value) for s in samples) if vote in (0, 1)]
    return Counter(votes).most_common(1)[0][0] if votes else None


def judge_verdicts(items: Sequence[JudgedItem]) -> dict[Key, int]:
    """The judge's verdict on every turn and metric it read a sample of (rules: module doc)."""
    verdicts: dict[Key, int] = {}
    for item in items:
        for turn, judgement in enumerate(item.judgements):
            found = {
                "consistency": _consistency(item, judgement.consistency),
                "knowledge": _knowledge(judgement.knowledge),
                "rejection": _rejection(judgement.rejection),
            }
            verdicts |= {(item.id, turn, metric): value for metric, value in found.items() if value is not None}
    return verdicts


# People's verdicts.


def label_values(
    labels: Sequence[HumanLabel], candidates: dict[str, list[str]]
) -> dict[Key, dict[str, int | str]]:
    """Each annotator's value per turn and metric; consistency names become candidate positions
    where the item is known (`candidates`: item id -> candidate lines) and stay names where it is
    not. query_valid labels are left out: another command reads them."""
    values: dict[Key, dict[str, int | str]] = {}
    for label in labels:
        if label.metric == "query_valid":
            continue
        value = label.value
        if label.metric == "consistency" and label.item in candidates:
            index = candidate_index(candidates[label.item], str(value))
            if index is None:
                raise DittoError(f"{label.annotator}'s label of item {label.item!r} names no candidate: {value!r}")
            value = index
        values.setdefault(label.unit, {})[label.annotator] = value
    return values


def _people(metric: str, values: list[int | str]) -> int | str:
    if metric == "knowledge":
        return round_half_up(Fraction(statistics.median(values)))
    return _smallest_majority(values)


def human_verdicts(
    labels: Sequence[HumanLabel], candidates: dict[str, list[str]] | None = None
) -> dict[Key, int | str]:
    """The people's verdict per turn and metric (rules: module doc)."""
    return people_verdicts(label_values(labels, candidates or {}))


def people_verdicts(values: dict[Key, dict[str, int | str]]) -> dict[Key, int | str]:
    """`human_verdicts` of values already read by `label_values`."""
    return {key: _people(key[2], list(by_annotator.values())) for key, by_annotator in values.items()}


# Statistics.


def _kappa(judge: np.ndarray, human: np.ndarray) -> float:
    from sklearn.metrics import cohen_kappa_score

    return cohen_kappa_score(judge, human)


def _accuracy(judge: np.ndarray, human: np.ndarray) -> float:
    from sklearn.metrics import accuracy_score

    return accuracy_score(judge, human)


def _spearman(judge: np.ndarray, human: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return spearmanr(judge, human).statistic


def _kendall(judge: np.ndarray, human: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return kendalltau(judge, human).statistic


def _qwk(judge: np.ndarray, human: np.ndarray) -> float:
    from sklearn.metrics import cohen_kappa_score

    return cohen_kappa_score(judge, human, weights="quadratic", labels=list(KNOWLEDGE_SCORES))


STATISTIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "kappa": _kappa, "accuracy": _accuracy, "spearman": _spearman, "kendall": _kendall, "qwk": _qwk,
}


def statistic(name: str, judge: np.ndarray, human: np.ndarray) -> float:
    """One figure of agreement; NaN where it is undefined (no turn, one class, a constant score)."""
    if len(judge) == 0:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the libraries warn, then return NaN, where undefined
        with np.errstate(all="ignore"):
            return float(STATISTIC_FUNCTIONS[name](judge, human))


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, DECIMALS)


Dialogues = list[tuple[np.ndarray, np.ndarray]]
"""Per dialogue: (judge verdicts, human verdicts) of its compared turns."""


def bootstrap_intervals(
    dialogues: Dialogues, names: Sequence[str], draws: int, seed: int
) -> tuple[dict[str, list[float] | None], dict[str, int]]:
    """95% percentile intervals of each figure over `draws` resamples of whole dialogues, and
    per figure the resamples skipped because it was undefined there."""
    rng = np.random.default_rng(seed)
    drawn: dict[str, list[float]] = {name: [] for name in names}
    skipped = dict.fromkeys(names, 0)
    for _ in range(draws if dialogues else 0):
        picked = rng.integers(0, len(dialogues), size=len(dialogues))
        judge = np.concatenate([dialogues[i][0] for i in picked])
        human = np.concatenate([dialogues[i][1] for i in picked])
        for name in names:
            value = statistic(name, judge, human)
            if math.isnan(value):
                skipped[name] += 1
            else:
                drawn[name].append(value)
    intervals = {
        name: [_rounded(float(bound)) for bound in np.percentile(values, [2.5, 97.5])] if values else None
        for name, values in drawn.items()
    }
    return intervals, skipped


def paired_dialogues(judge: dict[Key, int], human: dict[Key, int | str], metric: str) -> Dialogues:
    """The turns of `metric` both sides gave a verdict on, grouped by dialogue in first-seen order."""
    grouped: dict[str, tuple[list, list]] = {}
    for key in (k for k in judge if k[2] == metric and k in human):  # judge_verdicts keeps the file's order
        judge_values, human_values = grouped.setdefault(key[0], ([], []))
        judge_values.append(judge[key])
        human_values.append(human[key])
    return [(np.array(j, dtype=np.int64), np.array(h, dtype=np.int64)) for j, h in grouped.values()]


def compare_metric(dialogues: Dialogues, metric: str, draws: int, seed: int) -> tuple[dict, dict[str, int]]:
    """{figure: value, ..., "n": turns, "ci": {figure: [low, high]}} and the skipped resamples."""
    names = STATISTICS[metric]
    judge = np.concatenate([j for j, _ in dialogues]) if dialogues else np.array([], dtype=np.int64)
    human = np.concatenate([h for _, h in dialogues]) if dialogues else np.array([], dtype=np.int64)
    figures: dict = {name: _rounded(statistic(name, judge, human)) for name in names}
    intervals, skipped = bootstrap_intervals(dialogues, names, draws, seed)
    return figures | {"n": len(judge), "ci": intervals}, skipped


def annotator_alpha(values: dict[Key, dict[str, int | str]], metric: str) -> tuple[float | None, int]:
    """Krippendorff's alpha of the annotators on `metric` and the units (turns) it is over: those
    labelled by two or more; None with fewer than two annotators or where it is undefined (a
    single value throughout). Consistency counts only labels of judged items, whose names have a
    candidate position."""
    units = [
        by for (_, _, unit_metric), by in values.items()
        if unit_metric == metric and len(by) >= 2 and all(isinstance(v, int) for v in by.values())
    ]
    annotators = sorted({name for by in units for name in by})
    if len(annotators) < 2:
        return None, len(units)
    data = np.full((len(annotators), len(units)), np.nan)
    for column, by in enumerate(units):
        for name, value in by.items():
            data[annotators.index(name), column] = value
    import krippendorff

    try:
        alpha = krippendorff.alpha(reliability_data=data, level_of_measurement=ALPHA_LEVELS[metric])
    except ValueError:  # one value in the whole domain: no disagreement can be told from chance
        return None, len(units)
    return _rounded(float(alpha)), len(units)


# Everything together.


@dataclass
class Agreement:
    figures: dict
    """The `--json` object (layout: `compare`)."""
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per metric and figure, bootstrap resamples skipped because the figure was undefined there."""
    unknown_items: list[str] = field(default_factory=list)
    """Item ids that labels name and the judged file lacks (counted in unmatched.human_only)."""


def compare(
    judged: Sequence[JudgedItem], labels: Sequence[HumanLabel], bootstrap: int = BOOTSTRAP, seed: int = SEED
) -> Agreement:
    """The judge against people, with the figures in the layout of `ditto eval agreement --json`:

    {"consistency": {"kappa", "accuracy", "n", "ci": {"kappa": [lo, hi], "accuracy": [lo, hi]}},
     "rejection": {same}, "knowledge": {"spearman", "kendall", "qwk", "n", "ci": {...}},
     "annotators": {"count", "alpha": {metric: a}, "units": {metric: n}},
     "unmatched": {"judged_only", "human_only"}, "labels": {"query_valid_ignored"},
     "pairs": {"consistency": [[judge, human], ...], "rejection": [...], "knowledge": [...]}}

    "pairs" are the verdicts compared, one [judge, human] per turn in `paired_dialogues` order
    (consistency as 0-based candidate positions, what the kappa is computed on), so that the
    report can draw a confusion matrix and a scatter without the judged and label files.
    Figures are rounded to 4 decimals, None where undefined; each metric's resampling starts
    from `seed`, so one metric's interval does not depend on the others."""
    candidates = {item.id: item.candidates for item in judged}
    judge = judge_verdicts(judged)
    values = label_values(labels, candidates)
    human = people_verdicts(values)
    figures: dict = {}
    skipped: dict[str, dict[str, int]] = {}
    pairs: dict[str, list[list[int]]] = {}
    for metric in COMPARED:
        dialogues = paired_dialogues(judge, human, metric)
        figures[metric], skipped[metric] = compare_metric(dialogues, metric, bootstrap, seed)
        pairs[metric] = [[int(j), int(h)] for judged_turns, human_turns in dialogues
                         for j, h in zip(judged_turns, human_turns)]
    alphas = {metric: annotator_alpha(values, metric) for metric in COMPARED}
    figures["annotators"] = {
        "count": len({label.annotator for label in labels if label.metric != "query_valid"}),
        "alpha": {metric: alpha for metric, (alpha, _) in alphas.items()},
        "units": {metric: units for metric, (_, units) in alphas.items()},
    }
    figures["unmatched"] = {"judged_only": len(judge.keys() - human.keys()),
                            "human_only": len(human.keys() - judge.keys())}
    figures["labels"] = {"query_valid_ignored": sum(label.metric == "query_valid" for label in labels)}
    figures["pairs"] = pairs
    unknown = sorted({label.item for label in labels if label.metric != "query_valid"} - candidates.keys())
    return Agreement(figures, skipped, unknown)


def agreement(
    judged: Sequence[JudgedItem], labels: Sequence[HumanLabel], bootstrap: int = BOOTSTRAP, seed: int = SEED
) -> dict:
    """The figures of `compare` alone: what `ditto eval agreement --json` prints."""
    return compare(judged, labels, bootstrap, seed).figures
