"""Typed records shared by every stage: chat messages, sampling settings, completions.

Stage-specific records (characters, sessions, judgements) live beside their stage and
build on these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str


class SamplingParams(BaseModel):
    """What changes a model's output. Speed-only settings (concurrency, batch size) stay out,
    so that they never change a cache key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, description="samples per conversation")
    stop: tuple[str, ...] = ()
    seed: int | None = None
    repetition_penalty: float | None = Field(
        None,
        gt=0.0,
        description="divides the logit of every token already in the prompt or the reply (>1 "
        "discourages repeats; the paper used 1.1); None: not sent, the server's or model's own",
    )

    def for_sample(self, index: int) -> SamplingParams:
        """One sample's own settings: n=1 and, when seeded, a distinct seed per sample so
        that samples differ yet each one is reproducible and cached on its own."""
        seed = None if self.seed is None else self.seed + index
        return self.model_copy(update={"n": 1, "seed": seed})


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


def total_usage(completions: Iterable[Completion]) -> Usage:
    """The tokens a set of completions spent: the one place usage is summed."""
    total = Usage()
    for completion in completions:
        total += completion.usage
    return total


Structured = Literal["enforced", "text"]
"""How a request with a response schema was answered: under the schema, enforced by the
server or the local grammar engine ("enforced"), or as free text read by a tolerant parser,
because the endpoint was found not to enforce schemas ("text")."""


class ResponseSchema(BaseModel):
    """The JSON schema an answer must follow, and the name servers want beside it.

    Kept as compact JSON text with its property order: a constrained model writes the
    properties in that order (`analysis` before the verdict, so that it reasons first), so
    the order is part of what determines the answer and of the request's cache key."""

    model_config = ConfigDict(frozen=True)

    name: str
    text: str

    @classmethod
    def of(cls, name: str, schema: dict) -> ResponseSchema:
        return cls(name=name, text=json.dumps(schema, ensure_ascii=False, separators=(",", ":")))

    @property
    def schema(self) -> dict:
        return json.loads(self.text)


class Completion(BaseModel):
    text: str
    finish_reason: str = "stop"
    usage: Usage = Field(default_factory=Usage)
    cached: bool = False
    endpoint: str | None = None
    """Where the answer came from: the base URL for a server, "local" for a local model."""
    structured: Structured | None = None
    """None when the request carried no schema."""


class ChatRequest(BaseModel):
    """One conversation to complete once: `sample_index` tells apart the n samples."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[Message, ...]
    params: SamplingParams
    sample_index: int = 0
    response_schema: ResponseSchema | None = None
    """When set, the answer must be a JSON value valid under this schema."""


QueryKind = Literal["role_specific", "contrastive"]


class Turn(BaseModel):
    """One simulated exchange, with where its query came from and what it should draw on."""

    query: str
    response: str
    kind: QueryKind
    query_owner_id: str = Field(description="the character the query was written for")
    partner_id: str = Field(
        description="the session's partner, whose profile was read beside this character's; "
        "on contrastive turns it is also the query's owner"
    )
    evidence: list[str] = Field(default_factory=list, description="profile facts the turn draws on")
    rejection_label: int = Field(description="1 when the character should refuse (contrastive)")
    finish_reason: str = "stop"


class Session(BaseModel):
    """A multi-turn role-play conversation simulated with the full profile in the prompt."""

    id: str
    character_id: str
    lang: str
    name: str
    description: str
    partner_id: str
    turns: list[Turn]
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    teacher: str = ""
