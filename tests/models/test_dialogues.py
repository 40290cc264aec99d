"""`complete_dialogues`: turn t of every dialogue in one batch, with the dialogue so far."""

from __future__ import annotations

from ditto.models.dialogues import Dialogue, complete_dialogues
from ditto.store import RunStore
from ditto.types import SamplingParams
from tests.scripted import ScriptedModel, last_user


def test_each_turn_sees_the_dialogue_so_far_and_is_one_batch(tmp_path):
    model = ScriptedModel(lambda r: f"re:{last_user(r)}")
    dialogues = [Dialogue(prompts=["a1", "a2", "a3"], system="S"), Dialogue(prompts=["b1"])]
    with RunStore(tmp_path) as store:
        usage = complete_dialogues(model, store, dialogues, SamplingParams(), description="t", progress=False)
    assert [[a.text for a in d.answers] for d in dialogues] == [["re:a1", "re:a2", "re:a3"], ["re:b1"]]
    assert model.batches == [2, 1, 1]
    last = model.requests[-1].messages
    assert [(m.role, m.content) for m in last] == [
        ("system", "S"), ("user", "a1"), ("assistant", "re:a1"), ("user", "a2"), ("assistant", "re:a2"),
        ("user", "a3")]
    assert model.requests[1].messages[0].role == "user"  # no system prompt: no system message
    assert usage.completion_tokens == 4


def test_end_if_ends_a_dialogue_before_the_answer_it_refuses(tmp_path):
    model = ScriptedModel(lambda r: "" if last_user(r) == "a2" else "ok")
    dialogues = [Dialogue(prompts=["a1", "a2", "a3"]), Dialogue(prompts=["b1", "b2", "b3"])]
    with RunStore(tmp_path) as store:
        complete_dialogues(model, store, dialogues, SamplingParams(), description="t", progress=False,
                           end_if=lambda c: None if c.text else "empty reply")
    assert [len(d.answers) for d in dialogues] == [1, 3]
    assert dialogues[0].ended == "empty reply at turn 2" and dialogues[1].ended is None
    assert model.batches == [2, 2, 1]  # the ended dialogue asks nothing more


def test_requests_go_out_in_the_order_given(tmp_path):
    model = ScriptedModel(lambda r: "x")
    dialogues = [Dialogue(prompts=[p]) for p in ("c", "a", "b")]
    with RunStore(tmp_path) as store:
        complete_dialogues(model, store, dialogues, SamplingParams(), description="t", progress=False)
    assert [last_user(r) for r in model.requests] == ["c", "a", "b"]
