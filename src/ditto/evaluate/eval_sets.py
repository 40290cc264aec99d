"""Reading and writing eval sets in the WikiRoleEval layout.

Reading is tolerant: each field may sit at the top level or under `meta` (`eval_field`: the
top-level value unless it is null), and a record may give its dialogue as `messages` (system,
then user and reference turns) instead of `system` / `prompts` / `ref_messages`. Writing puts
the official `meta` fields in place and keeps `messages` too, so the official judge scripts can
read our sets.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ditto.chat_files import iter_jsonl, write_jsonl_atomic
from ditto.errors import DittoError
from ditto.evaluate.candidates import true_candidate
from ditto.evaluate.records import EvalItem, eval_field

META_FIELDS = {
    "label": "label",
    "summary": "summary",
    "lang": "lang",
    "evidence": "evidence",
    "role_consist_cands": "candidates",
    "candidates": "candidates",
    "rejection_labels": "rejection_labels",
    "category": "category",
    "character_id": "character_id",
}


def _evidence_text(value: object, where: str) -> str:
    """One turn's evidence: a text, or a list of texts (the official layout), or nothing."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "\n".join(value)
    raise DittoError(f"{where} must be a text or a list of texts")


def eval_item_from_record(record: dict, where: str, index: int) -> EvalItem:
    values: dict = {}
    for source, target in META_FIELDS.items():
        value = eval_field(record, source)
        if value is not None and target not in values:
            values[target] = value
    system, prompts, refs = (eval_field(record, name) for name in ("system", "prompts", "ref_messages"))
    messages = record.get("messages")
    if prompts is None and isinstance(messages, list):
        if messages and isinstance(messages[0], dict) and messages[0].get("role") == "system":
            system = system if system is not None else messages[0].get("content", "")
            messages = messages[1:]
        prompts = [m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        refs = refs or [m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    if isinstance(refs, list):  # messages keep their text; anything else is left to the check below
        refs = [m.get("content", "") if isinstance(m, dict) else m for m in refs
                if not isinstance(m, dict) or m.get("role") == "assistant"]
    if isinstance(prompts, list):
        prompts = [m.get("content", "") if isinstance(m, dict) else m for m in prompts]
    evidence = values.get("evidence")
    if isinstance(evidence, list):
        values["evidence"] = [_evidence_text(e, f"{where}: evidence[{turn}]") for turn, e in enumerate(evidence)]
    values.update(system=system or "", prompts=prompts or [], ref_messages=refs or [])
    item_id = eval_field(record, "id")
    values["id"] = str(index if item_id is None else item_id)
    if "label" not in values:
        raise DittoError(f"{where}: no 'label' (the character's name), at the top level or under 'meta'")
    try:
        item = EvalItem.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DittoError(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if not item.prompts:
        raise DittoError(f"{where}: no prompts")
    for name in ("rejection_labels", "evidence"):
        value = getattr(item, name)
        if value and len(value) != len(item.prompts):
            raise DittoError(f"{where}: {len(value)} {name} for {len(item.prompts)} prompts")
    true_candidate(item.candidates, item.label, where)  # refuses a set that no verdict could match
    return item


def read_eval_set(path: str | Path) -> list[EvalItem]:
    items = [eval_item_from_record(record, f"{path}:{number}", number) for number, record in iter_jsonl(path)]
    if not items:
        raise DittoError(f"{path}: no records")
    return items


def eval_item_record(item: EvalItem) -> dict:
    messages = [{"role": "system", "content": item.system}]
    for index, prompt in enumerate(item.prompts):
        messages.append({"role": "user", "content": prompt})
        if index < len(item.ref_messages):
            messages.append({"role": "assistant", "content": item.ref_messages[index]})
    return {
        "id": item.id,
        "system": item.system,
        "prompts": item.prompts,
        "ref_messages": item.ref_messages,
        "messages": messages,
        "meta": {
            "label": item.label,
            "summary": item.summary,
            "lang": item.lang,
            "evidence": item.evidence,
            "role_consist_cands": item.candidates,
            "rejection_labels": item.rejection_labels,
            "category": item.category,
            "character_id": item.character_id,
        },
    }


def write_eval_set(path: str | Path, items: list[EvalItem]) -> None:
    write_jsonl_atomic(path, (eval_item_record(item) for item in items))

