"""The forms of the judge's and the query writer's answers: their schemas (rendered from the
template files, valid whatever the candidates are called) and how answers are read under them."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ditto.errors import DittoError
from ditto.evaluate.config import JudgeConfig
from ditto.evaluate.judge import judge_form, judge_prompt
from ditto.evaluate.records import EvalItem
from ditto.simulate.queries import query_form
from ditto.types import Completion

HOSTILE = 'Dr. "Quote" [Bracket] \\ back}slash {"role":"x"}\nsecond line ' + "ж" * 440


def item_with(candidates: list[str], label: str, lang: str = "en") -> EvalItem:
    return EvalItem(id="i1", lang=lang, label=label, summary="s", system="You are x.", prompts=["Who are you?"],
                    candidates=candidates, rejection_labels=[0], evidence=[""])


def enforced(value) -> Completion:
    return Completion(text=json.dumps(value, ensure_ascii=False), structured="enforced", endpoint="local")


def test_a_hostile_candidate_name_is_one_enum_value_of_a_valid_schema_and_reads_back():
    candidates = ["[Li Bai] A poet.", HOSTILE, "[Hamlet] A prince.", "[Marie Curie] A physicist."]
    item = item_with(candidates, HOSTILE)
    form = judge_form("consistency", item, JudgeConfig(max_tokens=1024), structured=True)
    schema = form.schema.schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["role"]["enum"] == ["Li Bai", HOSTILE.strip(), "Hamlet", "Marie Curie"]
    assert list(schema["properties"]) == ["analysis", "role"]  # the reasoning is written first
    # the analysis leaves room for the longest name within the token limit
    assert schema["properties"]["analysis"]["maxLength"] == 1024 - 32 - len(HOSTILE.strip())
    assert form.read(enforced({"analysis": "It is them.", "role": HOSTILE.strip()})) == (1, "enforced")
    assert form.read(enforced({"analysis": "x", "role": "Li Bai"})) == (0, "enforced")
    # under an enforced schema, an answer outside it is a violation, never guessed at
    assert form.read(enforced({"analysis": "x", "role": "Li"})) == (None, "violated")
    assert form.read(Completion(text='{"analysis": "x", "role": "Hamlet"', structured="enforced")) == (
        None, "violated")
    # from a server that does not enforce, an object in the text is read, else the free-text parser
    assert form.read(Completion(text='Sure: {"analysis": "x", "role": "Hamlet"}', structured="text"))[0] == 2
    assert form.read(Completion(text="The most suitable role is [Marie Curie].", structured="text")) == (3, "text")


def test_verdict_forms_read_their_objects_and_refuse_what_the_schema_refuses():
    item = item_with(["[A] a.", "[B] b.", "[C] c.", "[D] d."], "A")
    knowledge = judge_form("knowledge", item, JudgeConfig(), structured=True)
    assert knowledge.read(enforced({"analysis": "right", "score": 7})) == (7.0, "enforced")
    assert knowledge.read(enforced({"analysis": "right", "score": 11}))[1] == "violated"
    assert knowledge.read(enforced({"score": 7, "analysis": "x", "extra": 1}))[1] == "violated"
    rejection = judge_form("rejection", item, JudgeConfig(), structured=True)
    assert rejection.read(enforced({"refused": 1})) == (1, "enforced")
    assert rejection.read(enforced({"refused": 1, "analysis": "It declines."})) == (1, "enforced")
    assert rejection.read(enforced({"refused": 2}))[1] == "violated"
    # without schemas the forms are the free-text parsers alone
    assert judge_form("knowledge", item, JudgeConfig(), structured=False).schema is None


def test_structured_prompts_ask_for_the_object_and_free_prompts_are_unchanged():
    item = item_with(["[A] a.", "[B] b.", "[C] c.", "[D] d."], "A", lang="zh")
    for metric in ("consistency", "knowledge", "rejection"):
        free = judge_prompt(metric, item, 0, "answer", None)
        structured = judge_prompt(metric, item, 0, "answer", None, structured=True)
        assert "JSON" not in free and "JSON" in structured
        key = {"consistency": '"role"', "knowledge": '"score"', "rejection": '"refused"'}[metric]
        assert key in structured


def test_query_objects_go_through_the_question_checks():
    form = query_form(3, "en", None, structured=True)
    schema = form.schema.schema
    assert schema["properties"]["questions"]["minItems"] == schema["properties"]["questions"]["maxItems"] == 3
    value, outcome = form.read(enforced({"questions": ["Where were you born?", "What is your war?",
                                                       "Where were you born?"]}))
    assert outcome == "enforced" and value.questions == ["Where were you born?", "What is your war?"]
    assert [reason for _, reason in value.rejected] == ["duplicate"]
    assert form.read(enforced({"questions": ["Where were you born?", "Why?"]}))[1] == "violated"  # 2 of 3
    # a raw newline inside a string (llama-cpp-python's grammar lets one through) is read as itself
    value, outcome = form.read(Completion(text='{"questions": ["Where were\nyou born?", "Why war?", "Hm?"]}',
                                          structured="enforced"))
    assert outcome == "violated"  # "Hm?" is under 4 characters: the schema itself still decides
    value, outcome = form.read(Completion(text='{"questions": ["Where were\nyou born?", "Why the war?", '
                                               '"Who are you?"]}', structured="enforced"))
    assert outcome == "enforced" and value.questions[0] == "Where were\nyou born?"
    # valid, but none left after the checks: unread (not a violation), so it is asked again
    assert form.read(enforced({"questions": ["blue sky", "green grass", "red wine"]})) == (None, "unparsed")


def test_a_users_schema_that_is_not_json_is_one_line_naming_its_file(tmp_path):
    (tmp_path / "judge_knowledge.schema.j2").write_text('{"type": "object", {{ analysis_chars }}')
    item = item_with(["[A] a.", "[B] b.", "[C] c.", "[D] d."], "A")
    with pytest.raises(DittoError, match=r"judge_knowledge\.schema\.j2: the rendered schema is not JSON"):
        judge_form("knowledge", item, JudgeConfig(prompts_dir=str(tmp_path)), structured=True)
    (tmp_path / "judge_knowledge.schema.j2").write_text('{"type": "objekt"}')
    with pytest.raises(DittoError, match=r"judge_knowledge\.schema\.j2: not a valid JSON schema"):
        judge_form("knowledge", item, JudgeConfig(prompts_dir=str(tmp_path)), structured=True)
