"""MT-Bench role-play: the 10 role-play questions (FastChat `question.jsonl`), answered
over two turns and graded 1-10 by the judge, one answer at a time."""

from __future__ import annotations

from pathlib import Path

from ditto.chat_files import read_jsonl
from ditto.errors import DittoError
from ditto.evaluate.config import JudgeConfig
from ditto.evaluate.judge_parsing import parse_score
from ditto.models import ChatModel
from ditto.models.calls import complete_until_parsed
from ditto.models.dialogues import Dialogue, complete_dialogues
from ditto.prompts import render
from ditto.store import RunStore
from ditto.types import Message, SamplingParams, Usage

CATEGORY = "roleplay"


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


def mtbench_judge_params(judge: JudgeConfig) -> SamplingParams:
    """MT-Bench grades one sample per answer, greedily, within the judge's token limit."""
    return judge.params(n=1, temperature=0.0)


def grading_prompt(question: dict, answers: list[str], turn: int, prompts_dir: str | Path | None) -> list[Message]:
    """The judge's prompt for turn `turn` of a question: the dialogue up to that answer."""
    history = [{"question": q, "answer": a} for q, a in zip(question["turns"][: turn + 1], answers[: turn + 1])]
    return [Message(role="user", content=render("judge_mtbench", "en", prompts_dir, history=history))]


def run_mtbench(
    model: ChatModel,
    judge: ChatModel,
    store: RunStore,
    questions: list[dict],
    *,
    answer_params: SamplingParams,
    judge_params: SamplingParams,
    prompts_dir: str | Path | None = None,
    max_reasks: int = JudgeConfig.max_reasks,
    progress: bool = True,
) -> tuple[list[dict], Usage, Usage, int]:
    """One record per question: both answers, both scores (None if unparsed) and the raw
    judge text of every attempt; then the tokens of the answers, those of the judge, and
    the judge's number of requests."""
    dialogues = [Dialogue(prompts=q["turns"]) for q in questions]
    answer_usage = complete_dialogues(model, store, dialogues, answer_params, description="mt-bench",
                                      progress=progress)
    answers = [[a.text for a in d.answers] for d in dialogues]
    grading = [(i, t) for i, q in enumerate(questions) for t in range(len(answers[i]))]
    graded = complete_until_parsed(
        judge, store, [grading_prompt(questions[i], answers[i], t, prompts_dir) for i, t in grading],
        judge_params.model_copy(update={"n": 1}), parse_score, max_attempts=1 + max_reasks,
        description="mt-bench judge", progress=progress,
    )
    verdicts = {key: sample for key, [sample] in zip(grading, graded.samples)}
    records = [
        {
            "question_id": q.get("question_id"),
            "category": q.get("category"),
            "turns": q["turns"],
            "answers": answers[i],
            "scores": [verdicts[(i, t)].value for t in range(len(answers[i]))],
            "judge_raw": [verdicts[(i, t)].raws for t in range(len(answers[i]))],
        }
        for i, q in enumerate(questions)
    ]
    return records, answer_usage, graded.usage, graded.requests
