"""Responses that already exist, read for judging only (`ditto eval judge --answers FILE`).

Two layouts are read, each record an eval item plus the model's replies:
- the official response layout: the WikiRoleEval record (fields at the top level or under
  `meta`) with a `messages` list in chat form, system first, whose assistant turns are the
  model's replies to `prompts` in order (how the released Ditto responses and the baselines'
  outputs are stored);
- a ditto run's `judged.jsonl` (or any record with an `answers` list, one reply per prompt).

So the released Ditto-72B responses, an API baseline's outputs or an earlier run can be
judged again (another judge, other parsing) without generating anything.
"""

from __future__ import annotations

from pathlib import Path

from ditto.chat_files import iter_jsonl
from ditto.errors import DittoError
from ditto.evaluate.eval_sets import eval_item_from_record
from ditto.evaluate.records import EvalItem


def _replies(record: dict, item: EvalItem, where: str) -> list[str]:
    answers = record.get("answers")
    if answers is not None:
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise DittoError(f"{where}: 'answers' must be a list of texts")
        replies = answers
    else:
        messages = record.get("messages")
        if not isinstance(messages, list):
            raise DittoError(f"{where}: no 'answers' and no 'messages' holding the model's replies")
        dialogue = [m for m in messages if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
        asked = [m.get("content") for m in dialogue if m["role"] == "user"]
        if asked != item.prompts:
            raise DittoError(f"{where}: the user turns of 'messages' are not the record's prompts")
        replies = [m.get("content") for m in dialogue if m["role"] == "assistant"]
        if not all(isinstance(r, str) for r in replies):
            raise DittoError(f"{where}: an assistant message has no text 'content'")
    if len(replies) != len(item.prompts):
        raise DittoError(f"{where}: {len(replies)} replies for {len(item.prompts)} prompts")
    return replies


def read_answers(path: str | Path) -> tuple[list[EvalItem], list[list[str]]]:
    """The eval items of a response file and each item's replies, in prompt order."""
    items, answers = [], []
    for number, record in iter_jsonl(path):
        where = f"{path}:{number}"
        item = eval_item_from_record(record, where, number)
        items.append(item)
        answers.append(_replies(record, item, where))
    if not items:
        raise DittoError(f"{path}: no records")
    return items, answers
