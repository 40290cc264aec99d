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

from ditto.evaluate.config import JudgeConfig
from ditto.evaluate.eval_sets import candidate_name
from ditto.evaluate.judge_parsing import parse_choice, parse_rejection, parse_score
from ditto.evaluate.records import METRICS, EvalItem, JudgedItem, JudgeSample, TurnJudgement
from ditto.models import ChatModel
from ditto.models.calls import complete_until_parsed
from ditto.prompts import render, template_version
from ditto.store import RunStore
from ditto.types import Message, Usage


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
    consistency = (
        sum(name == item.label for name in names) / len(names) if names else (0.0 if judgement.consistency else None)
    )
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
    tasks = [(metric, i, t) for metric in METRICS for i, item in enumerate(items) for t in range(len(answers[i]))]
    results = complete_until_parsed(
        judge, store,
        [[Message(role="user", content=judge_prompt(m, items[i], t, answers[i][t], config.prompts_dir))]
         for m, i, t in tasks],
        config.params(), [_parser(m, items[i]) for m, i, t in tasks],
        max_attempts=1 + config.max_reasks, description="judge", progress=progress,
    )
    judgements = [[TurnJudgement() for _ in answers[i]] for i in range(len(items))]
    for (metric, i, t), samples in zip(tasks, results.samples):
        setattr(judgements[i][t], metric, [JudgeSample(raw=s.raw, value=s.value, attempts=s.attempts) for s in samples])
    versions = {
        lang: {m: template_version(f"judge_{m}", lang, config.prompts_dir) for m in METRICS}
        for lang in sorted({item.lang for item in items})
    }
    judged = []
    for i, item in enumerate(items):
        scores = [turn_scores(item, j) for j in judgements[i]]
        judged.append(JudgedItem(
            **item.model_dump(), answers=answers[i],
            consist_scores=[s[0] for s in scores], reject_scores=[s[1] for s in scores],
            knowledge_scores=[s[2] for s in scores], judgements=judgements[i], prompt_versions=versions[item.lang],
        ))
    return judged, results.usage, results.requests
