"""The LLM judge of WikiRoleEval: three questions per turn, n samples each.

- consistency: the judge reads the turn and the four candidates and names the speaker; the
  turn scores the fraction of parsed samples naming the right one;
- rejection: did the character refuse (1/0)? the majority of parsed samples;
- knowledge: 1-10 with the character's summary and the turn's evidence as tips; the mean.

A sample whose answer cannot be parsed is asked again (a new, cached sample) up to
`max_reasks` times, then kept as unparsed. Every raw answer is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ditto.evaluate.eval_sets import candidate_name
from ditto.evaluate.judge_parsing import parse_choice, parse_rejection, parse_score
from ditto.evaluate.records import EvalItem, JudgedItem, JudgeSample, TurnJudgement
from ditto.models import ChatModel, complete
from ditto.prompts import render, template_version
from ditto.store import RunStore
from ditto.types import Message, SamplingParams, Usage

METRICS = ("consistency", "rejection", "knowledge")


@dataclass
class JudgeConfig:
    n: int = 3
    temperature: float = 0.2
    max_tokens: int = 256
    max_reasks: int = 2
    seed: int = 0
    prompts_dir: str | Path | None = None


@dataclass
class Task:
    item: int
    turn: int
    metric: str
    messages: list[Message]
    parse: Callable[[str], object]
    samples: list[JudgeSample]


def judge_prompt(metric: str, item: EvalItem, turn: int, answer: str, prompts_dir) -> str:
    values = dict(
        query=item.prompts[turn], answer=answer, label=item.label, summary=item.summary,
        candidates=item.candidates, evidence=item.evidence[turn] if turn < len(item.evidence) else "",
    )
    return render(f"judge_{metric}", item.lang, prompts_dir, **values)


def _parser(metric: str, item: EvalItem) -> Callable[[str], object]:
    if metric == "consistency":
        names = [candidate_name(c) for c in item.candidates]
        return lambda text: parse_choice(text, names, item.lang)
    return parse_rejection if metric == "rejection" else parse_score


def turn_scores(item: EvalItem, judgement: TurnJudgement) -> tuple[float | None, int | None, float | None]:
    names = [s.value for s in judgement.consistency if s.value is not None]
    # As the official judge: a turn whose answers name no candidate scores 0.
    consistency = sum(name == item.label for name in names) / len(names) if names else (0.0 if judgement.consistency else None)
    votes = [int(s.value) for s in judgement.rejection if s.value is not None]
    rejection = Counter(votes).most_common(1)[0][0] if votes else None
    scores = [float(s.value) for s in judgement.knowledge if s.value is not None]
    knowledge = sum(scores) / len(scores) if scores else None
    return consistency, rejection, knowledge


def judge_items(
    judge: ChatModel,
    store: RunStore,
    items: list[EvalItem],
    answers: list[list[str]],
    config: JudgeConfig,
    *,
    progress: bool = True,
) -> tuple[list[JudgedItem], Usage, int]:
    """Judged items, the judge's token usage and its number of requests."""
    tasks = [
        Task(i, t, metric, [Message(role="user", content=judge_prompt(metric, item, t, answers[i][t], config.prompts_dir))],
             _parser(metric, item), [])
        for metric in METRICS
        for i, item in enumerate(items)
        for t in range(len(answers[i]))
    ]
    params = SamplingParams(max_tokens=config.max_tokens, temperature=config.temperature, n=config.n, seed=config.seed)
    usage, calls = Usage(), 0

    def ask(selected: list[Task], n: int, first_sample: int | list[int], label: str) -> list[list]:
        nonlocal calls
        results = complete(judge, store, [t.messages for t in selected], params.model_copy(update={"n": n}),
                           description=label, progress=progress, first_sample=first_sample)
        for samples in results:
            for completion in samples:
                calls += 1
                usage.prompt_tokens += completion.usage.prompt_tokens
                usage.completion_tokens += completion.usage.completion_tokens
        return results

    for task, samples in zip(tasks, ask(tasks, config.n, 0, "judge")):
        task.samples = [JudgeSample(raw=c.text, value=task.parse(c.text)) for c in samples]
    for reask in range(1, config.max_reasks + 1):
        # Every unparsed sample of every task in one batch; sample s is asked again as
        # sample s + reask * n, a new cached sample.
        pending = [(t, s) for t in tasks for s in range(config.n) if t.samples[s].value is None]
        if not pending:
            break
        again = ask([t for t, _ in pending], 1, [s + reask * config.n for _, s in pending],
                    f"judge (asking again, {reask})")
        for (task, position), [completion] in zip(pending, again):
            old = task.samples[position]
            task.samples[position] = JudgeSample(raw=completion.text, value=task.parse(completion.text),
                                                 attempts=old.attempts + 1)

    judgements = [[TurnJudgement() for _ in answers[i]] for i in range(len(items))]
    for task in tasks:
        setattr(judgements[task.item][task.turn], task.metric, task.samples)
    versions = {m: template_version(f"judge_{m}", "en", config.prompts_dir) for m in METRICS}
    judged = []
    for i, item in enumerate(items):
        scores = [turn_scores(item, j) for j in judgements[i]]
        judged.append(JudgedItem(
            **item.model_dump(), answers=answers[i],
            consist_scores=[s[0] for s in scores], reject_scores=[s[1] for s in scores],
            knowledge_scores=[s[2] for s in scores], judgements=judgements[i], prompt_versions=versions,
        ))
    return judged, usage, calls
