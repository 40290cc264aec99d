"""Between the run store's labels and the JSON-lines files `ditto eval agreement` reads.

The file layout is `evaluate/human_labels.py`'s (one label a line: item, turn, metric,
value, annotator), plus `labelled_at`, which readers ignore: an export read back is the
same labels, and a file from elsewhere imports with the same checks as `eval agreement`
applies (a consistency value must name a candidate of its item, an annotator labels a
thing once), so that a typo is refused at import rather than found in a figure later.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ditto.annotate.sample import Task, Unit
from ditto.chat_files import write_jsonl_atomic
from ditto.errors import DittoError
from ditto.evaluate.human_labels import HumanLabel, candidate_index, check_labels, value_fault
from ditto.store import RunStore, StoredLabel

METRIC_TASK = {"consistency": "turns", "knowledge": "turns", "rejection": "turns", "query_valid": "queries"}


def task_of(metric: str) -> Task:
    return METRIC_TASK[metric]  # type: ignore[return-value]


def label_record(label: StoredLabel) -> dict:
    """One line of an export."""
    return {"item": label.item, "turn": label.turn, "metric": label.metric, "value": label.value,
            "annotator": label.annotator, "labelled_at": label.labelled_at}


def export_labels(store: RunStore, path: str | Path, task: Task | None = None) -> int:
    """Write the run's labels (of `task`, or all) to `path`, one a line; returns how many."""
    labels = store.labels(task)
    write_jsonl_atomic(path, (label_record(label) for label in labels))
    return len(labels)


def stored(label: HumanLabel) -> StoredLabel:
    return StoredLabel(annotator=label.annotator, task=task_of(label.metric), item=label.item, turn=label.turn,
                       metric=label.metric, value=label.value)


def candidates_of(units: Sequence[Unit]) -> dict[str, list[str]]:
    """item id -> its candidates' names, for checking consistency labels."""
    return {unit.item: [c.name for c in unit.candidates] for unit in units if unit.candidates}


def import_labels(store: RunStore, records: Iterable[tuple[str, dict]], units: Sequence[Unit], source: str) -> int:
    """Check every label of `records` ((where, record) pairs: `jsonl_records`, or
    label_studio.read_export) first, so that nothing is stored when one is wrong, then store
    them; a label of something the run does not hold is refused too."""
    known = {unit.key for unit in units}
    labels = check_labels(records, candidates_of(units))
    if not labels:
        raise DittoError(f"{source}: no labels")
    for label in labels:
        if (label.item, label.turn) not in known:
            raise DittoError(f"label of item {label.item!r} turn {label.turn} by {label.annotator!r}: "
                             f"the run directory has no such {'query' if label.metric == 'query_valid' else 'turn'}")
    return store.save_labels([stored(label) for label in labels])


def checked_value(unit: Unit, metric: str, raw: str) -> str | int:
    """The value of a label posted from the page, or a DittoError saying why it cannot be."""
    if metric not in unit.metrics:
        raise DittoError(f"{metric} is not asked about item {unit.item!r} turn {unit.turn}")
    if metric == "consistency":
        names = [c.name for c in unit.candidates]
        if candidate_index(names, raw) is None:
            raise DittoError(f"{raw!r} is no candidate of item {unit.item!r}")
        return raw.strip()
    try:
        value = int(raw)
    except ValueError:
        raise DittoError(f"{metric} value {raw!r} is not an integer") from None
    if fault := value_fault(metric, value):
        raise DittoError(fault)
    return value


def labels_for(store: RunStore, task: Task, annotator: str) -> dict[tuple[str, int], dict[str, str | int]]:
    """(item, turn) -> {metric: value} of one annotator."""
    found: dict[tuple[str, int], dict[str, str | int]] = {}
    for label in store.labels(task, annotator):
        found.setdefault((label.item, label.turn), {})[label.metric] = label.value
    return found


def annotators(store: RunStore, task: Task) -> list[str]:
    return sorted({label.annotator for label in store.labels(task)})


def save_posted(store: RunStore, task: Task, annotator: str, unit: Unit, values: dict[str, str | int]) -> None:
    store.save_labels([StoredLabel(annotator=annotator, task=task, item=unit.item, turn=unit.turn, metric=metric,
                                   value=value) for metric, value in values.items()])


def finished(unit: Unit, labelled: dict[tuple[str, int], dict]) -> bool:
    """Whether every question about `unit` has a label in `labelled` (`labels_for`)."""
    return all(metric in labelled.get(unit.key, {}) for metric in unit.metrics)


def progress(units: Iterable[Unit], labelled: dict[tuple[str, int], dict]) -> int:
    """Units with every question answered."""
    return sum(finished(unit, labelled) for unit in units)
