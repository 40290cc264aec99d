"""The simulation stage top to bottom: pair -> write queries -> answer in sessions -> SFT samples.

Everything the model says comes from `complete`, so the stage is resumable through the
run store: a re-run of the same configuration sends nothing and writes the same files.

A Chinese profile without a Chinese introduction takes no part in the Chinese simulation
(neither as character nor as partner), and is counted: with only Wikidata's facts, which
often fall back to English labels, the teacher writes thin questions and role-plays from
what it recalls rather than from a text it reads, which is the point of the method.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ditto.characters.profile import Profile
from ditto.chat_files import write_jsonl_atomic, write_text_atomic
from ditto.errors import DittoError
from ditto.models import ChatModel
from ditto.models.base import token_counter
from ditto.models.calls import retry_report
from ditto.models.structured import structured_record
from ditto.prompts import template_version
from ditto.simulate.config import SimulateConfig
from ditto.simulate.pairing import pick_partners, profile_key
from ditto.simulate.profile_text import ProfileText
from ditto.simulate.queries import QuerySet, simulate_queries
from ditto.simulate.samples import sft_sample, write_exports
from ditto.simulate.sessions import (
    CUT_AT_MAX_TOKENS,
    NO_QUERIES,
    SessionPlan,
    plan_session,
    simulate_responses,
    to_session,
)
from ditto.store import RunStore
from ditto.types import Session, Usage


@dataclass
class SimulateResult:
    sessions: list[Session]
    samples: list[dict]
    stats: dict
    files: dict[str, str]


HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
NO_CHINESE_INTRO = "no Chinese Wikipedia introduction"


def lacks_chinese_intro(profile: Profile) -> bool:
    """A Chinese profile whose introduction is missing or not written in Chinese (module
    docstring): fewer Han characters than Latin letters, so that an English introduction
    quoting a Chinese name counts as English and a Chinese one quoting English names as
    Chinese."""
    if profile.lang.split("-")[0] != "zh":
        return False
    han = len(HAN.findall(profile.summary))
    return han == 0 or han < len(LATIN.findall(profile.summary))


def simulated_pool(pool: list[Profile], config: SimulateConfig) -> list[Profile]:
    """The profiles of the simulated languages that may take part, as character or partner."""
    return [p for p in pool if p.lang in config.langs and not lacks_chinese_intro(p)]


def left_out_characters(pool: list[Profile], config: SimulateConfig) -> list[Profile]:
    """The characters this run would have considered (its languages, `character_ids`, shard;
    before `limit`) that `lacks_chinese_intro` leaves out."""
    left_out = [
        p for p in pool if p.lang in config.langs and lacks_chinese_intro(p)
        and (config.character_ids is None or p.id in config.character_ids)
    ]
    return config.shard.select(left_out, profile_key) if config.shard else left_out


def select_characters(pool: list[Profile], config: SimulateConfig) -> list[Profile]:
    """The characters to simulate: in each language, `limit` of them drawn with the seed.
    Partners are drawn from the whole `simulated_pool` of that language, not only from this
    selection."""
    left_out = left_out_characters(pool, config)
    pool = simulated_pool(pool, config)
    chosen = []
    for lang in config.langs:
        in_lang = sorted((p for p in pool if p.lang == lang), key=profile_key)
        if config.character_ids is not None:
            in_lang = [p for p in in_lang if p.id in config.character_ids]
        if config.limit is not None and config.limit < len(in_lang):
            rng = random.Random(f"{config.seed}:select:{lang}")
            in_lang = sorted(rng.sample(in_lang, config.limit), key=profile_key)
        chosen += in_lang
    if not chosen:
        why = f" ({len(left_out)} Chinese profiles left out: {NO_CHINESE_INTRO})" if left_out else ""
        raise DittoError(f"--lang {','.join(config.langs)}: no character of the pool has that language{why}")
    if config.shard is not None:
        chosen = config.shard.select(chosen, profile_key)
    return chosen


def plan_pairs(
    pool: list[Profile], config: SimulateConfig
) -> tuple[list[Profile], dict[str, Profile], dict[tuple[str, str], tuple[Profile, Profile]]]:
    """The characters to simulate, each one's partner, and the (owner, other) pairs whose
    queries are needed: for A with partner B, A's own questions (A vs B) and the questions
    B can answer but A cannot (B vs A), which are contrastive for A."""
    characters = select_characters(pool, config)
    partners = pick_partners(simulated_pool(pool, config), config.seed, config.contrast)
    characters = [c for c in characters if profile_key(c) in partners]
    pairs: dict[tuple[str, str], tuple[Profile, Profile]] = {}
    for character in characters:
        partner = partners[profile_key(character)]
        pairs[(profile_key(character), profile_key(partner))] = (character, partner)
        pairs[(profile_key(partner), profile_key(character))] = (partner, character)
    return characters, partners, pairs


def simulate(
    pool: list[Profile],
    teacher: ChatModel,
    store: RunStore,
    out_dir: str | Path,
    config: SimulateConfig,
    *,
    progress: bool = True,
) -> SimulateResult:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    characters, partners, pairs = plan_pairs(pool, config)
    left_out = left_out_characters(pool, config)
    profile_text = ProfileText.from_config(config, token_counter(teacher))
    started = time.perf_counter()
    query_sets, query_usage, structured = simulate_queries(
        teacher, store, list(pairs.values()),
        k=config.queries_per_pair, params=config.query_params, max_attempts=config.max_attempts,
        prompts_dir=config.prompts_dir, profile_text=profile_text, progress=progress,
    )
    by_pair: dict[tuple[str, str], QuerySet] = {s.key: s for s in query_sets}
    query_seconds = time.perf_counter() - started

    started = time.perf_counter()
    plans = []
    for character in characters:
        partner = partners[profile_key(character)]
        own = by_pair[(profile_key(character), profile_key(partner))].questions
        contrastive = by_pair[(profile_key(partner), profile_key(character))].questions
        plan = plan_session(character, partner, own, contrastive, turns=config.turns,
                            contrastive_share=config.contrastive_share, seed=config.seed)
        if not plan.queries:
            plan.failure = NO_QUERIES
        plans.append(plan)
    response_usage = simulate_responses(teacher, store, [p for p in plans if p.queries], config.response_params,
                                        prompts_dir=config.prompts_dir, profile_text=profile_text, progress=progress)
    response_seconds = time.perf_counter() - started

    versions = {lang: {
        "query": template_version("query_simulation", lang, config.prompts_dir),
        "response": template_version("response_simulation", lang, config.prompts_dir),
        "system": template_version("role_system", lang, config.prompts_dir),
    } for lang in config.langs}
    sessions = [to_session(p, versions[p.profile.lang], teacher.cache_id) for p in plans if p.turns]
    profiles = {profile_key(p): p for p in characters}
    samples = [sft_sample(s, profiles[s.id], config.prompts_dir) for s in sessions]

    write_jsonl_atomic(out_dir / "queries.jsonl", (query_record(s) for s in query_sets))
    write_jsonl_atomic(out_dir / "sessions.jsonl", (s.model_dump(mode="json") for s in sessions))
    write_jsonl_atomic(out_dir / "failures.jsonl", failure_records(query_sets, plans, left_out))
    files = write_exports(samples, out_dir, push_to_hub=config.push_to_hub)
    stages = {"queries": (query_seconds, query_usage), "responses": (response_seconds, response_usage)}
    stats = simulation_stats(characters, query_sets, plans, sessions, stages, teacher, config, left_out)
    stats["structured_outputs"] = structured_record(store, structured)
    write_text_atomic(out_dir / "stats.json", json.dumps(stats, indent=2, ensure_ascii=False))
    files["stats"] = str(out_dir / "stats.json")
    return SimulateResult(sessions=sessions, samples=samples, stats=stats, files=files)


def query_record(query_set: QuerySet) -> dict:
    return {
        "owner_id": query_set.owner.id, "other_id": query_set.other.id, "lang": query_set.owner.lang,
        "questions": query_set.questions, "attempts": query_set.attempts, "method": query_set.method,
        "raw": query_set.raw,
    }


def failure_records(query_sets: list[QuerySet], plans: list[SessionPlan], left_out: list[Profile]) -> list[dict]:
    """One record per thing that did not become data, and why: a profile left out, a pair
    without valid questions, a session that ended early (its `cause` without the turn)."""
    failures = [
        {"stage": "profiles", "character_id": p.id, "lang": p.lang, "reason": NO_CHINESE_INTRO}
        for p in left_out
    ]
    failures += [
        {"stage": "queries", "owner_id": s.owner.id, "other_id": s.other.id, "lang": s.owner.lang,
         "reason": f"no valid questions after {s.attempts} attempts", "raw": s.raw}
        for s in query_sets if not s.questions
    ]
    failures += [
        {"stage": "responses", "character_id": p.profile.id, "lang": p.profile.lang, "reason": p.failure,
         "cause": p.cause, "turns_kept": len(p.turns)}
        for p in plans if p.failure
    ]
    return failures


def simulation_stats(
    characters: list[Profile],
    query_sets: list[QuerySet],
    plans: list[SessionPlan],
    sessions: list[Session],
    stages: dict[str, tuple[float, Usage]],
    teacher: ChatModel,
    config: SimulateConfig,
    left_out: Sequence[Profile] = (),
) -> dict:
    turns = [t for s in sessions for t in s.turns]
    causes: dict[str, int] = {}
    for plan in plans:
        if plan.cause:
            causes[plan.cause] = causes.get(plan.cause, 0) + 1
    attempts = sum(s.attempts for s in query_sets)
    failed_attempts = sum(s.attempts - (1 if s.questions else 0) for s in query_sets)
    return {
        "teacher": teacher.cache_id,
        "characters": len(characters),
        "sessions": len(sessions),
        "turns": len(turns),
        "contrastive_share": round(sum(t.kind == "contrastive" for t in turns) / len(turns), 4) if turns else 0.0,
        "query_sets": len(query_sets),
        "query_sets_failed": sum(1 for s in query_sets if not s.questions),
        "query_attempts": attempts,
        "parse_failure_rate": round(failed_attempts / attempts, 4) if attempts else 0.0,
        "sessions_failed": sum(1 for p in plans if not p.turns),
        "sessions_cut_short": sum(1 for p in plans if p.failure and p.turns),
        # each cut reply ends its session, so this is also the sessions that a cut ended
        "replies_cut_at_max_tokens": causes.get(CUT_AT_MAX_TOKENS, 0),
        "session_failures": dict(sorted(causes.items())),
        "profiles_without_chinese_intro": len(left_out),
        "endpoints": retry_report(teacher),
        "stages": {
            name: {"seconds": round(seconds, 2), "prompt_tokens": usage.prompt_tokens,
                   "completion_tokens": usage.completion_tokens}
            for name, (seconds, usage) in stages.items()
        },
        "config": {k: v for k, v in asdict(config).items() if k not in ("character_ids", "shard")}
        | {"query_params": config.query_params.model_dump(), "response_params": config.response_params.model_dump(),
           "shard": str(config.shard) if config.shard else None},
    }
