"""People's labels in the run store: the migration, replacing a correction, all-or-nothing saves."""

from __future__ import annotations

import sqlite3

import pytest

from ditto.store import RunStore, StoredLabel
from ditto.store.migrations import MIGRATIONS, apply_migrations


def test_a_store_made_before_labels_existed_gains_them_and_keeps_its_results(tmp_path):
    db = sqlite3.connect(tmp_path / "store.sqlite", isolation_level=None)
    apply_migrations(db, MIGRATIONS[:4])
    db.execute("INSERT INTO requests (key, model, request, sample_index, text, finish_reason, prompt_tokens, "
               "completion_tokens, latency_s) VALUES ('k', 'm', '{}', 0, 'kept', 'stop', 1, 1, 0.1)")
    db.close()
    with RunStore(tmp_path) as store:
        assert store.count() == 1
        columns = [row[1] for row in store.db.execute("PRAGMA table_info(labels)")]
        assert columns == ["annotator", "task", "item", "turn", "metric", "value", "labelled_at"]
        assert store.labels() == []


def test_labelling_the_same_thing_again_replaces_the_value_and_keeps_others(tmp_path):
    with RunStore(tmp_path) as store:
        store.save_labels([StoredLabel("ann", "turns", "a", 0, "knowledge", 3),
                           StoredLabel("other", "turns", "a", 0, "knowledge", 5),
                           StoredLabel("ann", "turns", "a", 0, "consistency", "李白")])
        store.save_labels([StoredLabel("ann", "turns", "a", 0, "knowledge", 8)])
    with RunStore(tmp_path) as store:
        labels = store.labels()
        assert sorted((s.annotator, s.metric, s.value) for s in labels) == [
            ("ann", "consistency", "李白"), ("ann", "knowledge", 8), ("other", "knowledge", 5)]
        assert all(s.labelled_at.endswith("Z") for s in labels)
        assert [s.value for s in store.labels("turns", "other")] == [5]
        assert store.labels("queries") == []


def test_a_save_that_fails_part_way_keeps_none_of_its_labels(tmp_path):
    with RunStore(tmp_path) as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.save_labels([StoredLabel("ann", "turns", "a", 0, "knowledge", 3),
                               StoredLabel("ann", "turns", "a", None, "knowledge", 4)])  # type: ignore[arg-type]
        assert store.labels() == []
        store.save_labels([StoredLabel("ann", "turns", "a", 1, "knowledge", 4)])  # the store still works
        assert len(store.labels()) == 1
