"""WikiRoleEval scores from judged files, computed as the official `scoring.py` does, plus intervals.

Per turn: consistency is the judge's score as stored; rejection is 1 when the judge's verdict
equals the turn's rejection label (an unparsed verdict, null, counts as wrong, as in the
official script); knowledge is the judge's 1-10 score, skipped when it is 0 or null. Means are
over turns (a long dialogue weighs more), for all turns and per language, each metric skipping
its own skipped turns, summed and rounded to 2 decimals as pandas does in the official script
(numpy's pairwise sum, numpy's rounding), so the numbers match it without pandas installed.

The 95% intervals resample whole dialogues, not turns: the turns of one dialogue share a
character and a model's mood, so treating them as independent would make intervals too narrow.

Official judged records keep the eval fields under `meta`; ours (`JudgedItem`) keep them at the
top level. Both are read with `records.eval_field`.
"""

from __future__ import annotations

import math
import reprlib
from pathlib import Path

import numpy as np

from ditto.chat_files import iter_jsonl
from ditto.errors import DittoError
from ditto.evaluate.records import METRICS, eval_field

SCORE_FIELDS = ("consist_scores", "reject_scores", "knowledge_scores")
NOT_LANGUAGES = ("ci", "by_category")  # keys of `score_records` that are not a language or "all"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _score_fault(name: str, value: float) -> str | None:
    """What is wrong with a per-turn score, or None: consistency is 0-1, knowledge 1-10 (0, like
    null, means not judged), and every score a finite number."""
    try:
        number = float(value)
    except OverflowError:  # an integer no float holds
        number = math.inf
    if not math.isfinite(number):
        return "not a finite number"
    if name == "consist_scores" and not 0 <= number <= 1:
        return "outside 0-1"
    if name == "knowledge_scores" and not (number == 0 or 1 <= number <= 10):
        return "outside 1-10 (or 0: not judged)"
    return None


def _short(value: object) -> str:
    """`value` as an error message shows it: its repr, cut to a readable length."""
    return reprlib.repr(value)


def check_judged(record: dict, where: str) -> None:
    """Raise a DittoError naming `where` unless the record can be scored."""
    for name in SCORE_FIELDS:
        if not isinstance(record.get(name), list):
            raise DittoError(f"{where}: no '{name}' list (is this a judged file?)")
    lang = eval_field(record, "lang")
    if not isinstance(lang, str) or not lang:
        raise DittoError(f"{where}: no 'lang' (at the top level or under 'meta')")
    if lang in ("all", *NOT_LANGUAGES):
        raise DittoError(f"{where}: lang is {lang!r}, which names a part of the scores")
    category = eval_field(record, "category")
    if category is not None and not isinstance(category, str):
        raise DittoError(f"{where}: 'category' is {_short(category)}, not a text")
    labels = eval_field(record, "rejection_labels")
    if not isinstance(labels, list):
        raise DittoError(f"{where}: no 'rejection_labels' list (at the top level or under 'meta')")
    lengths = {name: len(record[name]) for name in SCORE_FIELDS} | {"rejection_labels": len(labels)}
    if len(set(lengths.values())) > 1:
        counts = ", ".join(f"{name} {n}" for name, n in lengths.items())
        raise DittoError(f"{where}: the per-turn lists differ in length ({counts})")
    if not labels:
        raise DittoError(f"{where}: no judged turns (the per-turn lists are empty)")
    for name in ("consist_scores", "knowledge_scores", "reject_scores"):
        for turn, value in enumerate(record[name]):
            if value is not None and not _is_number(value):
                raise DittoError(f"{where}: {name}[{turn}] is {_short(value)}, not a number or null")
            fault = None if value is None else _score_fault(name, value)
            if fault:
                raise DittoError(f"{where}: {name}[{turn}] is {_short(value)}, {fault}")


def read_judged(path: str | Path) -> list[dict]:
    """Every record of a judged JSON-lines file, checked; errors name the file and line."""
    records = []
    for number, record in iter_jsonl(path):
        check_judged(record, f"{path}:{number}")
        records.append(record)
    if not records:
        raise DittoError(f"{path}: no records")
    return records


def turn_table(records: list[dict]) -> dict[str, np.ndarray]:
    """One entry per judged turn, column by column: "record" (its position in `records`), "turn"
    (its position in the dialogue, from 0), "lang", "category" and the metrics, as floats with
    NaN where a turn is skipped."""
    record, turn_number, lang, category = [], [], [], []
    scores: dict[str, list[float]] = {metric: [] for metric in METRICS}
    for index, item in enumerate(records):
        item_lang, item_category = eval_field(item, "lang"), eval_field(item, "category") or "unknown"
        turns = zip(
            item["consist_scores"], item["reject_scores"], eval_field(item, "rejection_labels"),
            item["knowledge_scores"],
        )
        for number, (consist, reject, label, knowledge) in enumerate(turns):
            record.append(index)
            turn_number.append(number)
            lang.append(item_lang)
            category.append(item_category)
            scores["consistency"].append(math.nan if consist is None else float(consist))
            scores["knowledge"].append(float(knowledge) if knowledge else math.nan)  # 0 and null: not judged
            scores["rejection"].append(float(reject == label))
    table = {"record": np.array(record, dtype=np.int64), "turn": np.array(turn_number, dtype=np.int64),
             "lang": np.array(lang, dtype=object), "category": np.array(category, dtype=object)}
    return table | {metric: np.array(values, dtype=np.float64) for metric, values in scores.items()}


def _where(turns: dict[str, np.ndarray], selected: np.ndarray) -> dict[str, np.ndarray]:
    """The turns of `turns` where `selected` (a boolean column) is true."""
    return {name: column[selected] for name, column in turns.items()}


def _rounded(value: float, decimals: int) -> float | None:
    """numpy's rounding (the one pandas' `.round` uses); NaN, a metric with no turn, is None."""
    return None if math.isnan(value) else float(np.round(value, decimals))


def _mean(values: np.ndarray) -> float:
    """The mean of the values that are not NaN, summed as pandas' `.mean()` sums; NaN if none."""
    judged = ~np.isnan(values)
    count = int(judged.sum())
    return float(np.where(judged, values, 0.0).sum() / count) if count else math.nan


def turn_means(turns: dict[str, np.ndarray]) -> dict:
    """Each metric's mean over its judged turns (rounded as the official script), and the turns."""
    means = {metric: _rounded(_mean(turns[metric]), 2) for metric in METRICS}
    return means | {"turns": len(turns["record"])}


def _per_dialogue(turns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(sums, counts), one row per dialogue in record order and one column per metric: the sum of
    the metric over the dialogue's judged turns and how many there are."""
    _, starts = np.unique(turns["record"], return_index=True)  # a dialogue's turns are adjacent
    scores = np.stack([turns[metric] for metric in METRICS], axis=1)
    judged = ~np.isnan(scores)
    sums = np.add.reduceat(np.where(judged, scores, 0.0), starts, axis=0)
    return sums, np.add.reduceat(judged.astype(np.int64), starts, axis=0)


def dialogue_intervals(turns: dict[str, np.ndarray], draws: int, seed: int) -> dict[str, list[float] | None]:
    """95% percentile intervals of the turn-weighted means, resampling dialogues with replacement.

    Any table of per-turn values works, differences between two models' turns included (the
    report's paired bootstrap): a turn that is NaN adds nothing and is not counted."""
    sums, counts = _per_dialogue(turns)  # skipped turns add nothing and are not counted
    rng = np.random.default_rng(seed)
    n = len(sums)
    times_drawn = rng.multinomial(n, np.full(n, 1 / n), size=draws)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (times_drawn @ sums) / (times_drawn @ counts)
    intervals = {}
    for column, metric in enumerate(METRICS):
        values = means[:, column][~np.isnan(means[:, column])]
        if len(values) == 0:
            intervals[metric] = None
            continue
        low, high = np.percentile(values, [2.5, 97.5])
        intervals[metric] = [_rounded(low, 3), _rounded(high, 3)]
    return intervals


def score_records(records: list[dict], *, bootstrap: int = 1000, seed: int = 0) -> dict:
    """Means for all turns and per language, their intervals, and means per character category.

    {"all": {"consistency", "knowledge", "rejection", "turns"}, "en": {...}, "zh": {...},
     "ci": {"all": {"consistency": [low, high], ...}, "en": {...}, ...},
     "by_category": {"human": {...}, "fictional": {...}}}. Languages appear only when present;
    `bootstrap` is the number of resamples (0: "ci" is empty). Each group's resampling starts
    from `seed`, so a group's interval does not depend on which other groups exist.
    """
    turns = turn_table(records)
    if not len(turns["record"]):
        raise DittoError("no judged turns to score")
    reserved = {"all", *NOT_LANGUAGES} & set(turns["lang"])
    if reserved:
        raise DittoError(f"a record's lang is {reserved.pop()!r}, which names a part of the scores")
    langs = sorted(set(turns["lang"]) - {None})
    groups = {"all": turns} | {str(lang): _where(turns, turns["lang"] == lang) for lang in langs}
    scores: dict = {name: turn_means(part) for name, part in groups.items()}
    scores["ci"] = (
        {name: dialogue_intervals(part, bootstrap, seed) for name, part in groups.items()} if bootstrap else {}
    )
    categories = sorted(set(turns["category"]))
    scores["by_category"] = {str(name): turn_means(_where(turns, turns["category"] == name)) for name in categories}
    return scores


def plain_scores(scores: dict) -> dict:
    """The `--json` view: {"all": {consistency, knowledge, rejection}, "en": {...}, "zh": {...}}.

    Other keys (the intervals, the categories, anything a caller added) are left out.
    """
    return {
        group: {metric: values[metric] for metric in METRICS}
        for group, values in scores.items()
        if group not in NOT_LANGUAGES and isinstance(values, dict) and "turns" in values
    }


def format_score(mean: float | None, interval: list[float] | None = None) -> str:
    """'0.58 [0.500, 1.000]': the mean as the official script rounds it, the interval as stored."""
    if mean is None:
        return "n/a"
    return f"{mean:.2f}" if interval is None else f"{mean:.2f} [{interval[0]:.3f}, {interval[1]:.3f}]"
