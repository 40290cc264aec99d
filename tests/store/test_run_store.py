import sqlite3

import pytest

from ditto.errors import DittoError
from ditto.store import RunStore, request_key
from ditto.store.migrations import MIGRATIONS
from ditto.types import ChatRequest, Completion, Message, SamplingParams, Usage


def make_request(content: str = "hi", sample_index: int = 0, **params) -> ChatRequest:
    return ChatRequest(
        messages=(Message(role="user", content=content),),
        params=SamplingParams(**params).for_sample(sample_index),
        sample_index=sample_index,
    )


def test_key_depends_on_what_changes_the_output():
    base = request_key("m", make_request())
    assert request_key("m", make_request()) == base
    assert request_key("other-model", make_request()) != base
    assert request_key("m", make_request("hello")) != base
    assert request_key("m", make_request(temperature=0.1)) != base
    assert request_key("m", make_request(sample_index=1)) != base


def test_n_does_not_change_a_samples_key():
    """Asking for 3 samples after asking for 1 reuses the first sample."""
    one = ChatRequest(messages=(Message(role="user", content="x"),), params=SamplingParams(n=1).for_sample(0))
    three = ChatRequest(messages=(Message(role="user", content="x"),), params=SamplingParams(n=3).for_sample(0))
    assert request_key("m", one) == request_key("m", three)


def test_results_survive_reopening(tmp_path):
    request = make_request()
    key = request_key("m", request)
    completion = Completion(text="hello", finish_reason="stop", usage=Usage(prompt_tokens=3, completion_tokens=2))
    with RunStore(tmp_path / "run") as store:
        store.put(key, "m", request, completion, 0.5)
    with RunStore(tmp_path / "run") as store:
        found = store.get_many([key, "missing"])
    assert list(found) == [key]
    assert found[key].text == "hello"
    assert found[key].usage.completion_tokens == 2
    assert found[key].cached


def test_writing_the_same_key_twice_keeps_one_row(tmp_path):
    request = make_request()
    key = request_key("m", request)
    with RunStore(tmp_path) as store:
        store.put(key, "m", request, Completion(text="a"), 0.1)
        store.put(key, "m", request, Completion(text="b"), 0.1)
        assert store.count() == 1
        assert store.get_many([key])[key].text == "a"


def test_database_is_in_wal_mode_and_migrated(tmp_path):
    RunStore(tmp_path).close()
    db = sqlite3.connect(tmp_path / "store.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_second_process_on_same_run_directory_is_refused(tmp_path):
    import subprocess
    import sys

    with RunStore(tmp_path):
        result = subprocess.run(
            [sys.executable, "-c", f"from ditto.store import RunStore; RunStore({str(tmp_path)!r})"],
            capture_output=True,
            text=True,
        )
    assert result.returncode != 0
    assert "in use by another ditto process" in result.stderr
    RunStore(tmp_path).close()  # free again once the first one closed


def test_unwritable_run_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DittoError, match="--run"):
        RunStore(blocker / "run")


def documented_key(material: dict) -> str:
    """The key as request_key's docstring defines it, computed here without ditto."""
    import hashlib
    import json

    encoded = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


OLD_PARAMS = {"max_tokens": 64, "temperature": 0.5, "top_p": 0.9, "stop": ["\n"], "seed": 3}
"""Every sampling setting a key held before repetition_penalty existed (n is never hashed)."""


def test_a_key_without_repetition_penalty_is_the_key_stores_already_hold():
    """Run directories made before --repetition-penalty existed keep their results: leaving
    it unset gives exactly the old key, computed here from the documented material."""
    request = ChatRequest(
        messages=(Message(role="system", content="Tu es Molière."), Message(role="user", content="你好")),
        params=SamplingParams(max_tokens=64, temperature=0.5, top_p=0.9, stop=("\n",), seed=3, n=4).for_sample(0),
    )
    old = documented_key({
        "model": "openai:m",
        "messages": [{"role": "system", "content": "Tu es Molière."}, {"role": "user", "content": "你好"}],
        "params": OLD_PARAMS,
        "sample_index": 0,
    })
    assert request_key("openai:m", request) == old


def test_a_set_repetition_penalty_is_part_of_the_key():
    params = {**OLD_PARAMS, "seed": None}
    request = make_request(max_tokens=64, temperature=0.5, top_p=0.9, stop=("\n",), repetition_penalty=1.1)
    assert request_key("m", request) == documented_key({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "params": {**params, "repetition_penalty": 1.1}, "sample_index": 0,
    })
    unset = make_request(max_tokens=64, temperature=0.5, top_p=0.9, stop=("\n",))
    other = make_request(max_tokens=64, temperature=0.5, top_p=0.9, stop=("\n",), repetition_penalty=1.2)
    assert len({request_key("m", request), request_key("m", unset), request_key("m", other)}) == 3


def test_repetition_penalty_must_be_positive():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SamplingParams(repetition_penalty=0.0)
