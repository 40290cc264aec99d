"""Every setting of evaluation, with its default and help text: the one place `ditto eval
run`, `ditto eval judge`, `ditto run` and library callers take them from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from ditto.settings import DEFAULT_SEED, check_settings, setting
from ditto.types import SamplingParams

# The paper's length for the answers of the model under test and of its judge (the official
# scoring script's `max_tokens`). The builtin CPU model of `ditto run` uses its own, smaller
# limits: pipeline.EMBEDDED_MODEL_DEFAULTS.
PAPER_MAX_TOKENS = 2048

Parsing = Literal["tolerant", "official"]


@dataclass(frozen=True)
class JudgeConfig:
    n: int = setting(3, "Judge samples per question (the paper: 3).", flag="--judge-n", min=1)
    temperature: float = setting(
        0.2, "Judge sampling temperature (the paper: 0.2).", flag="--judge-temperature", min=0.0, max=2.0
    )
    max_tokens: int = setting(
        PAPER_MAX_TOKENS, "Most new tokens per judge answer (the paper: 2048).", flag="--judge-max-tokens", min=1
    )
    max_reasks: int = setting(
        2, "Times an unparsed judge answer is asked again (each a new sample); 'official' parsing asks none.",
        flag="--judge-max-reasks", min=0,
    )
    parsing: Parsing = setting(
        "tolerant",
        "How judge answers are read: 'tolerant' (other brackets, bold, 'Score: 7/10', ...; unparsed or cut "
        "answers asked again) or 'official' (the released script's exact rules, no re-asks; docs/fidelity.md).",
        choices=get_args(Parsing),
    )
    seed: int = DEFAULT_SEED
    """Seed of the judge's samples (the CLI's --seed sets it with the answers' seed)."""
    prompts_dir: str | None = setting(
        None, "Folder of prompt templates overriding the built-in ones.", flag="--prompts"
    )

    def __post_init__(self) -> None:
        check_settings(self)

    @property
    def attempts(self) -> int:
        """Answers asked per judge sample: the official script never asks again."""
        return 1 if self.parsing == "official" else 1 + self.max_reasks

    def params(self, n: int | None = None, temperature: float | None = None) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature if temperature is None else temperature,
            n=self.n if n is None else n,
            seed=self.seed,
        )


@dataclass(frozen=True)
class EvalConfig:
    max_tokens: int = setting(
        PAPER_MAX_TOKENS, "Most new tokens per answer of the model under test (the paper: 2048).", min=1
    )
    temperature: float = setting(0.7, "Sampling temperature of the answers.", min=0.0, max=2.0)
    top_p: float = setting(0.95, "Nucleus sampling mass of the answers.", above=0.0, max=1.0)
    repetition_penalty: float | None = setting(
        None, "Repetition penalty of the answers (the paper: 1.1), sent only when given [default: the server's or "
        "the model's own].", above=0.0,
    )
    seed: int = setting(DEFAULT_SEED, "Seed of the answers' sampling.")
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    mtbench_questions: tuple[dict, ...] | None = None
    """MT-Bench role-play questions to answer and grade too (`read_questions`)."""
    label: str | None = setting(None, "How reports name this model [default: the model's name].")

    def __post_init__(self) -> None:
        check_settings(self)

    @property
    def answer_params(self) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p,
            repetition_penalty=self.repetition_penalty, seed=self.seed,
        )
