"""Query simulation: the model reads profiles A and B and writes questions A can answer and
B cannot. Those are role-specific queries for A and contrastive queries for B.

Each pair is asked up to `max_attempts` times (the paper samples three and keeps a valid
one) through `complete_until_parsed`: every attempt is its own cached sample, and the raw
text of failed attempts is kept. How much of each profile's Wikipedia text the prompt shows
is `ProfileText`'s decision (`profile_text.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ditto.characters.profile import Profile
from ditto.models import ChatModel
from ditto.models.calls import complete_until_parsed
from ditto.models.structured import Form, uses_schemas
from ditto.prompts import render
from ditto.prompts.schemas import render_schema
from ditto.simulate.config import SimulateConfig
from ditto.simulate.pairing import profile_key
from ditto.simulate.profile_text import ProfileText
from ditto.simulate.query_parsing import (
    MAX_QUESTION_CHARS,
    MIN_QUESTION_CHARS,
    ParsedQueries,
    kept_questions,
    parse_queries,
)
from ditto.store import RunStore
from ditto.types import Message, SamplingParams, Usage


@dataclass
class QuerySet:
    owner: Profile
    other: Profile
    questions: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    method: str = "failed"

    @property
    def key(self) -> tuple[str, str]:
        return profile_key(self.owner), profile_key(self.other)

    @property
    def attempts(self) -> int:
        return len(self.raw)


def default_profile_text() -> ProfileText:
    """The budgets of `SimulateConfig`'s defaults, counted without a tokenizer."""
    return ProfileText.from_config(SimulateConfig())


def query_prompt(
    owner: Profile,
    other: Profile,
    k: int,
    prompts_dir: str | Path | None,
    profile_text: ProfileText | None = None,
    structured: bool = False,
) -> list[Message]:
    """The query-writing prompt; `structured`: it asks for the object of `query_form`'s
    schema instead of a bare JSON list."""
    profile_text = profile_text or default_profile_text()
    text = render(
        "query_simulation",
        owner.lang,
        prompts_dir,
        a=profile_text.shown(owner),
        b=profile_text.shown(other),
        a_summary=profile_text.summary(owner),
        b_summary=profile_text.summary(other),
        a_article=profile_text.article(owner),
        b_article=profile_text.article(other),
        k=k,
        structured=structured,
    )
    return [Message(role="user", content=text)]


def query_form(k: int, lang: str, prompts_dir: str | Path | None, structured: bool) -> Form[ParsedQueries]:
    """How a query answer is read: `parse_queries` for free text; with `structured`, the
    schema of exactly `k` questions of acceptable length, whose object goes through the same
    question checks. An answer with no question left is unread (None): it is asked again."""

    def from_text(text: str) -> ParsedQueries | None:
        parsed = parse_queries(text, expected=k)
        return parsed if parsed.questions else None

    def from_object(value: dict) -> ParsedQueries | None:
        parsed = kept_questions(value["questions"], expected=k)
        return parsed if parsed.questions else None

    if not structured:
        return Form(from_text=from_text)
    schema = render_schema(
        "query_simulation", lang, prompts_dir, k=k, min_chars=MIN_QUESTION_CHARS, max_chars=MAX_QUESTION_CHARS
    )
    return Form(from_text=from_text, schema=schema, from_object=from_object)


def simulate_queries(
    model: ChatModel,
    store: RunStore,
    pairs: list[tuple[Profile, Profile]],
    *,
    k: int,
    params: SamplingParams,
    max_attempts: int,
    prompts_dir: str | Path | None = None,
    profile_text: ProfileText | None = None,
    progress: bool = True,
) -> tuple[list[QuerySet], Usage, dict]:
    """One `QuerySet` per (owner, other) pair, in the order given, the tokens spent, and the
    answers per endpoint by how they were read (`StructuredTally.as_dict`)."""
    sets = [QuerySet(owner=a, other=b) for a, b in pairs]
    # Requests that share a profile prefix go out together (prefix caching in vLLM/SGLang).
    order = sorted(range(len(sets)), key=lambda i: sets[i].key)
    structured = uses_schemas(model, store) if sets else False
    forms = {lang: query_form(k, lang, prompts_dir, structured) for lang in {s.owner.lang for s in sets}}
    results = complete_until_parsed(
        model, store,
        [query_prompt(sets[i].owner, sets[i].other, k, prompts_dir, profile_text, structured) for i in order],
        params.model_copy(update={"n": 1}), [forms[sets[i].owner.lang] for i in order],
        max_attempts=max_attempts, description="queries", progress=progress,
    )
    for index, [sample] in zip(order, results.samples):
        query_set = sets[index]
        query_set.raw = sample.raws
        if sample.value is not None:
            query_set.questions, query_set.method = sample.value.questions, sample.value.method
    return sets, results.usage, results.structured.as_dict()
