"""Building a new eval set from held-out characters with the simulation pipeline.

The teacher writes the prompts and, with the full profile in context, the reference
answers; each turn keeps its evidence (profile facts) and its rejection label (1 for
contrastive queries). Each record gets four candidates for the consistency judge: the true
character and three others of the same language, drawn with the seed, each written as the
official set writes them, `[Name] first sentence of the summary`.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from ditto.characters.profile import Profile
from ditto.errors import DittoError
from ditto.evaluate.candidates import candidate_line
from ditto.evaluate.eval_sets import write_eval_set
from ditto.evaluate.records import EvalItem
from ditto.models import ChatModel
from ditto.prompts.role import role_system_prompt
from ditto.simulate.config import SimulateConfig
from ditto.simulate.pairing import profile_key
from ditto.simulate.run import simulate
from ditto.store import RunStore

CANDIDATES = 4


def held_out(pool: list[Profile], train_ids: set[str]) -> tuple[list[Profile], int]:
    """The pool without the characters of the training set, and how many were refused."""
    kept = [p for p in pool if p.id not in train_ids]
    return kept, len({p.id for p in pool} - {p.id for p in kept})


def draw_candidates(profile: Profile, pool: list[Profile], seed: int) -> list[str]:
    others = sorted((p for p in pool if p.lang == profile.lang and p.id != profile.id), key=profile_key)
    if len(others) < CANDIDATES - 1:
        raise DittoError(
            f"--characters: {profile.lang} needs at least {CANDIDATES} characters for consistency candidates"
        )
    rng = random.Random(f"{seed}:candidates:{profile_key(profile)}")
    chosen = rng.sample(others, CANDIDATES - 1) + [profile]
    rng.shuffle(chosen)
    return [candidate_line(p.name, p.summary or p.description) for p in chosen]


def build_eval_set(
    pool: list[Profile],
    teacher: ChatModel,
    store: RunStore,
    out_path: str | Path,
    config: SimulateConfig,
    *,
    train_ids: set[str] = frozenset(),
    run_dir: str | Path,
    progress: bool = True,
) -> list[EvalItem]:
    """Simulate sessions for held-out characters and write them as an eval set.

    Partners and candidates come from the whole pool (a trained character may be a wrong
    answer or the source of a contrastive question); only the characters evaluated must be
    held out."""
    eval_pool, refused = held_out(pool, set(train_ids))
    if refused:
        print(f"note: refused {refused} characters that appear in the training set")
    if not eval_pool:
        raise DittoError("--characters: every character appears in the training set; none is held out")
    held_out_ids = frozenset(p.id for p in eval_pool)
    if config.character_ids is not None:
        held_out_ids &= config.character_ids
    eval_config = replace(config, push_to_hub=None, character_ids=held_out_ids)
    result = simulate(pool, teacher, store, run_dir, eval_config, progress=progress)
    profiles = {profile_key(p): p for p in eval_pool}
    items = []
    for session in result.sessions:
        profile = profiles[session.id]
        items.append(
            EvalItem(
                id=session.id,
                lang=profile.lang,
                label=profile.name,
                summary=profile.summary or profile.description,
                system=role_system_prompt(profile, config.prompts_dir),
                prompts=[t.query for t in session.turns],
                ref_messages=[t.response for t in session.turns],
                candidates=draw_candidates(profile, pool, config.seed),
                rejection_labels=[t.rejection_label for t in session.turns],
                evidence=["\n".join(t.evidence) for t in session.turns],
                character_id=profile.id,
                category=profile.category,
            )
        )
    if not items:
        raise DittoError("eval build: the teacher produced no valid session; see failures.jsonl in the run directory")
    write_eval_set(out_path, items)
    return items
