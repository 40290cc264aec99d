"""SFT samples: the simulated sessions with the profile removed.

The system prompt keeps only "You are {name}, {description}." so the tuned model must
recall the character from its own weights. Written three ways: OpenAI-style messages
(`sft.jsonl`, what `ditto train` reads), ShareGPT JSON, and a Hugging Face dataset.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ditto.characters.profile import Profile
from ditto.chat_files import write_jsonl_atomic, write_text_atomic
from ditto.prompts.role import role_system_prompt
from ditto.types import Session

SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


def sft_sample(session: Session, profile: Profile, prompts_dir: str | Path | None = None) -> dict:
    messages = [{"role": "system", "content": role_system_prompt(profile, prompts_dir)}]
    for turn in session.turns:
        messages += [{"role": "user", "content": turn.query}, {"role": "assistant", "content": turn.response}]
    return {
        "messages": messages,
        "character_id": session.character_id,
        "lang": session.lang,
        "session_id": session.id,
        "turn_kinds": [turn.kind for turn in session.turns],
    }


def to_sharegpt(sample: dict) -> dict:
    return {
        "id": sample["session_id"],
        "conversations": [
            {"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in sample["messages"]
        ],
    }


def write_exports(samples: list[dict], out_dir: Path, *, push_to_hub: str | None = None) -> dict[str, str]:
    """Write every export format; returns what was written where."""
    written = {}
    sft_path = out_dir / "sft.jsonl"
    write_jsonl_atomic(sft_path, samples)
    written["sft"] = str(sft_path)

    sharegpt_path = out_dir / "sharegpt.json"
    write_text_atomic(sharegpt_path, json.dumps([to_sharegpt(s) for s in samples], ensure_ascii=False, indent=1))
    written["sharegpt"] = str(sharegpt_path)

    try:
        import datasets
    except ImportError:
        return written  # the `train` extra is not installed: the JSON exports are enough
    datasets.disable_progress_bars()
    dataset = datasets.Dataset.from_list(samples)
    dataset_path = out_dir / "hf_dataset"
    # saved beside, then swapped in: a kill mid-save never leaves a broken hf_dataset/
    staging, old = out_dir / ".hf_dataset.tmp", out_dir / ".hf_dataset.old"
    shutil.rmtree(staging, ignore_errors=True)
    dataset.save_to_disk(str(staging))
    if dataset_path.exists():
        shutil.rmtree(old, ignore_errors=True)
        dataset_path.rename(old)
    staging.rename(dataset_path)
    shutil.rmtree(old, ignore_errors=True)
    written["hf_dataset"] = str(dataset_path)
    if push_to_hub:
        dataset.push_to_hub(push_to_hub)
        written["hub"] = push_to_hub
    return written
