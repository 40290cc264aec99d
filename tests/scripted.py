"""A scripted chat model for fast tests of the loops built on `complete` (parse-and-ask-
again, multi-turn dialogues): it answers each request with what a test's function says and
records every request it receives, so a test can prove what was asked, in which order and
with which sample index. The real-model behaviour of the same loops is covered end to end
on the builtin model (llama.cpp and transformers) elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ditto.types import ChatRequest, Completion, Usage


class ScriptedModel:
    def __init__(self, answer: Callable[[ChatRequest], str], name: str = "scripted") -> None:
        self.answer = answer
        self.cache_id = f"scripted:{name}"
        self.requests: list[ChatRequest] = []
        self.batches: list[int] = []
        self.closed = False

    def generate(self, requests: Sequence[ChatRequest]) -> Iterator[tuple[int, Completion]]:
        self.batches.append(len(requests))
        for index, request in enumerate(requests):
            self.requests.append(request)
            text = self.answer(request)
            usage = Usage(prompt_tokens=sum(len(m.content.split()) for m in request.messages),
                          completion_tokens=len(text.split()))
            yield index, Completion(text=text, usage=usage)

    def close(self) -> None:
        self.closed = True


def last_user(request: ChatRequest) -> str:
    return next(m.content for m in reversed(request.messages) if m.role == "user")
