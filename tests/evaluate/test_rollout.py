"""Rollout: every eval item answered turn by turn under its own system prompt."""

from __future__ import annotations

from ditto.evaluate.records import EvalItem
from ditto.evaluate.rollout import rollout
from ditto.store import RunStore
from ditto.types import SamplingParams
from tests.scripted import ScriptedModel, last_user


def item(id: str, prompts: list[str], system: str = "You are X.") -> EvalItem:
    return EvalItem(id=id, lang="en", label="X", system=system, prompts=prompts)


def test_each_item_is_one_chat_answered_in_prompt_order(tmp_path):
    model = ScriptedModel(lambda r: f"{r.messages[0].content}|{last_user(r)}|{len(r.messages)}")
    items = [item("a", ["q1", "q2"], "You are A."), item("b", ["p1"], "You are B.")]
    with RunStore(tmp_path) as store:
        answers, usage = rollout(model, store, items, SamplingParams(max_tokens=8, seed=0), progress=False)
    assert answers == [["You are A.|q1|2", "You are A.|q2|4"], ["You are B.|p1|2"]]
    assert usage.completion_tokens == sum(len(a.split()) for answer in answers for a in answer)
    assert usage.prompt_tokens > 0
    assert model.requests[-1].messages[2].content == "You are A.|q1|2"  # its own earlier answer in context


def test_a_rerun_is_answered_from_the_store(tmp_path):
    model = ScriptedModel(lambda r: "same")
    items = [item("a", ["q1", "q2"])]
    with RunStore(tmp_path) as store:
        first, _ = rollout(model, store, items, SamplingParams(), progress=False)
        again, _ = rollout(model, store, items, SamplingParams(), progress=False)
    assert first == again and len(model.requests) == 2
