"""Response simulation: multi-turn sessions answered in character with the full profile in
the system prompt (reading comprehension).

Each session mixes role-specific queries (written for this character) with contrastive
ones (written for its partner, so this character should refuse). Turn t of every session
is generated in one batch, with the session's earlier turns in context (`complete_dialogues`).

A reply cut at the token limit, or an empty one, ends its session before that turn: a
half-sentence taught as the character's answer is worse than a shorter session, and the
turns after it would answer in a broken context.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from ditto.characters.profile import Profile
from ditto.models import ChatModel
from ditto.models.dialogues import Dialogue, complete_dialogues
from ditto.prompts import render
from ditto.simulate.evidence import find_evidence
from ditto.simulate.pairing import profile_key
from ditto.simulate.profile_text import ProfileText
from ditto.simulate.queries import default_profile_text
from ditto.store import RunStore
from ditto.types import Completion, QueryKind, SamplingParams, Session, Turn, Usage

CUT_AT_MAX_TOKENS = "reply cut at max tokens"
EMPTY_REPLY = "empty reply"
NO_QUERIES = "no valid queries for this character or its partner"
SESSION_FAILURES = (CUT_AT_MAX_TOKENS, EMPTY_REPLY, NO_QUERIES)
"""Why a session ends early; `SessionPlan.failure` starts with one (and says at which turn)."""


@dataclass
class PlannedQuery:
    text: str
    kind: QueryKind
    owner_id: str
    partner_id: str


@dataclass
class SessionPlan:
    profile: Profile
    partner: Profile
    queries: list[PlannedQuery]
    turns: list[Turn] = field(default_factory=list)
    failure: str | None = None

    @property
    def session_id(self) -> str:
        return profile_key(self.profile)

    @property
    def cause(self) -> str | None:
        """The failure without its turn: one of `SESSION_FAILURES`, or None."""
        if self.failure is None:
            return None
        return next((c for c in SESSION_FAILURES if self.failure.startswith(c)), self.failure)


def plan_session(
    profile: Profile,
    partner: Profile,
    own_questions: list[str],
    partner_questions: list[str],
    *,
    turns: int,
    contrastive_share: float,
    seed: int,
) -> SessionPlan:
    """Pick the session's queries: about `contrastive_share` of them contrastive, the first
    one role-specific (a conversation opens on the character's own ground)."""
    wanted_contrastive = min(len(partner_questions), round(turns * contrastive_share))
    wanted_specific = min(len(own_questions), turns - wanted_contrastive)
    wanted_contrastive = min(len(partner_questions), turns - wanted_specific)
    specific = [PlannedQuery(q, "role_specific", profile.id, partner.id) for q in own_questions[:wanted_specific]]
    contrastive = [
        PlannedQuery(q, "contrastive", partner.id, partner.id) for q in partner_questions[:wanted_contrastive]
    ]
    rng = random.Random(f"{seed}:{profile_key(profile)}")
    rest = specific[1:] + contrastive if specific else contrastive
    rng.shuffle(rest)
    return SessionPlan(profile, partner, specific[:1] + rest)


def response_system_prompt(
    profile: Profile, prompts_dir: str | Path | None, profile_text: ProfileText | None = None
) -> str:
    profile_text = profile_text or default_profile_text()
    return render(
        "response_simulation", profile.lang, prompts_dir, profile=profile_text.shown(profile),
        summary=profile_text.summary(profile), article=profile_text.article(profile),
    )


def session_ender(completion: Completion) -> str | None:
    """Why a reply ends its session before its turn (module docstring), or None to keep it."""
    if completion.finish_reason == "length":
        return CUT_AT_MAX_TOKENS
    if not completion.text.strip():
        return EMPTY_REPLY
    return None


def simulate_responses(
    model: ChatModel,
    store: RunStore,
    plans: list[SessionPlan],
    params: SamplingParams,
    *,
    prompts_dir: str | Path | None = None,
    profile_text: ProfileText | None = None,
    progress: bool = True,
) -> Usage:
    """Fill in `plan.turns` for every plan (a reply that ends its session is recorded as
    `plan.failure`); returns the tokens spent."""
    ordered = sorted(plans, key=lambda plan: plan.session_id)
    dialogues = [
        Dialogue(prompts=[q.text for q in plan.queries],
                 system=response_system_prompt(plan.profile, prompts_dir, profile_text))
        for plan in ordered
    ]
    usage = complete_dialogues(model, store, dialogues, params, description="responses", progress=progress,
                               end_if=session_ender)
    for plan, dialogue in zip(ordered, dialogues):
        plan.failure = dialogue.ended
        plan.turns = [to_turn(plan.profile, query, answer) for query, answer in zip(plan.queries, dialogue.answers)]
    return usage


def to_turn(profile: Profile, query: PlannedQuery, answer: Completion) -> Turn:
    contrastive = query.kind == "contrastive"
    return Turn(
        query=query.text,
        response=answer.text,
        kind=query.kind,
        query_owner_id=query.owner_id,
        partner_id=query.partner_id,
        evidence=[] if contrastive else find_evidence(profile, query.text, answer.text),
        rejection_label=int(contrastive),
        finish_reason=answer.finish_reason,
    )


def to_session(plan: SessionPlan, prompt_versions: dict[str, str], teacher: str) -> Session:
    return Session(
        id=plan.session_id,
        character_id=plan.profile.id,
        lang=plan.profile.lang,
        name=plan.profile.name,
        description=plan.profile.description,
        partner_id=plan.partner.id,
        turns=plan.turns,
        prompt_versions=prompt_versions,
        teacher=teacher,
    )
