"""People's labels in the run store: each one committed the moment it is given.

A label lives in the run directory it is about, beside the model answers it judges, so that a
page closed mid-way, a crashed server or a second annotator loses nothing and needs no file
of its own. The key is (annotator, task, item, turn, metric): labelling the same thing again
replaces the earlier value (a person going back to correct themselves), and the time says
when it was last given.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredLabel:
    annotator: str
    task: str
    """"turns" (judged turns) or "queries" (simulated queries)."""
    item: str
    turn: int
    metric: str
    value: str | int
    labelled_at: str = ""


def save_labels(db: sqlite3.Connection, labels: Iterable[StoredLabel]) -> int:
    """Insert or replace `labels` in one transaction (all of them or none); returns how many."""
    rows = [(label.annotator, label.task, label.item, label.turn, label.metric,
             json.dumps(label.value, ensure_ascii=False)) for label in labels]
    db.execute("BEGIN")
    try:
        db.executemany(
            "INSERT INTO labels (annotator, task, item, turn, metric, value) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (annotator, task, item, turn, metric) DO UPDATE SET value = excluded.value, "
            "labelled_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            rows,
        )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return len(rows)


def read_labels(db: sqlite3.Connection, task: str | None = None, annotator: str | None = None) -> list[StoredLabel]:
    """The stored labels, oldest first (ties in the order they were first given)."""
    clauses, values = [], []
    for column, wanted in (("task", task), ("annotator", annotator)):
        if wanted is not None:
            clauses.append(f"{column} = ?")
            values.append(wanted)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.execute(
        "SELECT annotator, task, item, turn, metric, value, labelled_at FROM labels"
        f"{where} ORDER BY labelled_at, rowid",
        values,
    )
    return [StoredLabel(a, t, i, n, m, json.loads(v), at) for a, t, i, n, m, v, at in rows]
