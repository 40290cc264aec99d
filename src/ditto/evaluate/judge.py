"""The LLM judge of WikiRoleEval: three questions per turn, n samples each.

- consistency: the judge reads the turn and the four candidates and names the speaker; the
  turn scores the fraction of parsed samples naming the true candidate, compared by its
  position in the list (candidates.py), and 0 when no sample names one (the official rule);
- rejection: did the character refuse (1/0)? the most common parsed answer (ties: the first);
- knowledge: 1-10 with the character's summary and the turn's evidence as tips; the mean.

`JudgeConfig.parsing` chooses how answers are read. "tolerant" asks for a JSON object under
each question's schema (`prompts/judge_*.schema.j2`: the analysis first, then the verdict)
wherever the judge enforces schemas (models/structured.py), reads free text with
judge_parsing.py elsewhere, never parses an answer cut at the token limit, and asks an
unparsed sample again (a new, cached sample) up to `max_reasks` times. "official"
(official_parsing.py) sends the paper's free-text prompts, applies the released script's
exact rules and asks nothing again. Every raw answer is kept either way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ditto.evaluate.candidates import candidate_name
from ditto.evaluate.config import JudgeConfig, Parsing
from ditto.evaluate.judge_parsing import parse_choice, parse_rejection, parse_score
from ditto.evaluate.official_parsing import (
    official_choice,
    official_consistency_score,
    official_knowledge,
    official_knowledge_score,
    official_rejection,
    official_rejection_score,
)
from ditto.evaluate.records import METRICS, EvalItem, JudgedItem, JudgeSample, TurnJudgement
from ditto.models import ChatModel
from ditto.models.calls import complete_until_parsed
from ditto.models.structured import Form, structured_record, uses_schemas
from ditto.prompts import render, template_version
from ditto.prompts.schemas import analysis_chars, render_schema
from ditto.store import RunStore
from ditto.types import Message, Usage


def judge_prompt(metric: str, item: EvalItem, turn: int, answer: str, prompts_dir, structured: bool = False) -> str:
    """The judge's prompt for one question about one turn; `structured`: it asks for the
    JSON object of `judge_form`'s schema instead of the paper's free-text verdict."""
    values = dict(
        query=item.prompts[turn], answer=answer, label=item.label, summary=item.summary,
        candidates=item.candidates, evidence=item.evidence[turn] if turn < len(item.evidence) else "",
        structured=structured,
    )
    return render(f"judge_{metric}", item.lang, prompts_dir, **values)


VERDICT_KEYS = {"consistency": "role", "knowledge": "score", "rejection": "refused"}


def judge_form(metric: str, item: EvalItem, config: JudgeConfig, structured: bool) -> Form:
    """How the answer to `metric` about `item` is asked and read: with `structured`, under
    its schema (the consistency schema's `role` is an enum of the candidates' names) and read
    from the object, falling back to the free-text parser where the judge does not enforce
    the schema; without, by `_parser` alone."""
    from_text = _parser(metric, item, config.parsing)
    if not structured:
        return Form(from_text=from_text)
    names = [candidate_name(c) for c in item.candidates] if metric == "consistency" else []
    schema = render_schema(
        f"judge_{metric}", item.lang, config.prompts_dir,
        names=list(dict.fromkeys(names)), analysis_chars=analysis_chars(config.max_tokens, *names),
    )
    key = VERDICT_KEYS[metric]

    def from_object(value: dict):
        verdict = value[key]
        if metric == "consistency":
            return names.index(verdict) if verdict in names else None
        return float(verdict) if metric == "knowledge" else int(verdict)

    return Form(from_text=from_text, schema=schema, from_object=from_object)


def judged_metrics(item: EvalItem) -> tuple[str, ...]:
    """The questions asked about each turn of `item`: consistency only when it has candidates."""
    return METRICS if item.candidates else tuple(m for m in METRICS if m != "consistency")


def _tolerant_choice(item: EvalItem) -> Callable[[str], int | None]:
    names = [candidate_name(c) for c in item.candidates]

    def chosen_index(text: str) -> int | None:
        name = parse_choice(text, names, item.lang)
        return None if name is None else names.index(name)

    return chosen_index


def _parser(metric: str, item: EvalItem, parsing: Parsing) -> Callable[[str], object]:
    if parsing == "official":
        if metric == "consistency":
            return lambda text: official_choice(text, item.lang)
        return official_rejection if metric == "rejection" else official_knowledge
    if metric == "consistency":
        return _tolerant_choice(item)
    return parse_rejection if metric == "rejection" else parse_score


def turn_scores(
    item: EvalItem, judgement: TurnJudgement, parsing: Parsing = "tolerant"
) -> tuple[float | None, int | None, float | None]:
    """(consistency, rejection, knowledge) of one turn from its samples; None: not judged, or,
    under official parsing, a turn the official script would have crashed on."""
    if parsing == "official":
        return (
            official_consistency_score([s.value for s in judgement.consistency], item.label)
            if judgement.consistency else None,
            official_rejection_score([s.value for s in judgement.rejection]),
            official_knowledge_score([s.value for s in judgement.knowledge]),
        )
    chosen = [s.value for s in judgement.consistency if s.value is not None]
    true = item.true_candidate
    # As the official judge: a turn whose answers name no candidate scores 0.
    consistency = (
        sum(index == true for index in chosen) / len(chosen) if chosen else (0.0 if judgement.consistency else None)
    )
    votes = [int(s.value) for s in judgement.rejection if s.value is not None]
    rejection = Counter(votes).most_common(1)[0][0] if votes else None
    scores = [float(s.value) for s in judgement.knowledge if s.value is not None]
    knowledge = sum(scores) / len(scores) if scores else None
    return consistency, rejection, knowledge


@dataclass
class JudgeReport:
    """What the judge cost and how its answers read: the numbers run_info.json keeps."""

    usage: Usage
    requests: int
    parsing: Parsing
    cut: dict[str, int] = field(default_factory=dict)
    """Answers cut at the token limit, per metric (never parsed under tolerant parsing)."""
    unparsed: dict[str, int] = field(default_factory=dict)
    """Samples with no readable answer after every attempt, per metric."""
    official_dropped_turns: dict[str, int] = field(default_factory=dict)
    """Official parsing only: turns whose answers make the official script raise (and drop
    the dialogue); ditto keeps them with an empty score."""
    structured: bool = False
    """Whether the verdicts were asked under their JSON schemas."""
    structured_outputs: dict = field(default_factory=dict)
    """`structured_record`: the endpoints' probes and the answers by how they were read."""

    def as_dict(self) -> dict:
        return {"parsing": self.parsing, "structured": self.structured, "requests": self.requests,
                "answers_cut": self.cut, "samples_unparsed": self.unparsed,
                "official_dropped_turns": self.official_dropped_turns,
                "structured_outputs": self.structured_outputs}


def judge_items(
    judge: ChatModel,
    store: RunStore,
    items: list[EvalItem],
    answers: list[list[str]],
    config: JudgeConfig,
    *,
    metrics: tuple[str, ...] = METRICS,
    progress: bool = True,
) -> tuple[list[JudgedItem], JudgeReport]:
    """Judged items and the judge's report (usage, requests, cut and unparsed answers);
    `metrics` narrows the questions asked (stability.py re-asks consistency alone), the rest
    left with no samples."""
    tasks = [
        (metric, i, t) for metric in METRICS for i, item in enumerate(items)
        if metric in metrics and metric in judged_metrics(item) for t in range(len(answers[i]))
    ]
    structured = config.parsing != "official" and bool(tasks) and uses_schemas(judge, store)
    forms = {(m, i): judge_form(m, items[i], config, structured) for m, i, _ in tasks}
    results = complete_until_parsed(
        judge, store,
        [[Message(role="user", content=judge_prompt(m, items[i], t, answers[i][t], config.prompts_dir, structured))]
         for m, i, t in tasks],
        config.params(), [forms[(m, i)] for m, i, t in tasks],
        max_attempts=config.attempts, parse_cut=config.parsing == "official", description="judge",
        progress=progress,
    )
    report = JudgeReport(usage=results.usage, requests=results.requests, parsing=config.parsing,
                         cut=dict.fromkeys(METRICS, 0), unparsed=dict.fromkeys(METRICS, 0), structured=structured,
                         structured_outputs=structured_record(store, results.structured.as_dict()))
    judgements = [[TurnJudgement() for _ in answers[i]] for i in range(len(items))]
    for (metric, i, t), samples in zip(tasks, results.samples):
        setattr(judgements[i][t], metric,
                [JudgeSample(raw=s.raw, value=s.value, attempts=s.attempts, cut=s.cut) for s in samples])
        report.cut[metric] += sum(s.cut for s in samples)
        report.unparsed[metric] += sum(s.value is None for s in samples)
    versions = {
        lang: {m: template_version(f"judge_{m}", lang, config.prompts_dir) for m in METRICS}
        | ({f"{m}_schema": template_version(f"judge_{m}.schema", lang, config.prompts_dir) for m in METRICS}
           if structured else {})
        for lang in sorted({item.lang for item in items})
    }
    judged = []
    for i, item in enumerate(items):
        scores = [turn_scores(item, j, config.parsing) for j in judgements[i]]
        judged.append(JudgedItem(
            **item.model_dump(), answers=answers[i],
            consist_scores=[s[0] for s in scores], reject_scores=[s[1] for s in scores],
            knowledge_scores=[s[2] for s in scores], judgements=judgements[i],
            prompt_versions=versions[item.lang] | {"parsing": config.parsing},
        ))
    if config.parsing == "official":
        report.official_dropped_turns = {
            "rejection": sum(s is None for j in judged for s in j.reject_scores),
            "knowledge": sum(s is None for j in judged for s in j.knowledge_scores),
        }
    return judged, report
