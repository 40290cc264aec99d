"""Example dialogues for the report: the same eval item, answered by every model, side by side.

Numbers say which model is better; reading a few answers to the same questions says how.
Items are picked in the first run's order, one per language first (so a Chinese example
appears next to an English one), only among items every run answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from ditto.evaluate.records import eval_field
from ditto.report.collect import Run


@dataclass
class Example:
    key: str
    character: str
    lang: str
    prompts: list[str]
    answers: dict[str, list[str]]  # run label -> the model's answer to each prompt


def item_key(record: dict) -> str:
    """The eval item's id; records without one are matched on character and first prompt."""
    item_id = eval_field(record, "id")
    if item_id is not None:
        return str(item_id)
    prompts, _ = dialogue(record)
    return f"{eval_field(record, 'label')}|{prompts[0] if prompts else ''}"


def dialogue(record: dict) -> tuple[list[str], list[str]]:
    """(prompts, answers): ours keep them as lists; official records as chat `messages`."""
    if isinstance(record.get("prompts"), list) and isinstance(record.get("answers"), list):
        return [str(p) for p in record["prompts"]], [str(a) for a in record["answers"]]
    messages = [m for m in record.get("messages") or [] if isinstance(m, dict)]
    prompts = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
    answers = [str(m.get("content", "")) for m in messages if m.get("role") == "assistant"]
    return prompts, answers


def pick_examples(runs: list[Run], count: int = 3) -> list[Example]:
    by_run = [{item_key(record): record for record in run.records} for run in runs]
    shared = [key for key in by_run[0] if all(key in items for items in by_run[1:])]
    langs_seen: set[str] = set()
    first_of_each_lang = []
    for key in shared:
        lang = str(eval_field(by_run[0][key], "lang"))
        if lang not in langs_seen:
            langs_seen.add(lang)
            first_of_each_lang.append(key)
    chosen = (first_of_each_lang + [key for key in shared if key not in first_of_each_lang])[:count]
    examples = []
    for key in chosen:
        record = by_run[0][key]
        prompts, _ = dialogue(record)
        examples.append(Example(
            key=key,
            character=str(eval_field(record, "label") or ""),
            lang=str(eval_field(record, "lang")),
            prompts=prompts,
            answers={run.label: dialogue(items[key])[1] for run, items in zip(runs, by_run)},
        ))
    return examples
