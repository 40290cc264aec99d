"""The one function through which every model call in ditto goes.

`complete` expands each conversation into its n samples, answers what it can from the run
store, sends only the rest to the model, and commits each result as it arrives. So a
re-run sends nothing, and a run killed half-way resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

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
from ditto.store import RunStore, request_key
from ditto.types import ChatRequest, Completion, Message, SamplingParams


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
) -> list[list[Completion]]:
    """Completions for every conversation: `result[i][s]` is sample `first_sample + s` of
    conversation `i` (`first_sample` may also be given per conversation). A caller that
    retries a failed parse asks again with a later sample index, so each attempt is a
    distinct, cached sample."""
    firsts = [first_sample] * len(conversations) if isinstance(first_sample, int) else list(first_sample)
    requests = [
        ChatRequest(messages=tuple(messages), params=params.for_sample(s), sample_index=s)
        for messages, first in zip(conversations, firsts)
        for s in range(first, first + params.n)
    ]
    keys = [request_key(model.cache_id, r) for r in requests]
    found = store.get_many(keys)
    results: list[Completion | None] = [found.get(k) for k in keys]
    missing = [i for i, result in enumerate(results) if result is None]

    retried_before = total_retries(model)
    with progress_bar(disable=not progress) as bar:
        task = bar.add_task(description, total=len(requests), completed=len(requests) - len(missing), tokens=0)
        started = time.perf_counter()
        fresh_tokens = 0
        for position, completion in model.generate([requests[i] for i in missing]):
            index = missing[position]
            store.put(keys[index], model.cache_id, requests[index], completion, time.perf_counter() - started)
            results[index] = completion
            fresh_tokens += completion.usage.completion_tokens
            bar.update(task, advance=1, tokens=fresh_tokens)

    retried = total_retries(model) - retried_before
    if retried:
        Console(stderr=True).print(f"{description}: {retried} transient failures retried ({retry_line(model)})")
    per_conversation = params.n
    return [
        [results[i * per_conversation + s] for s in range(per_conversation)]  # type: ignore[misc]
        for i in range(len(conversations))
    ]


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
