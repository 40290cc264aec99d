"""Multi-turn dialogues answered turn by turn: the one loop that simulation sessions,
evaluation rollouts and MT-Bench share.

Turn t of every dialogue still going is one batch through `complete`, each with the
dialogue's earlier prompts and answers in context, so a batch holds as many requests as
there are dialogues and a server sees them together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ditto.models.base import ChatModel
from ditto.models.calls import complete
from ditto.store import RunStore
from ditto.types import Completion, Message, SamplingParams, Usage, total_usage


@dataclass
class Dialogue:
    """A system prompt (may be empty: no system message) and the user's prompts in order;
    `answers` fills in as the dialogue is answered, `ended` says why it stopped early."""

    prompts: Sequence[str]
    system: str = ""
    answers: list[Completion] = field(default_factory=list)
    ended: str | None = None

    @property
    def going(self) -> bool:
        return self.ended is None and len(self.answers) < len(self.prompts)

    def messages(self) -> list[Message]:
        """The chat so far, ending with the next prompt."""
        messages = [Message(role="system", content=self.system)] if self.system else []
        for prompt, answer in zip(self.prompts, self.answers):
            messages += [Message(role="user", content=prompt), Message(role="assistant", content=answer.text)]
        messages.append(Message(role="user", content=self.prompts[len(self.answers)]))
        return messages


def complete_dialogues(
    model: ChatModel,
    store: RunStore,
    dialogues: Sequence[Dialogue],
    params: SamplingParams,
    *,
    description: str,
    progress: bool = True,
    end_if: Callable[[Completion], str | None] | None = None,
) -> Usage:
    """Answer every dialogue to its last prompt, in place; returns the tokens spent.

    `end_if` reads each answer and returns why the dialogue must end before it (the answer
    is then not kept), or None to keep it. Requests go out in the order of `dialogues`."""
    params = params.model_copy(update={"n": 1})
    spent: list[Completion] = []
    longest = max((len(d.prompts) for d in dialogues), default=0)
    for turn in range(longest):
        active = [d for d in dialogues if d.going]
        if not active:
            break
        results = complete(
            model, store, [d.messages() for d in active], params,
            description=f"{description} (turn {turn + 1}/{longest})", progress=progress,
        )
        for dialogue, [completion] in zip(active, results):
            spent.append(completion)
            reason = end_if(completion) if end_if else None
            if reason is None:
                dialogue.answers.append(completion)
            else:
                dialogue.ended = f"{reason} at turn {turn + 1}"
    return total_usage(spent)
