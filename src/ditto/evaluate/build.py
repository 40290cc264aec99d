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
from ditto.simulate.pairing import language_pools, past_own, positions_by_id, profile_key
from ditto.simulate.run import simulate
from ditto.store import RunStore

CANDIDATES = 4


def held_out(pool: list[Profile], train_ids: set[str]) -> tuple[list[Profile], int]:
    """The pool without the characters of the training set, and how many were refused."""
    kept = [p for p in pool if p.id not in train_ids]
    return kept, len({p.id for p in pool} - {p.id for p in kept})


class CandidateDrawer:
    """Consistency candidates for any character of `pool`: the character and three others of
    its language, drawn with the seed and shuffled.

    Each draw is `rng.sample` over the language's other characters (ordered by key) and a
    shuffle. The ordered list is made once per language, not once per character, and the
    character's own entries are stepped over by position, which draws the same candidates
    from the same random numbers in linear rather than quadratic time."""

    def __init__(self, pool: list[Profile]) -> None:
        self.by_lang = language_pools(pool)
        self.positions = {lang: positions_by_id(profiles) for lang, profiles in self.by_lang.items()}

    def draw(self, profile: Profile, seed: int) -> list[str]:
        in_lang = self.by_lang.get(profile.lang, [])
        own = self.positions.get(profile.lang, {}).get(profile.id, [])
        if len(in_lang) - len(own) < CANDIDATES - 1:
            raise DittoError(
                f"--characters: {profile.lang} needs at least {CANDIDATES} characters for consistency candidates"
            )
        rng = random.Random(f"{seed}:candidates:{profile_key(profile)}")
        chosen = [in_lang[past_own(j, own)] for j in rng.sample(range(len(in_lang) - len(own)), CANDIDATES - 1)]
        chosen.append(profile)
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
    drawer = CandidateDrawer(pool)
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
                candidates=drawer.draw(profile, config.seed),
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
