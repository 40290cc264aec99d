"""The one interface every backend implements.

A backend takes a batch of single-sample requests and yields each completion as soon as it
is ready, tagged with the request's position. Yielding early is what lets the run store
write every result the moment it exists, so that a killed run loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from ditto.cost import estimate_tokens
from ditto.types import ChatRequest, Completion


class ChatModel(Protocol):
    cache_id: str
    """What identifies this model's outputs in cache keys (backend kind and model name)."""

    def generate(self, requests: Sequence[ChatRequest]) -> Iterator[tuple[int, Completion]]:
        """Yield `(index into requests, completion)` in whatever order they finish."""
        ...

    def close(self) -> None: ...


def token_counter(model: ChatModel) -> Callable[[str], int]:
    """How to count a text's tokens for `model`: its own tokenizer when the backend has one
    (a local model's `count_tokens`), else `ditto.cost.estimate_tokens` (about 4 characters
    per token, 1 per CJK character), which needs nothing from a server and gives the same
    count on every run. A server's tokenizer is not asked: that would cost a request per
    text and make a prompt depend on which server answered."""
    count = getattr(model, "count_tokens", None)
    return count if callable(count) else estimate_tokens
