"""MT-Bench role-play: questions read from FastChat's file, answered over two turns, each
answer graded 1-10 by the judge, an unreadable grade asked again."""

from __future__ import annotations

import json

import pytest

from ditto.errors import DittoError
from ditto.evaluate.mtbench import read_questions, run_mtbench
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


@pytest.mark.parametrize("line, message", [('{"category": "roleplay", "turns": "x"}', "'turns' must be a list"),
                                           ('{"category": "writing", "turns": ["x"]}', "no question of category")])
def test_bad_files_are_refused_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "question.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DittoError, match=message):
        read_questions(path)


def test_answers_are_graded_and_unreadable_grades_asked_again(tmp_path):
    model = ScriptedModel(lambda r: f"answer to {last_user(r)}")

    def grade(request):
        prompt = last_user(request)
        if "Now sing" in prompt and request.sample_index == 0:
            return "I cannot decide."
        return "Rating: [[8]]" if "Now sing" in prompt else "[[5]]"

    judge = ScriptedModel(grade, name="judge")
    roleplay = [q for q in QUESTIONS if q["category"] == "roleplay"]
    with RunStore(tmp_path) as store:
        records, answer_usage, judge_usage, judge_calls = run_mtbench(
            model, judge, store, roleplay, answer_params=SamplingParams(seed=0),
            judge_params=SamplingParams(temperature=0), progress=False)
    first, second = records
    assert first["answers"] == ["answer to Pretend to be a pirate.", "answer to Now sing."]
    assert first["scores"] == [5.0, 8.0] and second["scores"] == [5.0]
    assert first["judge_raw"][1] == ["I cannot decide.", "Rating: [[8]]"]
    assert judge_calls == 4 and len(judge.requests) == 4
    second_turn_prompt = last_user(judge.requests[1])
    assert "Pretend to be a pirate." in second_turn_prompt and "answer to Now sing." in second_turn_prompt
    assert answer_usage.completion_tokens > 0 and judge_usage.completion_tokens > 0
