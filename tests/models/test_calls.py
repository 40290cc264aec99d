"""`complete` and `complete_until_parsed`, the one door for model calls and the parse loop
that queries, the judge and MT-Bench share, on a scripted model."""

from __future__ import annotations

import pytest

from ditto.models.calls import complete, complete_until_parsed
from ditto.store import RunStore
from ditto.types import Message, SamplingParams
from tests.scripted import ScriptedModel, last_user


def chats(*texts: str) -> list[list[Message]]:
    return [[Message(role="user", content=t)] for t in texts]


def number_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def test_complete_answers_every_sample_and_a_rerun_sends_nothing(tmp_path):
    model = ScriptedModel(lambda r: f"{last_user(r)}#{r.sample_index}")
    params = SamplingParams(n=2, seed=5)
    with RunStore(tmp_path) as store:
        first = complete(model, store, chats("a", "b"), params, progress=False)
        again = complete(model, store, chats("a", "b"), params, progress=False)
    assert [[c.text for c in samples] for samples in first] == [["a#0", "a#1"], ["b#0", "b#1"]]
    assert [[c.text for c in samples] for samples in again] == [["a#0", "a#1"], ["b#0", "b#1"]]
    assert len(model.requests) == 4 and all(c.cached for samples in again for c in samples)
    assert [r.params.seed for r in model.requests] == [5, 6, 5, 6]  # sample i: seed + i, n=1 each


def test_a_request_asked_twice_is_sent_once_and_answers_both(tmp_path):
    """Two conversations that are the same request (same key) get one answer, as a re-run
    would read it from the store, and the model is asked once."""
    counter = iter(range(100))
    model = ScriptedModel(lambda r: f"{last_user(r)}-{next(counter)}")
    with RunStore(tmp_path) as store:
        results = complete(model, store, chats("a", "b", "a", "a"), SamplingParams(n=2, seed=1), progress=False)
        assert store.count() == 4
    texts = [[c.text for c in samples] for samples in results]
    assert texts[0] == texts[2] == texts[3] != texts[1]
    assert len(model.requests) == 4  # a#0, a#1, b#0, b#1


def test_complete_takes_a_first_sample_per_conversation(tmp_path):
    model = ScriptedModel(lambda r: str(r.sample_index))
    with RunStore(tmp_path) as store:
        results = complete(model, store, chats("a", "b"), SamplingParams(), first_sample=[3, 7], progress=False)
    assert [samples[0].text for samples in results] == ["3", "7"]


def test_only_unparsed_slots_are_asked_again_as_new_samples(tmp_path):
    """Slot s of a conversation, attempt a, is sample s + a*n: 'x' parses at its third try
    for slot 1 only, 'y' never parses, 'z' parses at once."""
    script = {("x", 0): "4", ("x", 1): "?", ("x", 3): "??", ("x", 5): "6",
              ("z", 0): "1", ("z", 1): "2"}
    model = ScriptedModel(lambda r: script.get((last_user(r), r.sample_index), "not a number"))
    with RunStore(tmp_path) as store:
        results = complete_until_parsed(model, store, chats("x", "y", "z"), SamplingParams(n=2), number_or_none,
                                        max_attempts=3, progress=False)
    x, y, z = results.samples
    assert [s.value for s in x] == [4, 6] and [s.raws for s in x] == [["4"], ["?", "??", "6"]]
    assert [s.value for s in y] == [None, None] and [s.attempts for s in y] == [3, 3]
    assert y[0].raw == "not a number"
    assert [s.value for s in z] == [1, 2]
    asked = [(last_user(r), r.sample_index) for r in model.requests]
    assert asked[:6] == [("x", 0), ("x", 1), ("y", 0), ("y", 1), ("z", 0), ("z", 1)]
    assert asked[6:] == [("x", 3), ("y", 2), ("y", 3), ("x", 5), ("y", 4), ("y", 5)]
    assert model.batches == [6, 3, 3]  # one batch per round, every pending slot in it
    assert results.requests == 12
    assert results.usage.completion_tokens == sum(len(t.split()) for s in results.samples for x in s for t in x.raws)


def test_the_parse_loop_resumes_from_the_store(tmp_path):
    """A re-run asks nothing: every attempt, failed ones included, is a stored sample."""
    model = ScriptedModel(lambda r: "7" if r.sample_index == 2 else "no")
    with RunStore(tmp_path) as store:
        first = complete_until_parsed(model, store, chats("q"), SamplingParams(), number_or_none,
                                      max_attempts=4, progress=False)
        sent = len(model.requests)
        again = complete_until_parsed(model, store, chats("q"), SamplingParams(), number_or_none,
                                      max_attempts=4, progress=False)
    assert sent == 3 and len(model.requests) == 3
    assert again.samples[0][0].raws == first.samples[0][0].raws == ["no", "no", "7"]


def test_one_parser_per_conversation(tmp_path):
    model = ScriptedModel(lambda r: last_user(r))
    parsers = [lambda t: t if t == "keep" else None, lambda t: len(t)]
    with RunStore(tmp_path) as store:
        results = complete_until_parsed(model, store, chats("drop", "keep"), SamplingParams(), parsers,
                                        max_attempts=2, progress=False)
    assert [s[0].value for s in results.samples] == [None, 4]
    assert [s[0].attempts for s in results.samples] == [2, 1]


@pytest.mark.parametrize("max_attempts", [1, 2])
def test_max_attempts_bounds_the_requests(tmp_path, max_attempts):
    model = ScriptedModel(lambda r: "never")
    with RunStore(tmp_path) as store:
        results = complete_until_parsed(model, store, chats("a"), SamplingParams(n=3), number_or_none,
                                        max_attempts=max_attempts, progress=False)
    assert results.requests == len(model.requests) == 3 * max_attempts
