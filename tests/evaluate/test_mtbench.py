"""MT-Bench role-play as FastChat's llm_judge grades it: questions read from FastChat's file,
answered at the role-play temperature 0.7, turn 1 graded alone and turn 2 with the whole
conversation, each once and greedily, the rating read from `[[N]]` (then `[N]`), an
unrated turn left out of the mean and counted."""

from __future__ import annotations

import json

import pytest

from ditto.errors import DittoError
from ditto.evaluate.config import JudgeConfig
from ditto.evaluate.mtbench import (
    graded_turns,
    grading_prompt,
    mtbench_judge_params,
    mtbench_scores,
    parse_rating,
    read_questions,
    run_mtbench,
)
from ditto.store import RunStore
from ditto.types import SamplingParams
from tests.scripted import ScriptedModel, last_user

QUESTIONS = [
    {"question_id": 81, "category": "roleplay", "turns": ["Pretend to be a pirate.", "Now sing."]},
    {"question_id": 82, "category": "writing", "turns": ["Write a haiku."]},
    {"question_id": 83, "category": "roleplay", "turns": ["Be Sherlock."]},
]


def test_only_the_roleplay_questions_are_read(tmp_path):
    path = tmp_path / "question.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    assert [q["question_id"] for q in read_questions(path)] == [81, 83]


def test_the_real_roleplay_questions_are_91_to_100_with_two_turns(shared_data):
    questions = read_questions(shared_data / "mt_bench" / "question.jsonl")
    assert [q["question_id"] for q in questions] == list(range(91, 101))
    assert all(graded_turns(q) == [0, 1] for q in questions)  # 20 graded turns in all


@pytest.mark.parametrize("line, message", [('{"category": "roleplay", "turns": "x"}', "'turns' must be a list"),
                                           ('{"category": "writing", "turns": ["x"]}', "no question of category")])
def test_bad_files_are_refused_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "question.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DittoError, match=message):
        read_questions(path)


@pytest.mark.parametrize("answer, rating", [
    ("The reply stays in character and is vivid.\n\nRating: [[7]]", 7.0),
    ("Solid, if a little short. [[8.5]]", 8.5),
    ("Rating: [7]", 7.0),  # FastChat's fallback: single brackets
    ("Helpful [[6]] though the format example said [[5]]; Rating: [[9]]", 6.0),  # the first [[N]] wins
    ("See point [2] above. Rating: [[4]]", 4.0),  # [[N]] before any [N]
    ("Rating: [[10]]", 10.0),
    ("Rating: [[7.]]", 7.0),
    ("Rating: [[0]]", 0.0),  # FastChat keeps any number: no range check
    ("Rating: [[12]]", 12.0),
])
def test_ratings_are_read_by_fastchats_rule(answer, rating):
    assert parse_rating(answer) == rating


@pytest.mark.parametrize("answer", [
    "I would rate it 7 out of 10.",
    "Rating: 8",
    "Score: 7/10",
    "Rating: [[seven]]",
    "Rating: [[-3]]",  # no sign in FastChat's pattern; "[-3]" is not "[3]" either
    "",
])
def test_answers_without_a_bracketed_rating_are_unrated(answer):
    assert parse_rating(answer) is None  # FastChat: -1


QUESTION = {"question_id": 91, "category": "roleplay", "turns": ["Be Elon Musk. Why Mars?", "Can you dance?"]}


def test_turn_one_is_graded_from_the_question_and_its_answer_alone():
    [message] = grading_prompt(QUESTION, ["Mars is a backup.", "I dance badly."], 0, None)
    assert message.role == "user"
    text = message.content
    assert "Be Elon Musk. Why Mars?" in text and "Mars is a backup." in text
    assert "Can you dance?" not in text and "I dance badly." not in text
    assert '"[[rating]]"' in text and "1 to 10" in text
    assert "second question" not in text


def test_turn_two_shows_the_whole_conversation_and_asks_about_the_second_answer():
    [message] = grading_prompt(QUESTION, ["Mars is a backup.", "I dance badly."], 1, None)
    text = message.content
    order = [text.index(part) for part in ("Be Elon Musk. Why Mars?", "Mars is a backup.", "Can you dance?",
                                           "I dance badly.")]
    assert order == sorted(order)
    assert "second question" in text and '"[[rating]]"' in text and "1 to 10" in text


def test_only_two_turn_questions_have_their_second_turn_graded():
    assert graded_turns({"turns": ["a", "b"]}) == [0, 1]
    assert graded_turns({"turns": ["a"]}) == [0]
    assert graded_turns({"turns": ["a", "b", "c"]}) == [0]  # FastChat's multi-turn judge needs exactly two


def test_the_judge_is_greedy_with_one_sample_and_keeps_its_token_limit():
    params = mtbench_judge_params(JudgeConfig(n=3, temperature=0.2, max_tokens=2048, seed=5))
    assert (params.temperature, params.n, params.max_tokens, params.seed) == (0.0, 1, 2048, 5)


def judge_rules(request) -> str:
    """Fixed verdicts: what the judge answers to each graded turn."""
    prompt = last_user(request)
    if "Now sing" in prompt:  # turn 2 of the pirate question
        return "Catchy and in character.\nRating: [[9]]"
    if "Pretend to be a pirate" in prompt:  # its turn 1
        return "Decent pirate voice.\nRating: [[6]]"
    if "Be Sherlock" in prompt:
        return "I cannot decide on a number."  # unrated: FastChat's -1
    return "Good.\n[[4.5]]"  # the two-turn question 84, turn 1 and turn 2


def test_mtbench_end_to_end_against_fixed_verdicts(tmp_path):
    questions = [
        {"question_id": 81, "category": "roleplay", "turns": ["Pretend to be a pirate.", "Now sing."]},
        {"question_id": 83, "category": "roleplay", "turns": ["Be Sherlock."]},
        {"question_id": 84, "category": "roleplay", "turns": ["Be a cat.", "Purr."]},
    ]
    model = ScriptedModel(lambda r: f"answer to {last_user(r)}")
    judge = ScriptedModel(judge_rules, name="judge")
    judge_params = mtbench_judge_params(JudgeConfig(max_tokens=2048, max_reasks=2))
    with RunStore(tmp_path) as store:
        records, answer_usage, judge_usage, judge_calls, _ = run_mtbench(
            model, judge, store, questions,
            answer_params=SamplingParams(temperature=0.2, top_p=0.95, max_tokens=64, seed=3),
            judge_params=judge_params, progress=False)

    # answers: both turns, each with the whole dialogue so far, at FastChat's role-play 0.7
    assert records[0]["answers"] == ["answer to Pretend to be a pirate.", "answer to Now sing."]
    assert len(model.requests) == 5
    assert {(r.params.temperature, r.params.top_p, r.params.max_tokens, r.params.seed)
            for r in model.requests} == {(0.7, 1.0, 64, 3)}
    second = next(r for r in model.requests if last_user(r) == "Now sing.")
    assert [m.content for m in second.messages] == [
        "Pretend to be a pirate.", "answer to Pretend to be a pirate.", "Now sing."]

    # grades: turn 1 of every question, turn 2 of the two-turn ones; one greedy ask each,
    # none asked again (the Sherlock grade never parses and is still asked once)
    assert judge_calls == len(judge.requests) == 5
    assert {(r.params.temperature, r.params.n) for r in judge.requests} == {(0.0, 1)}
    assert [r["scores"] for r in records] == [[6.0, 9.0], [None], [4.5, 4.5]]
    assert records[1]["judge_raw"] == ["I cannot decide on a number."]
    assert records[0]["judge_raw"][1] == "Catchy and in character.\nRating: [[9]]"
    assert all(r["prompt_version"] == "judge_mtbench@3" for r in records)
    assert answer_usage.completion_tokens > 0 and judge_usage.completion_tokens > 0

    # FastChat's numbers: rated turns pooled, the unrated one left out and counted
    summary = mtbench_scores(records)
    assert summary["mean"] == pytest.approx((6 + 9 + 4.5 + 4.5) / 4)
    assert summary["turn_1"] == pytest.approx((6 + 4.5) / 2)
    assert summary["turn_2"] == pytest.approx((9 + 4.5) / 2)
    assert (summary["rated"], summary["unrated"]) == (4, 1)


def test_a_run_with_no_rating_at_all_has_no_mean():
    summary = mtbench_scores([{"scores": [None, None]}])
    assert summary == {"mean": None, "turn_1": None, "turn_2": None, "rated": 0, "unrated": 2}
