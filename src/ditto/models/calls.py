"""The one function through which every model call in ditto goes, and the loop built on it.

`complete` expands each conversation into its n samples, answers what it can from the run
store, sends only the rest to the model, and commits each result within milliseconds of its
arrival (the store groups commits). So a re-run sends nothing, and a run killed half-way
resumes where it stopped.

`complete_until_parsed` is the loop every stage whose answers must have a form runs (query
lists, judge verdicts, MT-Bench ratings): ask (under the form's JSON schema when it has one),
read, ask again what did not read.
`complete_stream` is the same door for one reply read piece by piece (`ditto chat`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ditto.models.base import ChatModel
from ditto.models.structured import Form, StructuredTally
from ditto.store import RunStore, request_key
from ditto.types import ChatRequest, Completion, Message, ResponseSchema, SamplingParams, Usage, total_usage

T = TypeVar("T")


class TokensPerSecondColumn(ProgressColumn):
    """Generated tokens per second, counting only fresh (not cached) completions."""

    def render(self, task) -> Text:
        tokens = task.fields.get("tokens", 0)
        elapsed = task.elapsed or 0.0
        rate = tokens / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} tok/s", style="progress.data.speed")


def progress_bar(disable: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TokensPerSecondColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=disable,
        transient=False,
    )


def complete(
    model: ChatModel,
    store: RunStore,
    conversations: Sequence[Sequence[Message]],
    params: SamplingParams,
    *,
    description: str = "generate",
    progress: bool = True,
    first_sample: int | Sequence[int] = 0,
    schemas: Sequence[ResponseSchema | None] | None = None,
) -> list[list[Completion]]:
    """Completions for every conversation: `result[i][s]` is sample `first_sample + s` of
    conversation `i` (`first_sample` may also be given per conversation). A caller that
    retries a failed parse asks again with a later sample index, so each attempt is a
    distinct, cached sample. `schemas[i]`, when given, is the response schema of
    conversation i's requests (part of their key)."""
    firsts = [first_sample] * len(conversations) if isinstance(first_sample, int) else list(first_sample)
    schemas = list(schemas) if schemas is not None else [None] * len(conversations)
    sample_params = {s: params.for_sample(s) for s in {f + k for f in set(firsts) for k in range(params.n)}}
    requests = [
        ChatRequest(messages=tuple(messages), params=sample_params[s], sample_index=s, response_schema=schema)
        for messages, first, schema in zip(conversations, firsts, schemas)
        for s in range(first, first + params.n)
    ]
    keys = [request_key(model.cache_id, r) for r in requests]
    found = store.get_many(keys)
    results: list[Completion | None] = [found.get(k) for k in keys]
    # A request asked twice (the same key: same model, messages, settings and sample) is
    # sent once, and its answer is both answers, as a re-run would read it from the store.
    missing: list[int] = []
    repeats: dict[int, list[int]] = {}
    first_with_key: dict[str, int] = {}
    for i, result in enumerate(results):
        if result is None:
            first = first_with_key.setdefault(keys[i], i)
            if first == i:
                missing.append(i)
            else:
                repeats.setdefault(first, []).append(i)

    retried_before = total_retries(model)
    with progress_bar(disable=not progress) as bar:
        task = bar.add_task(description, total=len(requests), completed=len(requests) - len(missing), tokens=0)
        started = time.perf_counter()
        fresh_tokens = 0
        try:
            for position, completion in model.generate([requests[i] for i in missing]):
                index = missing[position]
                store.put(keys[index], model.cache_id, requests[index], completion, time.perf_counter() - started)
                results[index] = completion
                for repeat in repeats.get(index, ()):
                    results[repeat] = completion
                fresh_tokens += completion.usage.completion_tokens
                bar.update(task, advance=1, tokens=fresh_tokens)
        finally:  # what arrived is committed before this returns, or before an error leaves it
            store.flush()

    retried = total_retries(model) - retried_before
    if retried:
        Console(stderr=True).print(f"{description}: {retried} transient failures retried ({retry_line(model)})")
    per_conversation = params.n
    return [
        [results[i * per_conversation + s] for s in range(per_conversation)]  # type: ignore[misc]
        for i in range(len(conversations))
    ]


@dataclass
class ParsedSample(Generic[T]):
    """One sample slot of a conversation after the parse loop: the parsed value of its last
    answer (None when no answer parsed), every raw answer it got, in order, and how many of
    them were cut at the token limit."""

    value: T | None = None
    raws: list[str] = field(default_factory=list)
    cut: int = 0

    @property
    def raw(self) -> str:
        return self.raws[-1] if self.raws else ""

    @property
    def attempts(self) -> int:
        return len(self.raws)


@dataclass
class ParsedResults(Generic[T]):
    samples: list[list[ParsedSample[T]]]
    """`samples[i][s]`: slot s of conversation i."""
    usage: Usage
    requests: int
    """Answers received, fresh or from the store: one per attempt of each slot."""
    structured: StructuredTally = field(default_factory=StructuredTally)
    """Answers per endpoint: enforced, violated, parsed from text, unparsed (`Form.read`)."""


def complete_until_parsed(
    model: ChatModel,
    store: RunStore,
    conversations: Sequence[Sequence[Message]],
    params: SamplingParams,
    parse: Form[T] | Callable[[str], T | None] | Sequence[Form[T] | Callable[[str], T | None]],
    *,
    max_attempts: int,
    parse_cut: bool = True,
    description: str = "generate",
    progress: bool = True,
) -> ParsedResults[T]:
    """`params.n` slots per conversation, each asked until its answer parses or it has had
    `max_attempts` answers. `parse` is a `Form` (its schema goes with the request, its
    readers return None for an answer that says nothing clear) or a function of the text
    alone; one for all conversations or one per conversation.

    Attempt a of slot s is sample `s + a * n` of its conversation: every retry is a new,
    cached sample, so a re-run or a resumed run asks exactly what it asked before. Each
    round sends every pending slot of every conversation in one batch, in the order given
    (callers order conversations so that shared prompt prefixes go out together).

    An answer cut at `max_tokens` (finish_reason "length") is counted in its slot's `cut`;
    with `parse_cut=False` it is not parsed at all (a fragment can look like a verdict: a
    score cut after its first digit) and counts as unparsed."""
    n = params.n
    given = [parse] * len(conversations) if callable(parse) or isinstance(parse, Form) else list(parse)
    forms = [p if isinstance(p, Form) else Form(from_text=p) for p in given]
    tally = StructuredTally()
    slots = [[ParsedSample[T]() for _ in range(n)] for _ in conversations]
    pending = [(c, s) for c in range(len(conversations)) for s in range(n)]
    answers: list[Completion] = []
    for attempt in range(max_attempts):
        if not pending:
            break
        label = description if attempt == 0 else f"{description} (asking again, {attempt})"
        results = complete(
            model, store, [conversations[c] for c, _ in pending], params.model_copy(update={"n": 1}),
            description=label, progress=progress, first_sample=[s + attempt * n for _, s in pending],
            schemas=[forms[c].schema for c, _ in pending],
        )
        still_pending = []
        for (c, s), [completion] in zip(pending, results):
            answers.append(completion)
            slot = slots[c][s]
            slot.raws.append(completion.text)
            was_cut = completion.finish_reason == "length"
            slot.cut += was_cut
            if was_cut and not parse_cut:
                slot.value, outcome = None, ("violated" if completion.structured == "enforced" else "unparsed")
            else:
                slot.value, outcome = forms[c].read(completion)
            if forms[c].schema is not None:
                tally.add(completion.endpoint, outcome)
            if slot.value is None:
                still_pending.append((c, s))
        pending = still_pending
    return ParsedResults(samples=slots, usage=total_usage(answers), requests=len(answers), structured=tally)


def retry_report(model: ChatModel) -> dict:
    """Per endpoint: requests sent, retried (by reason) and given up; empty for local models."""
    report = getattr(model, "retry_report", None)
    return report() if callable(report) else {}


def total_retries(model: ChatModel) -> int:
    return sum(entry["retried"] for entry in retry_report(model).values())


def retry_line(model: ChatModel) -> str:
    return "; ".join(
        f"{url}: " + ", ".join(f"{reason} x{count}" for reason, count in entry["reasons"].items())
        for url, entry in retry_report(model).items() if entry["retried"]
    )


def complete_stream(
    model: ChatModel, store: RunStore, messages: Sequence[Message], params: SamplingParams
) -> Generator[str, None, Completion]:
    """The streaming door beside `complete`: one reply to `messages` (sample 0 of `params`),
    in pieces of text as the model writes them, under the key `complete` uses, so that each
    finds what the other stored. A stored reply comes at once, whole; a backend without
    `stream` gives the whole text when it is done. The completion is committed to the store
    when the reply is complete (a reader that stops early, on Ctrl-C say, commits nothing)
    and is the generator's return value (`completion = yield from complete_stream(...)`)."""
    request = ChatRequest(messages=tuple(messages), params=params.for_sample(0), sample_index=0)
    key = request_key(model.cache_id, request)
    stored = store.get_many([key]).get(key)
    if stored is not None:
        if stored.text:
            yield stored.text
        return stored
    started = time.perf_counter()
    stream = getattr(model, "stream", None)
    if callable(stream):
        completion = yield from stream(request)
    else:
        [(_, completion)] = list(model.generate([request]))
        if completion.text:
            yield completion.text
    store.put(key, model.cache_id, request, completion, time.perf_counter() - started)
    store.flush()
    return completion
