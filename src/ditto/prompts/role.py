"""The role system prompt of the fine-tuned model: "You are {name}, {description}."

This is all that is left of the profile after simulation (the paper's self-alignment
step): the tuned model must recall everything else from its own weights. Simulation (the
SFT samples), training data, chat and evaluation all call this one function, so the prompt
never drifts between stages; it lives with the templates because every stage may import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ditto.prompts import render

if TYPE_CHECKING:
    from ditto.characters.profile import Profile


def role_system_prompt(profile: Profile, prompts_dir: str | Path | None = None) -> str:
    description = profile.description.strip().rstrip(".。")
    return render("role_system", profile.lang, prompts_dir, name=profile.name, description=description)
