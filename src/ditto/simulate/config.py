"""Every setting of the simulation stage, with its default and help text: the one place
`ditto simulate`, `ditto eval build`, `ditto run` and library callers take them from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from ditto.characters.wikipedia import ARTICLE_CHARS
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
    max_tokens: int = setting(
        2048, "Most new tokens per query list and per reply (the paper: 2048); a reply cut at this "
        "limit ends its session before that turn.", min=1,
    )
    query_temperature: float = setting(0.8, "Sampling temperature of the query lists.", min=0.0, max=2.0)
    temperature: float = setting(0.7, "Sampling temperature of the replies.", min=0.0, max=2.0)
    top_p: float = setting(
        0.95, "Nucleus sampling mass of queries and replies (the paper: 0.8).", above=0.0, max=1.0
    )
    repetition_penalty: float | None = setting(
        None, "Repetition penalty of queries and replies, >1 discourages repeats (the paper: 1.1); sent "
        "as repetition_penalty (vLLM, SGLang) and repeat_penalty (llama.cpp) [default: not sent, the "
        "server's or model's own].", above=0.0,
    )
    summary_tokens: int = setting(
        1000, "Most tokens of each profile's Wikipedia introduction shown to the teacher, cut at a "
        "sentence end; counted with the teacher's tokenizer when it runs locally, else as about 4 "
        "characters or 1 CJK character per token. 0: no introduction.", min=0,
    )
    with_claims: bool = setting(
        True, "Show the teacher each profile's Wikidata facts (its verbalised claims); --no-claims leaves "
        "the name, description and Wikipedia text only (the profile ablation of `ditto study`).",
        flag="--with-claims/--no-claims",
    )
    with_article: bool = setting(
        False, "Also show the teacher the body of each profile's Wikipedia article, as `ditto characters "
        f"fetch` stored it (up to {ARTICLE_CHARS:,} characters).",
    )
    article_tokens: int = setting(2000, "Most tokens of the article body with --with-article.", min=1)
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
            max_tokens=self.max_tokens, temperature=self.query_temperature, top_p=self.top_p, seed=self.seed,
            repetition_penalty=self.repetition_penalty,
        )

    @property
    def response_params(self) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p, seed=self.seed,
            repetition_penalty=self.repetition_penalty,
        )

