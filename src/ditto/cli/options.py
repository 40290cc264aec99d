"""Options shared by every command that calls a model, documented once here."""

from __future__ import annotations

from pathlib import Path

import typer

from ditto.types import SamplingParams

MODEL = typer.Option(
    "builtin",
    "--model",
    "-m",
    help="'builtin' (embedded SmolLM2-135M-Instruct), a Hugging Face id, a local model "
    "directory or .gguf file; with --base-url, the model name the server serves.",
)
BASE_URL = typer.Option(
    None,
    "--base-url",
    help="OpenAI-compatible server(s), e.g. http://127.0.0.1:8000/v1; several, comma-separated, "
    "are used round-robin. The API key comes from DITTO_API_KEY or OPENAI_API_KEY.",
)
RUN_DIR = typer.Option(
    None, "--run", help="Run directory holding the request store (results are reused from it)."
)
MAX_TOKENS = typer.Option(256, "--max-tokens", min=1, help="Most new tokens per reply.")
TEMPERATURE = typer.Option(0.7, "--temperature", min=0.0, max=2.0, help="Sampling temperature; 0 is greedy.")
TOP_P = typer.Option(1.0, "--top-p", min=0.0, max=1.0, help="Nucleus sampling mass.")
N_SAMPLES = typer.Option(1, "--n", min=1, help="Samples per conversation.")
SEED = typer.Option(None, "--seed", help="Sampling seed (sample i uses seed + i).")
CONCURRENCY = typer.Option(64, "--concurrency", min=1, help="Most HTTP requests in flight.")
MAX_RETRIES = typer.Option(8, "--max-retries", min=0, help="Retries of a failed HTTP request (429, 5xx, timeouts, resets).")
TIMEOUT = typer.Option(600.0, "--timeout", min=1.0, help="Seconds per HTTP request before a retry.")
BATCH_SIZE = typer.Option(None, "--batch-size", min=1, help="Local generation batch (default 8 on CPU, 256 on GPU; lower it if the GPU runs out of memory).")
NO_PROGRESS = typer.Option(False, "--no-progress", help="Hide the progress bar.")
SHARD = typer.Option(
    None, "--shard", help="Do only this machine's share, i/N (1 <= i <= N), in its own --run directory; "
    "join the shards with `ditto merge` and re-run without --shard to write the outputs.",
)
DRY_RUN = typer.Option(
    False, "--dry-run", help="Print the requests and estimated tokens per stage; send and write nothing."
)


def default_run_dir(output: Path) -> Path:
    """Next to nothing else: `runs/<output name>` in the working directory."""
    return Path("runs") / output.stem


def sampling_params(
    max_tokens: int, temperature: float, top_p: float, n: int, seed: int | None
) -> SamplingParams:
    if top_p <= 0:
        raise typer.BadParameter("must be above 0", param_hint="'--top-p'")
    return SamplingParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, n=n, seed=seed)
