"""Supervision performance (the paper's Table 3, the x-axis of its Figure 5): how well a model
role-plays when it reads the full profile, as the simulation's responder does, before any
training. `ditto eval run --with-profile --characters FILE` swaps each item's system prompt
("You are {name}, {description}") for the simulation's response prompt over that profile.
"""

from __future__ import annotations

from pathlib import Path

from ditto.characters.profile import Profile
from ditto.errors import DittoError
from ditto.evaluate.records import EvalItem
from ditto.simulate.sessions import response_system_prompt


def profile_for(item: EvalItem, by_id: dict[tuple[str, str], Profile], by_name: dict[tuple[str, str], Profile],
                source: str) -> Profile:
    """The item's character: by `character_id` when the set has one, else by name and language."""
    if item.character_id is not None and (item.character_id, item.lang) in by_id:
        return by_id[(item.character_id, item.lang)]
    if (item.label, item.lang) in by_name:
        return by_name[(item.label, item.lang)]
    raise DittoError(f"--characters {source}: no {item.lang} profile for {item.label!r} (eval item {item.id})")


def with_profiles(
    items: list[EvalItem], profiles: list[Profile], prompts_dir: str | Path | None, source: str
) -> list[EvalItem]:
    """The items, each answering under the full-profile prompt of its character."""
    by_id = {(p.id, p.lang): p for p in profiles}
    by_name = {(p.name, p.lang): p for p in profiles}
    return [
        item.model_copy(update={"system": response_system_prompt(profile_for(item, by_id, by_name, source),
                                                                 prompts_dir)})
        for item in items
    ]
