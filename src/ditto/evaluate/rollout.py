"""Rollout: the model under test answers each eval item's prompts in order, as one
multi-turn chat under the item's system prompt (backends without a system role get it at
the start of the first user turn). Turn t of every item is one batch (`complete_dialogues`)."""

from __future__ import annotations

from ditto.evaluate.records import EvalItem
from ditto.models import ChatModel
from ditto.models.dialogues import Dialogue, complete_dialogues
from ditto.store import RunStore
from ditto.types import SamplingParams, Usage


def rollout(
    model: ChatModel,
    store: RunStore,
    items: list[EvalItem],
    params: SamplingParams,
    *,
    progress: bool = True,
) -> tuple[list[list[str]], Usage]:
    """Each item's answers, in prompt order, and the tokens spent."""
    dialogues = [Dialogue(prompts=item.prompts, system=item.system) for item in items]
    usage = complete_dialogues(model, store, dialogues, params, description="rollout", progress=progress)
    return [[answer.text for answer in d.answers] for d in dialogues], usage
