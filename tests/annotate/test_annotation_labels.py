"""The sample people label, and labels in and out: JSON lines, Label Studio, the store."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from ditto.annotate.sample import annotation_sample
from ditto.store import RunStore, StoredLabel
from tests.annotate.runs import RECORDS, SESSIONS, write_judged_run, write_simulate_run
from tests.in_process import ditto_in_process


def test_the_sample_is_the_same_for_every_annotator_and_covers_both_languages_and_kinds(tmp_path):
    run_dir = write_judged_run(tmp_path / "eval")
    first = annotation_sample(run_dir, "turns", 4, seed=3)
    assert [u.key for u in first] == [u.key for u in annotation_sample(run_dir, "turns", 4, seed=3)]
    assert {(u.lang, u.kind) for u in first} == {("en", "role_specific"), ("en", "contrastive"),
                                                ("zh", "role_specific"), ("zh", "contrastive")}
    seeds = {tuple(u.key for u in annotation_sample(run_dir, "turns", 4, seed)) for seed in range(6)}
    assert len(seeds) > 1, "the seed chooses the sample"
    everything = annotation_sample(run_dir, "turns", 100, seed=0)
    assert sorted(u.key for u in everything) == sorted(
        (r["id"], t) for r in RECORDS for t in range(len(r["prompts"])))


def test_the_query_sample_is_half_role_specific_half_contrastive(tmp_path):
    run_dir = write_simulate_run(tmp_path / "sim")
    for seed in range(5):
        kinds = [u.kind for u in annotation_sample(run_dir, "queries", 4, seed)]
        assert sorted(kinds) == ["contrastive", "contrastive", "role_specific", "role_specific"]


def stored_labels(run_dir) -> list[tuple]:
    with RunStore(run_dir) as store:
        return sorted((s.annotator, s.item, s.turn, s.metric, s.value) for s in store.labels())


GIVEN = [
    StoredLabel("ann1", "turns", "en-1", 0, "consistency", "Sherlock Holmes"),
    StoredLabel("ann1", "turns", "en-1", 0, "knowledge", 7),
    StoredLabel("ann1", "turns", "zh-1", 1, "rejection", 1),
    StoredLabel("ann2", "turns", "zh-1", 1, "consistency", "李白"),
]


def test_labels_exported_import_into_another_run_as_they_were(tmp_path):
    source = write_judged_run(tmp_path / "source")
    with RunStore(source) as store:
        store.save_labels(GIVEN)
        store.save_labels([StoredLabel("ann1", "turns", "en-1", 0, "knowledge", 9)])  # a correction replaces
    out = tmp_path / "labels.jsonl"
    assert ditto_in_process("annotate", "export", str(source), "--out", str(out)).returncode == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {(x["annotator"], x["item"], x["turn"], x["metric"], x["value"]) for x in lines} == {
        ("ann1", "en-1", 0, "consistency", "Sherlock Holmes"), ("ann1", "en-1", 0, "knowledge", 9),
        ("ann1", "zh-1", 1, "rejection", 1), ("ann2", "zh-1", 1, "consistency", "李白")}
    target = write_judged_run(tmp_path / "target")
    result = ditto_in_process("annotate", "import", str(target), str(out))
    assert result.returncode == 0, result.stderr
    assert stored_labels(target) == stored_labels(source)
    # and `ditto eval agreement` reads the export as it is
    agreement = ditto_in_process("eval", "agreement", str(target / "judged.jsonl"), str(out), "--json",
                                 "--bootstrap", "0")
    assert agreement.returncode == 0, agreement.stderr
    figures = json.loads(agreement.stdout)
    # consistency: en-1 turn 0 (ann1) and zh-1 turn 1 (ann2); knowledge and rejection one turn each
    assert figures["consistency"]["n"] == 2 and figures["knowledge"]["n"] == 1 and figures["rejection"]["n"] == 1


@pytest.mark.parametrize(("bad", "message"), [
    ({"item": "en-1", "turn": 0, "metric": "consistency", "value": "Watson", "annotator": "a"}, "no consistency"),
    ({"item": "en-1", "turn": 0, "metric": "knowledge", "value": 0, "annotator": "a"}, "not an integer 1-10"),
    ({"item": "en-9", "turn": 0, "metric": "knowledge", "value": 5, "annotator": "a"}, "has no such turn"),
    ({"item": "en-1", "turn": 7, "metric": "rejection", "value": 1, "annotator": "a"}, "has no such turn"),
])
def test_one_bad_label_refuses_the_whole_import_in_one_line(tmp_path, bad, message):
    run_dir = write_judged_run(tmp_path / "eval")
    good = {"item": "en-1", "turn": 1, "metric": "rejection", "value": 1, "annotator": "a"}
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    result = ditto_in_process("annotate", "import", str(run_dir), str(path))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert message in line
    if "no such turn" not in message:
        assert line.startswith(f"error: {path}:2: ")
    assert stored_labels(run_dir) == []


def label_studio_annotation(results: list[tuple[str, str, dict]], who, cancelled: bool = False) -> dict:
    """One annotation as Label Studio's JSON export writes it."""
    return {"id": 1, "completed_by": who, "was_cancelled": cancelled, "ground_truth": False,
            "result": [{"id": f"r{i}", "from_name": name, "to_name": "reply", "type": kind, "value": value,
                        "origin": "manual"} for i, (name, kind, value) in enumerate(results)]}


def test_label_studio_tasks_out_and_annotations_back_in(tmp_path):
    run_dir = write_judged_run(tmp_path / "eval")
    tasks_file = tmp_path / "tasks.json"
    result = ditto_in_process("annotate", "export", str(run_dir), "--format", "label-studio", "--out",
                              str(tasks_file), "--sample", "10")
    assert result.returncode == 0, result.stderr
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    assert len(tasks) == 6
    first = tasks[0]["data"]
    record = next(r for r in RECORDS if r["id"] == first["ditto_item"])
    assert first["question"] == record["prompts"][first["ditto_turn"]]
    assert first["reply"] == record["answers"][first["ditto_turn"]]
    assert [c["value"] for c in first["candidates"]] == [
        line[1:].split("]")[0] if line.startswith("[") else line[1:].split("】")[0] for line in record["candidates"]]
    interface = ElementTree.fromstring((tmp_path / "tasks.config.xml").read_text(encoding="utf-8"))
    controls = {element.get("name"): element for element in interface.iter() if element.get("toName")}
    assert controls["consistency"].get("value") == "$candidates"
    assert controls["knowledge"].tag == "Rating" and controls["knowledge"].get("maxRating") == "10"
    assert [c.get("value") for c in controls["rejection"]] == ["refused", "answered"]

    # What Label Studio exports after two people labelled the first task (one cancelled another).
    speaker = first["candidates"][1]["value"]
    tasks[0] |= {"id": 17, "annotations": [
        label_studio_annotation([("consistency", "choices", {"choices": [speaker]}),
                                 ("knowledge", "rating", {"rating": 6}),
                                 ("rejection", "choices", {"choices": ["refused"]})], who=3),
        label_studio_annotation([("knowledge", "rating", {"rating": 2})], who={"id": 4, "email": "kim@lab.org"}),
        label_studio_annotation([("knowledge", "rating", {"rating": 9})], who=5, cancelled=True),
    ]}
    exported = tmp_path / "label-studio-export.json"
    exported.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    result = ditto_in_process("annotate", "import", str(run_dir), str(exported), "--format", "label-studio")
    assert result.returncode == 0, result.stderr
    item, turn = first["ditto_item"], first["ditto_turn"]
    assert stored_labels(run_dir) == sorted([
        ("label-studio-3", item, turn, "consistency", speaker), ("label-studio-3", item, turn, "knowledge", 6),
        ("label-studio-3", item, turn, "rejection", 1), ("kim@lab.org", item, turn, "knowledge", 2)])


def test_a_label_studio_choice_ditto_does_not_know_names_the_task(tmp_path):
    run_dir = write_judged_run(tmp_path / "eval")
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps([{"data": {"ditto_item": "en-1", "ditto_turn": 0}, "annotations": [
        label_studio_annotation([("rejection", "choices", {"choices": ["maybe"]})], who=1)]}]), encoding="utf-8")
    result = ditto_in_process("annotate", "import", str(run_dir), str(exported), "--format", "label-studio")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {exported}: task 1: rejection choice 'maybe' is none of "
                                     "refused, answered")
    assert stored_labels(run_dir) == []


def test_status_shows_each_annotators_progress_and_the_valid_share_per_kind(tmp_path):
    run_dir = write_simulate_run(tmp_path / "sim")
    contrastive = [(s["id"], t) for s in SESSIONS for t, turn in enumerate(s["turns"]) if turn["kind"] == "contrastive"]
    with RunStore(run_dir) as store:
        store.save_labels([StoredLabel("ann1", "queries", item, turn, "query_valid", value)
                           for (item, turn), value in zip(contrastive, (1, 0, 0))])
    result = ditto_in_process("annotate", "status", str(run_dir), "--task", "queries")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "ann1" in line)
    assert "3 / 6" in row and "0.33 of 3" in row
