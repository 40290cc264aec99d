"""Every setting of the simulation stage, with its default and help text: the one place
`ditto simulate`, `ditto eval build`, `ditto run` and library callers take them from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from ditto.settings import DEFAULT_SEED, check_settings, setting
from ditto.shard import Shard
from ditto.simulate.pairing import Contrast
from ditto.types import SamplingParams


@dataclass(frozen=True)
class SimulateConfig:
    limit: int | None = setting(
        None, "Characters per language to simulate, drawn with the seed [default: all].", min=1
    )
    langs: tuple[str, ...] = setting(("en", "zh"), "Languages to simulate, comma-separated.", flag="--lang")
    turns: int = setting(5, "Turns per session (the paper: about 5).", min=1, max=50)
    queries_per_pair: int = setting(
        3, "Questions written per character pair (k).", flag="--queries", min=1, max=20
    )
    contrastive_share: float = setting(0.4, "Share of contrastive turns in a session.", min=0.0, max=1.0)
    contrast: Contrast = setting(
        "random", "Partner choice: 'random' (the paper) or 'hard' (another category or era).",
        choices=get_args(Contrast),
    )
    seed: int = setting(DEFAULT_SEED, "Seed of selection, pairing and sampling.")
    max_attempts: int = setting(
        3, "Answers asked per query list until one parses (the paper samples three).", min=1
    )
    max_tokens: int = setting(256, "Most new tokens per query list and per reply.", min=1)
    query_temperature: float = setting(0.8, "Sampling temperature of the query lists.", min=0.0, max=2.0)
    temperature: float = setting(0.7, "Sampling temperature of the replies.", min=0.0, max=2.0)
    top_p: float = setting(0.95, "Nucleus sampling mass of queries and replies.", above=0.0, max=1.0)
    prompts_dir: str | None = setting(
        None, "Folder of prompt templates overriding the built-in ones.", flag="--prompts"
    )
    push_to_hub: str | None = setting(None, "Also push the dataset to this Hugging Face repo.")
    character_ids: frozenset[str] | None = None
    """Simulate only these characters; the rest of the pool still serves as partners."""
    shard: Shard | None = None
    """Simulate only the characters of this shard (`--shard i/N`)."""

    def __post_init__(self) -> None:
        check_settings(self)

    @property
    def query_params(self) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.max_tokens, temperature=self.query_temperature, top_p=self.top_p, seed=self.seed
        )

    @property
    def response_params(self) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p, seed=self.seed
        )

