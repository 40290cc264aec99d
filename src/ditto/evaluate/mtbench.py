"""MT-Bench role-play graded as FastChat's llm_judge grades it (single-answer mode).

The 10 role-play questions of FastChat's `question.jsonl` (ids 91-100) are answered over
their two turns at FastChat's role-play temperature, 0.7. The judge grades turn 1 with the
question and its answer alone (FastChat's `single-v1`) and turn 2 with the whole
conversation shown, judging the second answer (`single-v1-multi-turn`, only for questions
of exactly two turns), each once, greedily, with no second ask. It writes an explanation
and then a rating `[[N]]` on a 1-10 scale; the rating is read by FastChat's rule
(`parse_rating`), and a grade without one counts as unrated (FastChat's -1) and is left
out of the mean. The score is the mean over every rated turn of every question, both
turns pooled, as FastChat's `show_result.py` and its category chart compute it.

The judge prompt is ditto's own wording of FastChat's meaning (`prompts/*/judge_mtbench.j2`);
docs/fidelity.md lists what differs. Where the judge enforces JSON schemas and parsing is not
"official", the grade is asked as an object instead (`judge_mtbench.schema.j2`: the
explanation, then an integer rating 1-10), so that no grade is lost to a missing `[[N]]`;
`--parsing official` keeps FastChat's free-text grade.
"""

from __future__ import annotations

import re
from pathlib import Path

from ditto.chat_files import read_jsonl
from ditto.errors import DittoError
from ditto.evaluate.config import JudgeConfig
from ditto.models import ChatModel
from ditto.models.calls import complete_until_parsed
from ditto.models.dialogues import Dialogue, complete_dialogues
from ditto.models.structured import Form, StructuredTally
from ditto.prompts import render, template_version
from ditto.prompts.schemas import analysis_chars, render_schema
from ditto.store import RunStore
from ditto.types import Message, SamplingParams, Usage

CATEGORY = "roleplay"
ANSWER_TEMPERATURE = 0.7
"""FastChat's `temperature_config["roleplay"]`: the answers' sampling temperature."""
# FastChat's `one_score_pattern` and its fallback `one_score_pattern_backup`: the first
# `[[N]]` in the judge's answer, else its first `[N]`.
RATING = re.compile(r"\[\[(\d+\.?\d*)\]\]")
RATING_FALLBACK = re.compile(r"\[(\d+\.?\d*)\]")


def read_questions(path: str | Path, category: str = CATEGORY) -> list[dict]:
    questions = []
    for number, record in read_jsonl(path):
        turns = record.get("turns")
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns) or not turns:
            raise DittoError(f"{path}:{number}: 'turns' must be a list of questions")
        if record.get("category") == category:
            questions.append(record)
    if not questions:
        raise DittoError(f"{path}: no question of category '{category}'")
    return questions


def parse_rating(text: str) -> float | None:
    """The judge's rating by FastChat's rule, or None where FastChat records -1.

    The first `[[N]]` in the answer wins ("Rating: [[7]]", "[[8.5]]"); without one, the
    first `[N]` ("[7]"). Like FastChat, the number is taken as written: no 1-10 range check,
    and a later, different rating never overrides the first.
    """
    match = RATING.search(text) or RATING_FALLBACK.search(text)
    return float(match.group(1)) if match else None


def mtbench_answer_params(answer_params: SamplingParams) -> SamplingParams:
    """The answers' settings: FastChat's role-play temperature and no nucleus cut (it sets
    no top_p), with the evaluation's token limit and seed."""
    return answer_params.model_copy(update={"temperature": ANSWER_TEMPERATURE, "top_p": 1.0, "n": 1})


def mtbench_judge_params(judge: JudgeConfig) -> SamplingParams:
    """FastChat's judge settings: one greedy answer (temperature 0) per graded turn, within
    the judge's token limit (FastChat gives its GPT-4 judge 2048, ditto's default too)."""
    return judge.params(n=1, temperature=0.0)


def graded_turns(question: dict) -> list[int]:
    """The turns FastChat grades: the first always, the second when there are exactly two."""
    return [0, 1] if len(question["turns"]) == 2 else [0]


def grading_prompt(
    question: dict, answers: list[str], turn: int, prompts_dir: str | Path | None, structured: bool = False
) -> list[Message]:
    """The judge's prompt for `turn` (0 or 1) of a question: the question and its answer for
    turn 0, the whole two-turn conversation for turn 1 (the template asks about the last
    answer when it is given more than one). `structured`: the grade asked as a JSON object."""
    history = [{"question": q, "answer": a} for q, a in zip(question["turns"][: turn + 1], answers[: turn + 1])]
    text = render("judge_mtbench", "en", prompts_dir, history=history, structured=structured)
    return [Message(role="user", content=text)]


def grading_form(judge_params: SamplingParams, prompts_dir: str | Path | None, structured: bool) -> Form[float]:
    """FastChat's rule for free text; with `structured`, the schema's integer rating."""
    if not structured:
        return Form(from_text=parse_rating)
    schema = render_schema("judge_mtbench", "en", prompts_dir, analysis_chars=analysis_chars(judge_params.max_tokens))
    return Form(from_text=parse_rating, schema=schema, from_object=lambda value: float(value["rating"]))


def run_mtbench(
    model: ChatModel,
    judge: ChatModel,
    store: RunStore,
    questions: list[dict],
    *,
    answer_params: SamplingParams,
    judge_params: SamplingParams,
    prompts_dir: str | Path | None = None,
    structured: bool = False,
    progress: bool = True,
) -> tuple[list[dict], Usage, Usage, int, StructuredTally]:
    """Answer every question over its turns, grade its graded turns once each.

    `answer_params` are the evaluation's answer settings (their temperature and top_p are
    replaced by `mtbench_answer_params`); `judge_params` are `mtbench_judge_params`'s.
    Returns one record per question (its answers, one score per graded turn, None where the
    judge gave no rating, and the judge's raw answer per graded turn), then the tokens of the
    answers, those of the judge, and the judge's number of requests."""
    dialogues = [Dialogue(prompts=q["turns"]) for q in questions]
    answer_usage = complete_dialogues(model, store, dialogues, mtbench_answer_params(answer_params),
                                      description="mt-bench", progress=progress)
    answers = [[a.text for a in d.answers] for d in dialogues]
    grading = [(i, t) for i, q in enumerate(questions) for t in graded_turns(q)]
    graded = complete_until_parsed(
        judge, store, [grading_prompt(questions[i], answers[i], t, prompts_dir, structured) for i, t in grading],
        judge_params.model_copy(update={"n": 1}), grading_form(judge_params, prompts_dir, structured), max_attempts=1,
        description="mt-bench judge", progress=progress,
    )
    verdicts = {key: sample for key, [sample] in zip(grading, graded.samples)}
    version = template_version("judge_mtbench", "en", prompts_dir)
    records = [
        {
            "question_id": q.get("question_id"),
            "category": q.get("category"),
            "turns": q["turns"],
            "answers": answers[i],
            "scores": [verdicts[(i, t)].value for t in graded_turns(q)],
            "judge_raw": [verdicts[(i, t)].raw for t in graded_turns(q)],
            "prompt_version": version,
        }
        for i, q in enumerate(questions)
    ]
    return records, answer_usage, graded.usage, graded.requests, graded.structured


def mtbench_scores(records: list[dict]) -> dict:
    """FastChat's `show_result.py` numbers from `run_mtbench`'s records: the mean of every
    rated turn (both turns pooled, so a question counts by its rated turns), the mean of
    each turn, and how many turns were rated and unrated (FastChat's -1, left out)."""
    by_turn: dict[int, list[float]] = {}
    unrated = 0
    for record in records:
        for turn, score in enumerate(record["scores"]):
            if score is None:
                unrated += 1
            else:
                by_turn.setdefault(turn + 1, []).append(score)
    rated = [score for scores in by_turn.values() for score in scores]

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return {
        "mean": mean(rated),
        "turn_1": mean(by_turn.get(1, [])),
        "turn_2": mean(by_turn.get(2, [])),
        "rated": len(rated),
        "unrated": unrated,
    }
