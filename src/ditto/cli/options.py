"""Options shared by every command that calls a model, and `setting_option`, which makes a
command-line option from a stage setting so that its default and help are written once,
in the stage's config dataclass (`ditto.settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ditto.characters.io import BUILTIN_POOL
from ditto.evaluate.config import JudgeConfig
from ditto.models.builtin import BUILTIN_NAME
from ditto.models.config import BackendConfig
from ditto.settings import default_of, flag_of, setting_field
from ditto.types import SamplingParams

_FROM_FIELD = object()


def setting_option(cls: type, name: str, *extra_flags: str, help: str | None = None, default: Any = _FROM_FIELD) -> Any:
    """A Typer option for setting `name` of the dataclass `cls`: its flag, default, help and
    limits come from the field. Tuples of texts are given comma-separated on the command line.
    `default` is only for a field the library requires (no default) but the CLI may omit."""
    meta = setting_field(cls, name).metadata
    default = default_of(cls, name) if default is _FROM_FIELD else default
    if isinstance(default, tuple):
        default = ",".join(default)
    limits = {key: meta[key] for key in ("min", "max") if meta.get(key) is not None}
    flags = [flag_of(cls, name), *([meta["short"]] if meta.get("short") else []), *extra_flags]
    return typer.Option(default, *flags, help=help or meta.get("help", ""), **limits)


def split_list(value: str) -> tuple[str, ...]:
    """'en, zh' -> ('en', 'zh')."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


def backend_config(
    concurrency: int, timeout: float, max_retries: int, batch_size: int | None, structured: str = "auto"
) -> BackendConfig:
    return BackendConfig(
        concurrency=concurrency, timeout=timeout, max_retries=max_retries, batch_size=batch_size,
        structured=structured,
    )

MODEL = typer.Option(
    BUILTIN_NAME,
    "--model",
    "-m",
    help="'builtin' (embedded SmolLM2-135M-Instruct), a Hugging Face id, a local model "
    "directory or .gguf file; with --base-url, the model name the server serves.",
)
BASE_URL = typer.Option(
    None,
    "--base-url",
    help="OpenAI-compatible server(s), e.g. http://127.0.0.1:8000/v1; several, comma-separated, "
    "share the requests: each goes to the one with the fewest in flight. The API key comes from DITTO_API_KEY "
    "or OPENAI_API_KEY.",
)
CHARACTERS = typer.Option(
    BUILTIN_POOL, "--characters", "-c", help="Character profiles (JSON lines) or 'builtin' (the shipped pool)."
)
RUN_DIR = typer.Option(
    None, "--run", help="Run directory holding the request store (results are reused from it)."
)
# `ditto generate` and `ditto chat` sample with SamplingParams' own defaults.
_SAMPLING = SamplingParams()
MAX_TOKENS = typer.Option(_SAMPLING.max_tokens, "--max-tokens", min=1, help="Most new tokens per reply.")
TEMPERATURE = typer.Option(
    _SAMPLING.temperature, "--temperature", min=0.0, max=2.0, help="Sampling temperature; 0 is greedy."
)
TOP_P = typer.Option(_SAMPLING.top_p, "--top-p", min=0.0, max=1.0, help="Nucleus sampling mass (Ditto's paper: 0.8).")
REPETITION_PENALTY = typer.Option(
    _SAMPLING.repetition_penalty, "--repetition-penalty",
    help="Repetition penalty, >1 discourages repeats (Ditto's paper: 1.1); sent as repetition_penalty (vLLM, "
    "SGLang) and repeat_penalty (llama.cpp) [default: not sent, the server's or model's own].",
)
N_SAMPLES = typer.Option(_SAMPLING.n, "--n", min=1, help="Samples per conversation.")
SEED = typer.Option(None, "--seed", help="Sampling seed (sample i uses seed + i).")
CONCURRENCY = setting_option(BackendConfig, "concurrency")
MAX_RETRIES = setting_option(BackendConfig, "max_retries")
TIMEOUT = setting_option(BackendConfig, "timeout")
BATCH_SIZE = setting_option(BackendConfig, "batch_size")
STRUCTURED = setting_option(BackendConfig, "structured")
NO_PROGRESS = typer.Option(False, "--no-progress", help="Hide the progress bar.")
SHARD = typer.Option(
    None, "--shard", help="Do only this machine's share, i/N (1 <= i <= N), in its own run directory; "
    "join the shards with `ditto merge` and re-run without --shard to write the outputs. 'auto' takes i/N "
    "from a Slurm job array (SLURM_ARRAY_TASK_*) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with "
    "JOB_COMPLETIONS set to .spec.completions); docs/scale.md.",
)
DRY_RUN = typer.Option(
    False, "--dry-run", help="Print the requests and estimated tokens per stage; send and write nothing."
)


def default_run_dir(output: Path) -> Path:
    """Next to nothing else: `runs/<output name>` in the working directory."""
    return Path("runs") / output.stem


def sampling_params(
    max_tokens: int, temperature: float, top_p: float, n: int, seed: int | None,
    repetition_penalty: float | None = None,
) -> SamplingParams:
    if top_p <= 0:
        raise typer.BadParameter("must be above 0", param_hint="'--top-p'")
    if repetition_penalty is not None and repetition_penalty <= 0:
        raise typer.BadParameter("must be above 0", param_hint="'--repetition-penalty'")
    return SamplingParams(
        max_tokens=max_tokens, temperature=temperature, top_p=top_p, n=n, seed=seed,
        repetition_penalty=repetition_penalty,
    )


def judge_config(
    n: int, temperature: float, max_tokens: int, max_reasks: int, parsing: str, seed: int, prompts: Path | None
) -> JudgeConfig:
    """The judge settings of `eval run`, `eval judge` and `eval stability`, from their options."""
    return JudgeConfig(n=n, temperature=temperature, max_tokens=max_tokens, max_reasks=max_reasks,
                       parsing=parsing, seed=seed, prompts_dir=str(prompts) if prompts else None)  # type: ignore[arg-type]
