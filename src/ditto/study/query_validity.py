"""The judge of simulated queries: is each one valid for its role and its kind?

The paper leaves open how good the simulated queries are (its Figure 4, open question 2). A
role-specific query is valid when it asks about the character or their world and the
character could answer it from what they know; a contrastive one is valid when it asks what
the character could not know (another person's life or world, another era or field), so that
declining is the right reply in character. A query that misses its kind teaches the model
the wrong behaviour, so the share of valid queries per kind is the figure, and people's
`query_valid` labels (`ditto annotate --task queries`) say how far the judge can be trusted
on it.

The judge is asked as the rejection judge is (evaluate/judge.py): under a JSON schema
(`prompts/judge_query_validity.schema.j2`) wherever the judge enforces schemas, in free text
elsewhere, `config.n` seeded samples per query, an unparsed sample asked again up to
`config.max_reasks` times, everything through `complete_until_parsed`, so that answers are
cached in the run store and a re-run or a resumed run asks nothing twice. The paper released
no such judge, so there are no "official" rules to read it by: official parsing keeps its
other effects (free-text prompts, no re-asks, cut answers read) and the tolerant reader.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ditto.evaluate.agreement import statistic
from ditto.evaluate.config import JudgeConfig
from ditto.models import ChatModel
from ditto.models.calls import complete_until_parsed
from ditto.models.structured import Form, uses_schemas
from ditto.prompts import render, template_version
from ditto.prompts.schemas import analysis_chars, render_schema
from ditto.store import RunStore, StoredLabel
from ditto.types import Message, Session

TEMPLATE = "judge_query_validity"
METRIC = "query_valid"  # the annotation metric people give for the same question (annotate/sample.py)
KINDS = ("role_specific", "contrastive")


@dataclass(frozen=True)
class RatedQuery:
    """One simulated query and the judge's verdict on it."""

    session: str
    turn: int
    lang: str
    kind: str
    """role_specific or contrastive."""
    character: str
    query: str
    valid: bool | None
    """The majority of the parsed samples; None when no sample's answer ever parsed."""
    prompt_version: str = ""
    """The templates that asked it (`template_version`), so that ratings made with another
    wording can be told apart."""

    @property
    def key(self) -> tuple[str, int]:
        """(session id, turn): what people's labels of this query are keyed by."""
        return self.session, self.turn


def validity_prompt(session: Session, turn: int, structured: bool, prompts_dir=None) -> str:
    """The judge's prompt about query `turn` of `session`: the character's name and
    description first (shared by a session's prompts), then the query and what its kind asks."""
    asked = session.turns[turn]
    return render(TEMPLATE, session.lang, prompts_dir, name=session.name, description=session.description,
                  query=asked.query, kind=asked.kind, structured=structured)


def validity_form(lang: str, config: JudgeConfig, structured: bool) -> Form[bool]:
    """How the verdict is asked and read: under the schema, read from its `valid`, falling
    back to `parse_validity` where the judge does not enforce it; without, by the parser alone."""
    if not structured:
        return Form(from_text=parse_validity)
    schema = render_schema(TEMPLATE, lang, config.prompts_dir, analysis_chars=analysis_chars(config.max_tokens))
    return Form(from_text=parse_validity, schema=schema, from_object=lambda value: bool(value["valid"]))


# Whole answers (after marks and a label are stripped) and what they mean; the negative
# forms come first so that "invalid" and "无效" are never read by a positive pattern.
VALIDITY_WORDS = [
    (r"not valid|invalid|not a valid (?:question|query)|no|false|0|无效|不有效|否|不是", False),
    (r"valid|a valid (?:question|query)|yes|true|1|有效|是|是的", True),
]
ANSWER_LABEL = re.compile(
    r"^(?:final\s+)?(?:answer|verdict|judgement|judgment|result|label|回答|答案|判断|结论|结果)\s*[:=]?\s*"
)
LABELLED_VALIDITY = re.compile(
    r"(?:(?:answer|verdict|judgement|judgment|result|答案|判断|结论|结果)\s*(?:is|为|是)?\s*[:=]"
    r"|(?:the\s+)?(?:question|query)\s+is|问题(?:是)?)\s*\**\s*(not valid|invalid|valid|无效|有效)(?![a-z性])"
)
LEADING_VALIDITY = re.compile(r"^(not valid|invalid|valid|yes|no|无效|有效)(?:[\s,.!:;。！；]|$)")
MARKS = re.compile(r"[*#`\[\]【】()\"'“”「」]")


def _normalise(text: str) -> str:
    """Full-width forms to ASCII, lower case."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _validity_word(line: str) -> bool | None:
    bare = ANSWER_LABEL.sub("", MARKS.sub("", line).strip()).strip().rstrip(".。!！")
    for pattern, value in VALIDITY_WORDS:
        if re.fullmatch(pattern, bare):
            return value
    return None


def _is_valid(word: str) -> bool:
    return word in ("valid", "有效", "yes")


def parse_validity(text: str) -> bool | None:
    """True when the judge says the query is valid, False when it says it is not, else None.

    Read in order, as `parse_rejection` reads refusals: the whole answer ("valid", "**Not
    valid**", "Verdict: invalid", "有效", "yes"), the last labelled verdict anywhere ("The
    question is valid", "结论：无效"), the first and the last line (None if they disagree),
    an answer that opens with its verdict ("Not valid, because ...")."""
    normalised = _normalise(text)
    whole = _validity_word(normalised)
    if whole is not None:
        return whole
    labelled = LABELLED_VALIDITY.findall(normalised)
    if labelled:
        return _is_valid(labelled[-1])
    lines = [line for line in normalised.splitlines() if line.strip()]
    if lines:
        ends = {_validity_word(lines[0]), _validity_word(lines[-1])} - {None}
        if len(ends) == 1:
            return ends.pop()
        if len(ends) > 1:
            return None
    opening = LEADING_VALIDITY.match(MARKS.sub("", normalised))
    return _is_valid(opening.group(1)) if opening else None


def majority(votes: Sequence[bool | None]) -> bool | None:
    """The most common parsed verdict, ties going to the first sample's, as the rejection
    metric resolves them (`turn_scores`); None when none parsed."""
    parsed = [vote for vote in votes if vote is not None]
    return Counter(parsed).most_common(1)[0][0] if parsed else None


def prompt_versions(langs: Iterable[str], structured: bool, prompts_dir=None) -> dict[str, str]:
    """lang -> the versions of the templates that ask the question (the schema's too when sent)."""
    names = [TEMPLATE, f"{TEMPLATE}.schema"] if structured else [TEMPLATE]
    return {lang: ", ".join(template_version(name, lang, prompts_dir) for name in names) for lang in sorted(set(langs))}


def rate_queries(
    judge: ChatModel,
    store: RunStore,
    sessions: list[Session],
    config: JudgeConfig,
    *,
    prompts_dir=None,
    progress: bool = True,
) -> list[RatedQuery]:
    """The judge's verdict on every query of `sessions`, in sessions order then turns.
    `prompts_dir` overrides the folder of `config.prompts_dir`."""
    if prompts_dir is not None:
        config = replace(config, prompts_dir=str(prompts_dir))
    tasks = [(session, turn) for session in sessions for turn in range(len(session.turns))]
    structured = config.parsing != "official" and bool(tasks) and uses_schemas(judge, store)
    forms = {lang: validity_form(lang, config, structured) for lang in {s.lang for s, _ in tasks}}
    results = complete_until_parsed(
        judge, store,
        [[Message(role="user", content=validity_prompt(s, t, structured, config.prompts_dir))] for s, t in tasks],
        config.params(), [forms[s.lang] for s, _ in tasks],
        max_attempts=config.attempts, parse_cut=config.parsing == "official", description="query validity",
        progress=progress,
    )
    versions = prompt_versions(forms, structured, config.prompts_dir)
    return [
        RatedQuery(session=s.id, turn=t, lang=s.lang, kind=s.turns[t].kind, character=s.name,
                   query=s.turns[t].query, valid=majority([sample.value for sample in samples]),
                   prompt_version=versions[s.lang])
        for (s, t), samples in zip(tasks, results.samples)
    ]


def _shares(rated: Sequence[RatedQuery]) -> dict:
    verdicts = [r.valid for r in rated if r.valid is not None]
    valid = sum(verdicts)
    return {"valid": valid, "rated": len(verdicts), "share": valid / len(verdicts) if verdicts else None,
            "unparsed": len(rated) - len(verdicts)}


def validity_by_kind(rated: list[RatedQuery]) -> dict[str, dict]:
    """{kind or "all": {"valid", "rated", "share", "unparsed"}}: the share of valid queries
    among those the judge rated; queries whose verdict never parsed are counted apart."""
    by_kind = {kind: _shares([r for r in rated if r.kind == kind]) for kind in KINDS}
    return by_kind | {"all": _shares(rated)}


def valid_sessions(rated: Sequence[RatedQuery]) -> set[str]:
    """The sessions whose every query the judge rated valid (an unparsed verdict is not valid):
    what `query-quality` trains on."""
    return {r.session for r in rated} - {r.session for r in rated if r.valid is not True}


def _kappa(judge: list[bool], people: list[bool]) -> float | None:
    """Cohen's kappa; None where it is undefined: fewer than 2 items, or one class on both sides."""
    if len(judge) < 2 or len(set(judge) | set(people)) < 2:
        return None
    value = statistic("kappa", np.asarray(judge), np.asarray(people))
    return None if math.isnan(value) else value


def _agreement(pairs: Sequence[tuple[bool, bool]]) -> dict:
    judge, people = [j for j, _ in pairs], [p for _, p in pairs]
    return {"n": len(pairs), "agreement": sum(j == p for j, p in pairs) / len(pairs) if pairs else None,
            "kappa": _kappa(judge, people)}


def agreement_with_people(rated: list[RatedQuery], labels: Iterable[StoredLabel]) -> dict:
    """How often the judge says what people said, per annotator and pooled over annotators
    (each annotator's label of a query is one pair with the judge's verdict), matched by
    (session id, turn). Queries the judge left unparsed and labels of other metrics or of
    queries not rated are left out; `unmatched` counts the `query_valid` labels left out."""
    verdicts = {r.key: r.valid for r in rated if r.valid is not None}
    per_annotator: dict[str, list[tuple[bool, bool]]] = {}
    unmatched = 0
    for label in labels:
        if label.metric != METRIC:
            continue
        key = (label.item, label.turn)
        if key not in verdicts:
            unmatched += 1
            continue
        per_annotator.setdefault(label.annotator, []).append((verdicts[key], label.value == 1))
    pooled = [pair for pairs in per_annotator.values() for pair in pairs]
    return {"annotators": {name: _agreement(pairs) for name, pairs in sorted(per_annotator.items())},
            "pooled": _agreement(pooled), "unmatched": unmatched}
