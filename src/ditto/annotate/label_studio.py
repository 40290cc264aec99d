"""Label Studio, for teams that already label there: the sample out as tasks, the annotations back in.

Out: a JSON array of tasks (`{"data": {...}}`, Label Studio's import layout) holding what the
ditto page shows, and the labelling interface to paste into the project's settings. The
consistency choices are the item's candidates, given per task (Label Studio's dynamic
choices: `<Choices value="$candidates">` over `[{"value": name}, ...]`), so one interface
serves every item. Label Studio cannot hide the character's name until the speaker has
been chosen, as ditto's page does; its interface puts the name last.

In: Label Studio's JSON export (an array of tasks, each with its `annotations`). Each
annotation's results are read by their `from_name` (the interface's control names, which
are the metrics' names), cancelled annotations are skipped, and the annotator is the
annotation's `completed_by` (an e-mail where the export has one, else `label-studio-<id>`).
The labels then pass the same checks as a JSON-lines import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ditto.annotate.sample import Task, Unit
from ditto.chat_files import read_json, write_text_atomic
from ditto.errors import DittoError

# The answer the interface offers for each 0/1 metric, and the value it stands for.
YES_NO = {
    "rejection": {"refused": 1, "answered": 0},
    "query_valid": {"valid": 1, "not valid": 0},
}
CONTROLS = ("consistency", "knowledge", "rejection", "query_valid")


def task_record(unit: Unit) -> dict:
    """One Label Studio task: the unit's text, and its ditto key to bring the labels home."""
    data = {
        "ditto_item": unit.item, "ditto_turn": unit.turn, "lang": unit.lang, "kind": unit.kind,
        "question": unit.question, "character": unit.character, "about": unit.about,
    }
    if "query_valid" not in unit.metrics:
        data |= {
            "reply": unit.reply, "evidence": unit.evidence or "-",
            "candidates": [{"value": c.name} for c in unit.candidates],
            "candidate_lines": "\n".join(f"[{c.name}] {c.summary}".strip() for c in unit.candidates) or "-",
        }
    return {"data": data}


def _choices(name: str, target: str, title: str) -> str:
    options = "".join(f"<Choice value={quoteattr(value)}/>" for value in YES_NO[name])
    control = f'<Choices name="{name}" toName="{target}" choice="single">{options}</Choices>'
    return f"<Header value={quoteattr(title)}/>{control}"


def label_config(task: Task) -> str:
    """The labelling interface (Label Studio's XML) for the tasks of `task_record`."""
    if task == "queries":
        body = (
            '<Header value="$character"/><Text name="about" value="$about"/>'
            '<Header value="Query ($kind)"/><Text name="question" value="$question"/>'
            + _choices("query_valid", "question", "Is this query valid for the role (its kind as stated)?")
        )
    else:
        body = (
            '<Header value="Question"/><Text name="question" value="$question"/>'
            '<Header value="Reply"/><Text name="reply" value="$reply"/>'
            '<Header value="Who is speaking?"/><Text name="candidate_lines" value="$candidate_lines"/>'
            '<Choices name="consistency" toName="reply" value="$candidates" choice="single"/>'
            '<Header value="$character"/><Text name="about" value="$about"/>'
            '<Header value="Evidence"/><Text name="evidence" value="$evidence"/>'
            '<Header value="Knowledge (1-10)"/><Rating name="knowledge" toName="reply" maxRating="10"/>'
            + _choices("rejection", "reply", "Did the character refuse?")
        )
    return f"<View>{body}</View>\n"


def export_tasks(units: Sequence[Unit], task: Task, out: Path) -> tuple[Path, Path]:
    """Write `out` (the tasks) and the interface beside it (`<stem>.config.xml`)."""
    out = Path(out)
    config = out.with_name(f"{out.stem}.config.xml")
    write_text_atomic(out, json.dumps([task_record(unit) for unit in units], ensure_ascii=False, indent=1) + "\n")
    write_text_atomic(config, label_config(task))
    return out, config


def _annotator(annotation: dict) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("username") or who.get("id")
    if isinstance(who, str) and who.strip():
        return who.strip()
    if isinstance(who, int) and not isinstance(who, bool):
        return f"label-studio-{who}"
    return "label-studio"


def _value(result: dict, where: str) -> tuple[str, object] | None:
    """(metric, value) of one result of an annotation, or None for a control ditto does not read."""
    name, value = result.get("from_name"), result.get("value")
    if name not in CONTROLS:
        return None
    if not isinstance(value, dict):
        raise DittoError(f"{where}: result {name!r} has no value object")
    if name == "knowledge":
        return name, value.get("rating")
    choices = value.get("choices")
    if not isinstance(choices, list) or len(choices) != 1:
        raise DittoError(f"{where}: result {name!r} should hold one choice, not {choices!r}")
    if name == "consistency":
        return name, choices[0]
    if choices[0] not in YES_NO[name]:
        raise DittoError(f"{where}: {name} choice {choices[0]!r} is none of {', '.join(YES_NO[name])}")
    return name, YES_NO[name][choices[0]]


def read_export(path: Path) -> Iterator[tuple[str, dict]]:
    """(where, label record) for every labelled control of every annotation in the export."""
    tasks = read_json(path)
    if not isinstance(tasks, list):
        raise DittoError(f"{path}: not a Label Studio JSON export (an array of tasks)")
    for number, task in enumerate(tasks, start=1):
        where = f"{path}: task {number}"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or "ditto_item" not in data or "ditto_turn" not in data:
            raise DittoError(f"{where}: no data.ditto_item / data.ditto_turn (import tasks made by "
                             "`ditto annotate export --format label-studio`)")
        for annotation in task.get("annotations") or []:
            if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
                continue
            for result in annotation.get("result") or []:
                found = _value(result, where) if isinstance(result, dict) else None
                if found is not None:
                    metric, value = found
                    yield where, {"item": data["ditto_item"], "turn": data["ditto_turn"], "metric": metric,
                                  "value": value, "annotator": _annotator(annotation)}
