"""WikiRoleEval scores from judged files, computed as the official `scoring.py` does, plus intervals.

Per turn: consistency is the judge's score as stored; rejection is 1 when the judge's verdict
equals the turn's rejection label (an unparsed verdict, null, counts as wrong, as in the
official script); knowledge is the judge's 1-10 score, skipped when it is 0 or null. Means are
over turns (a long dialogue weighs more), for all turns and per language, each metric skipping
its own skipped turns, rounded to 2 decimals with pandas' rounding as the official script.

The 95% intervals resample whole dialogues, not turns: the turns of one dialogue share a
character and a model's mood, so treating them as independent would make intervals too narrow.

Official judged records keep the eval fields under `meta`; ours (`JudgedItem`) keep them at the
top level. Both are read: the top-level value first, else the one under `meta`.
"""

from __future__ import annotations

import math
import reprlib
from pathlib import Path

import numpy as np
import pandas as pd

from ditto.chat_files import iter_jsonl
from ditto.errors import DittoError

METRICS = ("consistency", "knowledge", "rejection")
SCORE_FIELDS = ("consist_scores", "reject_scores", "knowledge_scores")
NOT_LANGUAGES = ("ci", "by_category")  # keys of `score_records` that are not a language or "all"


def eval_field(record: dict, name: str) -> object:
    """The record's value for `name`: at the top level (ours), else under `meta` (official)."""
    if record.get(name) is not None:
        return record[name]
    meta = record.get("meta")
    return meta.get(name) if isinstance(meta, dict) else None


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


def turn_table(records: list[dict]) -> pd.DataFrame:
    """One row per judged turn: record (its position in `records`), lang, category and the metrics."""
    rows = []
    for index, record in enumerate(records):
        lang = eval_field(record, "lang")
        category = eval_field(record, "category") or "unknown"
        turns = zip(
            record["consist_scores"], record["reject_scores"], eval_field(record, "rejection_labels"),
            record["knowledge_scores"],
        )
        for consist, reject, label, knowledge in turns:
            rows.append({
                "record": index,
                "lang": lang,
                "category": category,
                "consistency": math.nan if consist is None else float(consist),
                "rejection": int(reject == label),
                "knowledge": float(knowledge) if knowledge else math.nan,  # 0 and null: not judged
            })
    return pd.DataFrame(rows, columns=["record", "lang", "category", *METRICS])


def _rounded(value: float, decimals: int) -> float | None:
    """numpy's rounding (the one pandas' `.round` uses); NaN, a metric with no turn, is None."""
    return None if math.isnan(value) else float(np.round(value, decimals))


def _means(turns: pd.DataFrame) -> dict:
    means = {metric: _rounded(turns[metric].mean(), 2) for metric in METRICS}
    return means | {"turns": len(turns)}


def _intervals(turns: pd.DataFrame, draws: int, seed: int) -> dict[str, list[float] | None]:
    """95% percentile intervals of the turn-weighted means, resampling dialogues with replacement."""
    per_record = turns.groupby("record")[list(METRICS)]
    sums = per_record.sum().to_numpy()  # skipped turns add nothing...
    counts = per_record.count().to_numpy()  # ...and are not counted
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
    if turns.empty:
        raise DittoError("no judged turns to score")
    reserved = {"all", *NOT_LANGUAGES} & set(turns["lang"])
    if reserved:
        raise DittoError(f"a record's lang is {reserved.pop()!r}, which names a part of the scores")
    groups = {"all": turns} | {str(lang): part for lang, part in turns.groupby("lang", sort=True)}
    scores: dict = {name: _means(part) for name, part in groups.items()}
    scores["ci"] = {name: _intervals(part, bootstrap, seed) for name, part in groups.items()} if bootstrap else {}
    scores["by_category"] = {str(name): _means(part) for name, part in turns.groupby("category", sort=True)}
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
