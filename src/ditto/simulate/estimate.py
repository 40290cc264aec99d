"""The cost of a simulation before it runs: the same selection, pairing and prompts as
`simulate`, without a model. Queries not yet written count as `QUERY_TOKENS` long."""

from __future__ import annotations

from ditto.characters.profile import Profile
from ditto.cost import StageEstimate, estimate_prompt, estimate_tokens
from ditto.simulate.config import SimulateConfig
from ditto.simulate.profile_text import ProfileText
from ditto.simulate.queries import query_prompt
from ditto.simulate.run import plan_pairs
from ditto.simulate.sessions import response_system_prompt

QUERY_TOKENS = 32


def estimate_simulation(pool: list[Profile], config: SimulateConfig, prefix: str = "") -> list[StageEstimate]:
    characters, _, pairs = plan_pairs(pool, config)
    profile_text = ProfileText.from_config(config)  # no model here: the estimated token count
    query_prompts = [
        query_prompt(a, b, config.queries_per_pair, config.prompts_dir, profile_text) for a, b in pairs.values()
    ]
    query_tokens = sum(estimate_prompt(p) for p in query_prompts)
    queries = StageEstimate(
        f"{prefix}queries", len(pairs), len(pairs) * config.max_attempts,
        query_tokens * config.max_attempts, len(pairs) * config.max_attempts * config.query_params.max_tokens,
        note=f"{len(pairs)} character pairs, up to {config.max_attempts} attempts",
    )
    answer = config.response_params.max_tokens
    responses = StageEstimate(f"{prefix}responses", 0, 0, 0, 0,
                              note=f"{len(characters)} sessions of up to {config.turns} turns")
    for character in characters:
        system = estimate_tokens(response_system_prompt(character, config.prompts_dir, profile_text))
        for turn in range(config.turns):
            prompt = system + turn * (QUERY_TOKENS + answer) + QUERY_TOKENS
            responses.add(1, 1, prompt, answer)
    return [queries, responses]
