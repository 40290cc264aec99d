from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ditto.chat_files import read_chats, write_jsonl_atomic
from ditto.cli import options
from ditto.cost import StageEstimate, estimate_prompt, print_estimates
from ditto.errors import DittoError
from ditto.generate import generate_records
from ditto.models import load_model
from ditto.shard import Shard
from ditto.store import RunStore


def generate_command(
    input: Path = typer.Option(..., "--input", "-i", help="JSON lines, each with 'messages'."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the replies (JSON lines)."),
    model: str = options.MODEL,
    base_url: str = options.BASE_URL,
    run: Path = options.RUN_DIR,
    max_tokens: int = options.MAX_TOKENS,
    temperature: float = options.TEMPERATURE,
    top_p: float = options.TOP_P,
    repetition_penalty: float = options.REPETITION_PENALTY,
    n: int = options.N_SAMPLES,
    seed: int = options.SEED,
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    no_progress: bool = options.NO_PROGRESS,
    shard: str = options.SHARD,
    dry_run: bool = options.DRY_RUN,
) -> None:
    """Complete every chat of a JSON-lines file; re-runs reuse stored results."""
    params = options.sampling_params(max_tokens, temperature, top_p, n, seed, repetition_penalty)
    chats = read_chats(input)  # all of it validated before a model is loaded
    if (selected := Shard.parse(shard)) is not None:
        chats = [chat for position, chat in enumerate(chats) if selected.owns(str(position))]
    if dry_run:
        prompt = sum(estimate_prompt(messages) for _, messages in chats) * n
        requests = len(chats) * n
        print_estimates([StageEstimate("generate", requests, requests, prompt, requests * max_tokens)])
        return
    if not output.parent.is_dir():
        raise DittoError(f"--output {output}: folder {output.parent} does not exist")
    with RunStore(run or options.default_run_dir(output)) as store:
        chat_model = load_model(model, base_url, options.backend_config(concurrency, timeout, max_retries, batch_size))
        records = generate_records(chat_model, store, chats, params, progress=not no_progress)
    write_jsonl_atomic(output, records)
    Console(stderr=True).print(f"wrote {len(records)} records to {output}")
