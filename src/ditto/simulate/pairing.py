"""Who is asked about whom: each character A gets a partner B from the same language pool.

The paper draws B at random. `contrast="hard"` (beyond the paper) prefers a partner of
another category (real vs fictional) or another era, so that B's knowledge is far from A's
and contrastive questions are easy to get right.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from typing import Literal

from ditto.characters.profile import Profile

Contrast = Literal["random", "hard"]
BIRTH_PREFIXES = ("date of birth", "出生日期", "出生")
YEAR = re.compile(r"(\d{1,4})\s*(BCE|BC|B\.C\.)?")
CHINESE_YEAR = re.compile(r"(公元前)?(\d{1,4})年")
ERA_GAP_YEARS = 200


def profile_key(profile: Profile) -> str:
    return f"{profile.id}@{profile.lang}"


def birth_year(profile: Profile) -> int | None:
    for claim in profile.claims:
        prefix, _, value = claim.replace("：", ":").partition(":")
        if prefix.strip().lower() in BIRTH_PREFIXES:
            chinese = CHINESE_YEAR.search(value)
            if chinese:
                return -int(chinese.group(2)) if chinese.group(1) else int(chinese.group(2))
            matches = YEAR.findall(value)  # "15 April 1452": the year is the last number
            if matches:
                number, era = matches[-1]
                return -int(number) if era else int(number)
    return None


def is_far(a: Profile, b: Profile) -> bool:
    return far_apart(a.category, birth_year(a), b.category, birth_year(b))


def far_apart(category_a: str, year_a: int | None, category_b: str, year_b: int | None) -> bool:
    if category_a != category_b:
        return True
    return year_a is not None and year_b is not None and abs(year_a - year_b) >= ERA_GAP_YEARS


def pick_partners(profiles: list[Profile], seed: int, contrast: Contrast = "random") -> dict[str, Profile]:
    """Partner of every profile (by `profile_key`), drawn from its own language, seeded.

    Each draw is `rng.choice` over the language's profiles (ordered by key) without the
    character itself. For `random` the list is not built: the drawn position is mapped past
    the character's own entries, which draws the same partner from the same random numbers
    in time linear in the pool rather than quadratic (16,000 characters took minutes)."""
    partners: dict[str, Profile] = {}
    for lang, pool in language_pools(profiles).items():
        rng = random.Random(f"{seed}:{lang}")
        positions = positions_by_id(pool)
        years = [birth_year(p) for p in pool] if contrast == "hard" else []
        for position, profile in enumerate(pool):
            own = positions[profile.id]
            if len(own) == len(pool):
                continue
            if contrast == "hard":
                others = [i for i in range(len(pool)) if pool[i].id != profile.id]
                far = [i for i in others
                       if far_apart(profile.category, years[position], pool[i].category, years[i])]
                partners[profile_key(profile)] = pool[rng.choice(far or others)]
                continue
            partners[profile_key(profile)] = pool[past_own(rng.choice(range(len(pool) - len(own))), own)]
    return partners


def language_pools(profiles: list[Profile]) -> dict[str, list[Profile]]:
    """The profiles of each language, ordered by key, languages in order: what seeded draws
    (partners, eval candidates) index into."""
    by_lang: dict[str, list[Profile]] = defaultdict(list)
    for profile in sorted(profiles, key=profile_key):
        by_lang[profile.lang].append(profile)
    return dict(sorted(by_lang.items()))


def positions_by_id(pool: list[Profile]) -> dict[str, list[int]]:
    """Where each id stands in `pool`, ascending (an id may stand more than once)."""
    positions: dict[str, list[int]] = defaultdict(list)
    for position, profile in enumerate(pool):
        positions[profile.id].append(position)
    return positions


def past_own(drawn: int, own: list[int]) -> int:
    """Position `drawn` of `pool` without the positions `own` (ascending), as a position in
    `pool`: a draw over "everyone else" without building that list for each character."""
    for taken in own:
        if drawn >= taken:
            drawn += 1
    return drawn
