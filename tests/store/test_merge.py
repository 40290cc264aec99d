"""`ditto merge`: the shards' stores joined into one, nothing lost, nothing changed."""

import sqlite3

import pytest

from ditto.errors import DittoError
from ditto.store import RunStore, request_key
from ditto.store.merge_runs import merge_runs
from ditto.types import ChatRequest, Completion, Message, SamplingParams, Usage
from tests.in_process import ditto_in_process


def request(text: str) -> ChatRequest:
    return ChatRequest(messages=(Message(role="user", content=text),), params=SamplingParams(max_tokens=8))


def fill(run_dir, answers: dict[str, str]) -> None:
    with RunStore(run_dir) as store:
        for question, answer in answers.items():
            r = request(question)
            completion = Completion(text=answer, usage=Usage(prompt_tokens=3, completion_tokens=2))
            store.put(request_key("m", r), "m", r, completion, 0.1)


def stored(run_dir) -> dict[str, str]:
    with RunStore(run_dir) as store:
        keys = {request_key("m", request(q)): q for q in ("a", "b", "c", "d")}
        return {keys[k]: c.text for k, c in store.get_many(list(keys)).items()}


def test_merge_joins_every_result_and_keeps_the_first_of_a_conflict(tmp_path):
    fill(tmp_path / "s1", {"a": "A", "b": "B"})
    fill(tmp_path / "s2", {"b": "B", "c": "C", "d": "D?"})
    fill(tmp_path / "s3", {"d": "D!"})
    source_bytes = (tmp_path / "s2" / "store.sqlite").read_bytes()
    report = merge_runs(tmp_path / "merged", [tmp_path / "s1", tmp_path / "s2", tmp_path / "s3"])
    assert stored(tmp_path / "merged") == {"a": "A", "b": "B", "c": "C", "d": "D?"}
    assert report.added == {str(tmp_path / "s1"): 2, str(tmp_path / "s2"): 2, str(tmp_path / "s3"): 0}
    assert (report.total, report.already_present, report.differing) == (4, 2, 1)
    with sqlite3.connect(tmp_path / "s2" / "store.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 3
    assert (tmp_path / "s2" / "store.sqlite").read_bytes() == source_bytes
    again = merge_runs(tmp_path / "merged", [tmp_path / "s1"])
    assert again.added == {str(tmp_path / "s1"): 0} and again.total == 4


def test_a_shard_still_running_is_refused(tmp_path):
    fill(tmp_path / "s1", {"a": "A"})
    with RunStore(tmp_path / "s1"):
        with pytest.raises(DittoError, match="is in use by another ditto process"):
            merge_runs(tmp_path / "merged", [tmp_path / "s1"])


def test_cli_refuses_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "empty").mkdir()
    result = ditto_in_process("merge", str(tmp_path / "m"), str(tmp_path / "empty"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: ditto merge: {tmp_path / 'empty'} is not a run directory (no store.sqlite)"
    assert not (tmp_path / "m").exists()


def test_merge_brings_the_shards_probes_so_the_rerun_probes_nothing(tmp_path):
    with RunStore(tmp_path / "s1") as store:
        store.record_probe("openai:m", "http://127.0.0.1:8000/v1", "json_schema", True, "enforced")
    with RunStore(tmp_path / "s2") as store:
        store.record_probe("openai:m", "http://127.0.0.1:8000/v1", "json_schema", True, "enforced")
        store.record_probe("openai:m", "http://127.0.0.1:8001/v1", None, False, "free text")
    merge_runs(tmp_path / "merged", [tmp_path / "s1", tmp_path / "s2"])
    with RunStore(tmp_path / "merged") as store:
        probes = store.probes()
        assert [(p["endpoint"], p["enforced"]) for p in probes] == [
            ("http://127.0.0.1:8000/v1", True), ("http://127.0.0.1:8001/v1", False)]
        assert store.latest_probe("openai:m", "http://127.0.0.1:8000/v1")["form"] == "json_schema"
