"""The query-validity judge on a scripted judge and a real run store: what it asks, how its
answers become verdicts, that a re-run asks nothing, and the figures made from the verdicts
(shares per kind, agreement with people's labels, kappa computed by hand)."""

from __future__ import annotations

import json

import pytest

from ditto.evaluate.config import JudgeConfig
from ditto.store import RunStore, StoredLabel
from ditto.study.query_validity import (
    RatedQuery,
    agreement_with_people,
    parse_validity,
    rate_queries,
    validity_by_kind,
)
from ditto.types import ChatRequest, Session, Turn
from tests.scripted import ScriptedModel, last_user


def session(session_id: str, lang: str, name: str, turns: list[tuple[str, str]]) -> Session:
    return Session(
        id=session_id, character_id=session_id, lang=lang, name=name, description=f"{name}, as the profile says.",
        partner_id="Q0",
        turns=[Turn(query=q, response="...", kind=kind, query_owner_id=session_id, partner_id="Q0",
                    rejection_label=int(kind == "contrastive")) for q, kind in turns],
    )


SESSIONS = [
    session("Q1-en", "en", "Sherlock Holmes", [("Where do you live?", "role_specific"),
                                               ("What is a smartphone?", "contrastive")]),
    session("Q2-zh", "zh", "孙悟空", [("金箍棒有多重？", "role_specific"), ("什么是相对论？", "contrastive")]),
]
ANSWERS = {"Where do you live?": "Valid", "What is a smartphone?": "**Not valid.**",
           "金箍棒有多重？": "有效", "什么是相对论？": "I cannot tell."}


def answer_by_query(answers: dict[str, str]):
    def answer(request: ChatRequest) -> str:
        prompt = last_user(request)
        return next(text for query, text in answers.items() if query in prompt)

    return answer


def rate(run_dir, judge, config=JudgeConfig(n=1, max_reasks=2)) -> list[RatedQuery]:
    with RunStore(run_dir) as store:
        return rate_queries(judge, store, SESSIONS, config, progress=False)


def test_the_prompt_carries_the_character_the_query_and_its_kind_and_samples_are_seeded(tmp_path):
    judge = ScriptedModel(answer_by_query(dict.fromkeys(ANSWERS, "valid")))
    rate(tmp_path, judge, JudgeConfig(n=2, seed=7))
    prompts = {}
    for request in judge.requests:
        prompts.setdefault(next(q for q in ANSWERS if q in last_user(request)), last_user(request))
        assert request.params.seed == 7 + request.sample_index and request.response_schema is None
    for s in SESSIONS:
        for turn in s.turns:
            prompt = prompts[turn.query]
            assert s.name in prompt and s.description in prompt and "JSON" not in prompt
    assert "role-specific" in prompts["Where do you live?"] and "contrastive" not in prompts["Where do you live?"]
    assert "contrastive" in prompts["What is a smartphone?"] and "role-specific" not in prompts["What is a smartphone?"]
    assert "角色相关问题" in prompts["金箍棒有多重？"] and "对比问题" in prompts["什么是相对论？"]
    assert sorted(r.sample_index for r in judge.requests) == [0] * 4 + [1] * 4


def test_answers_map_to_verdicts_unparsed_after_every_attempt_is_none_and_a_rerun_asks_nothing(tmp_path):
    judge = ScriptedModel(answer_by_query(ANSWERS))
    rated = rate(tmp_path, judge)
    assert [(r.session, r.turn, r.kind, r.valid) for r in rated] == [
        ("Q1-en", 0, "role_specific", True), ("Q1-en", 1, "contrastive", False),
        ("Q2-zh", 0, "role_specific", True), ("Q2-zh", 1, "contrastive", None),
    ]
    assert rated[0].character == "Sherlock Holmes" and rated[3].query == "什么是相对论？"
    assert rated[0].prompt_version == "judge_query_validity@1"
    # the unparsed query was asked 1 + max_reasks times, each a new sample; the others once
    unparsed = [r for r in judge.requests if "什么是相对论？" in last_user(r)]
    assert [r.sample_index for r in unparsed] == [0, 1, 2] and len(judge.requests) == 6
    again = ScriptedModel(answer_by_query(ANSWERS))
    assert rate(tmp_path, again) == rated and again.requests == []


def test_samples_are_majority_voted_with_ties_to_the_first_sample(tmp_path):
    by_sample = {"Where do you live?": ["valid", "not valid", "not valid"],
                 "What is a smartphone?": ["not valid", "valid", "hmm"],
                 "金箍棒有多重？": ["hmm", "valid", "not valid"], "什么是相对论？": ["valid"] * 3}

    def answer(request: ChatRequest) -> str:
        query = next(q for q in by_sample if q in last_user(request))
        return by_sample[query][request.sample_index % 3] if request.sample_index < 3 else "still unsure"

    rated = rate(tmp_path, ScriptedModel(answer), JudgeConfig(n=3, max_reasks=1))
    assert [r.valid for r in rated] == [False, False, True, True]


class SchemaJudge(ScriptedModel):
    """A judge whose endpoint enforces schemas: it answers with the verdict object."""

    def structured_outputs(self, store) -> bool:
        return True


def test_a_judge_that_enforces_schemas_is_asked_for_the_object_and_read_from_it(tmp_path):
    judge = SchemaJudge(lambda request: json.dumps({"valid": int("smartphone" not in last_user(request))}))
    rated = rate(tmp_path, judge)
    assert [r.valid for r in rated] == [True, False, True, True]
    assert all(r.response_schema.name == "ditto_judge_query_validity" for r in judge.requests)
    assert all('"valid"' in last_user(r) and "JSON" in last_user(r) for r in judge.requests)
    assert rated[0].prompt_version == "judge_query_validity@1, judge_query_validity.schema@1"


@pytest.mark.parametrize(("text", "verdict"), [
    ("valid", True), ("Not valid.", False), ("**Invalid**", False), ("Verdict: valid", True), ("无效", False),
    ("有效。", True), ("The question asks about his home.\nThe question is valid.", True),
    ("Not valid, because Holmes could answer it.", False), ("结论：无效", False),
    ("valid\n...\nnot valid", None), ("I cannot tell.", None), ("", None),
])
def test_free_text_verdicts_are_read_tolerantly_and_never_guessed(text, verdict):
    assert parse_validity(text) is verdict


def rated_query(session: str, turn: int, kind: str, valid: bool | None) -> RatedQuery:
    return RatedQuery(session=session, turn=turn, lang="en", kind=kind, character="c", query="q", valid=valid)


def test_validity_by_kind_counts_valid_among_rated_and_unparsed_apart():
    rated = [rated_query("a", 0, "role_specific", True), rated_query("a", 1, "role_specific", False),
             rated_query("a", 2, "role_specific", True), rated_query("b", 0, "contrastive", None),
             rated_query("b", 1, "contrastive", False)]
    assert validity_by_kind(rated) == {
        "role_specific": {"valid": 2, "rated": 3, "share": 2 / 3, "unparsed": 0},
        "contrastive": {"valid": 0, "rated": 1, "share": 0.0, "unparsed": 1},
        "all": {"valid": 2, "rated": 4, "share": 0.5, "unparsed": 1},
    }
    assert validity_by_kind([])["all"] == {"valid": 0, "rated": 0, "share": None, "unparsed": 0}


def test_agreement_with_people_matches_by_session_and_turn_and_kappa_is_as_computed_by_hand(tmp_path):
    judge = [True, True, True, False, False, True]
    ann = [1, 1, 0, 0, 1, 1]
    rated = [rated_query("s", turn, "role_specific", valid) for turn, valid in enumerate(judge)]
    rated.append(rated_query("s", 6, "contrastive", None))  # never parsed: left out
    labels = [StoredLabel("ann", "queries", "s", turn, "query_valid", value) for turn, value in enumerate(ann)]
    labels += [StoredLabel("solo", "queries", "s", 0, "query_valid", 1),
               StoredLabel("solo", "queries", "s", 1, "query_valid", 1),
               StoredLabel("ann", "queries", "s", 6, "query_valid", 0),
               StoredLabel("ann", "queries", "other", 0, "query_valid", 1)]
    with RunStore(tmp_path) as store:
        store.save_labels(labels)
        stored = [label for label in store.labels("queries") if label.metric == "query_valid"]
    result = agreement_with_people(rated, stored)
    # "ann": 4 of 6 agree (p_o = 2/3); both say valid 4 times of 6, so p_e = (4/6)^2 + (2/6)^2 = 5/9
    # and kappa = (2/3 - 5/9) / (1 - 5/9) = 1/4.
    assert result["annotators"]["ann"] == {"n": 6, "agreement": pytest.approx(2 / 3), "kappa": pytest.approx(0.25)}
    # "solo": two queries, all valid on both sides: one class, kappa undefined
    assert result["annotators"]["solo"] == {"n": 2, "agreement": 1.0, "kappa": None}
    # pooled: 8 pairs, 6 agree (p_o = 3/4); valid 6 of 8 on both sides, p_e = (6/8)^2 + (2/8)^2 = 5/8,
    # kappa = (3/4 - 5/8) / (1 - 5/8) = 1/3.
    assert result["pooled"] == {"n": 8, "agreement": 0.75, "kappa": pytest.approx(1 / 3)}
    assert result["unmatched"] == 2
    one = agreement_with_people(rated[:1], [StoredLabel("x", "queries", "s", 0, "query_valid", 0)])
    assert one["pooled"] == {"n": 1, "agreement": 0.0, "kappa": None}
