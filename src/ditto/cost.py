"""What a stage will cost before it runs (`--dry-run`): requests and tokens per stage.

Request counts are exact for the first round of every stage, and also given with every
re-ask a stage may make. Token counts are ceilings for the latter case: prompt tokens are
estimated from the real prompts (about 4 characters per token, one per CJK character,
close for BPE tokenizers of English and Chinese), where earlier answers inside a prompt
count as `max_tokens` long; completion tokens are `max_tokens` per request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table

from ditto.types import Message

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]")
TEMPLATE_TOKENS_PER_MESSAGE = 4
"""Chat-template markers around each message (role, start and end of turn)."""


def estimate_tokens(text: str) -> int:
    cjk = len(CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def estimate_prompt(messages: Iterable[Message]) -> int:
    return sum(estimate_tokens(m.content) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages)


@dataclass
class StageEstimate:
    stage: str
    requests: int
    """Requests of the first round: what is sent when every answer parses."""
    max_requests: int
    """With every re-ask a stage may make."""
    prompt_tokens: int
    completion_tokens: int
    note: str = ""

    def add(self, requests: int, max_requests: int, prompt_tokens: int, completion_tokens: int) -> None:
        self.requests += requests
        self.max_requests += max_requests
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens


def print_estimates(estimates: list[StageEstimate], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="dry run: nothing sent, nothing written", title_justify="left", box=box.SIMPLE)
    for column in ("stage", "requests", "at most", "prompt tokens", "output tokens"):
        table.add_column(column, justify="left" if column == "stage" else "right", no_wrap=True)
    for e in estimates:
        table.add_row(e.stage, f"{e.requests:,}", f"{e.max_requests:,}", f"{e.prompt_tokens:,}",
                      f"{e.completion_tokens:,}")
    table.add_row("total", f"{sum(e.requests for e in estimates):,}", f"{sum(e.max_requests for e in estimates):,}",
                  f"{sum(e.prompt_tokens for e in estimates):,}", f"{sum(e.completion_tokens for e in estimates):,}",
                  style="bold")
    console.print(table)
    for e in estimates:
        if e.note:
            console.print(f"{e.stage}: {e.note}")
    console.print("'at most' counts every re-ask; token columns are ceilings for that case, prompt tokens "
                  "estimated at about 4 characters per token")
