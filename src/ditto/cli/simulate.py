from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ditto.characters import read_profiles
from ditto.cli import options
from ditto.cost import print_estimates
from ditto.models import load_model
from ditto.shard import Shard
from ditto.simulate.plan import estimate_simulation
from ditto.simulate.run import SimulateConfig, simulate
from ditto.store import RunStore


def simulate_command(
    model: str = options.MODEL,
    base_url: str = options.BASE_URL,
    teacher: str = typer.Option(
        None, "--teacher", help="Model that writes the data (cross-supervision); default: --model itself."
    ),
    teacher_base_url: str = typer.Option(None, "--teacher-base-url", help="Server of --teacher, if it is served."),
    characters: str = typer.Option("builtin", "--characters", "-c", help="Profiles (JSON lines) or 'builtin'."),
    limit: int = typer.Option(None, "--limit", min=1, help="Characters per language (default: all)."),
    lang: str = typer.Option("en,zh", "--lang", help="Languages to simulate, comma-separated."),
    turns: int = typer.Option(5, "--turns", min=1, max=50, help="Turns per session."),
    queries: int = typer.Option(3, "--queries", min=1, max=20, help="Questions written per character pair (k)."),
    contrastive_share: float = typer.Option(0.4, "--contrastive-share", min=0.0, max=1.0, help="Share of contrastive turns."),
    contrast: str = typer.Option("random", "--contrast", help="Partner choice: 'random' (the paper) or 'hard' (another category or era)."),
    seed: int = typer.Option(0, "--seed", help="Seed of pairing, selection and sampling."),
    max_tokens: int = typer.Option(256, "--max-tokens", min=1, help="Most new tokens per query list and per reply."),
    temperature: float = typer.Option(0.7, "--temperature", min=0.0, max=2.0, help="Sampling temperature of replies."),
    prompts: Path = typer.Option(None, "--prompts", help="Folder of prompt templates overriding the built-in ones."),
    run: Path = typer.Option(Path("runs/simulate"), "--run", help="Run directory: store and all outputs."),
    push_to_hub: str = typer.Option(None, "--push-to-hub", help="Also push the dataset to this Hugging Face repo."),
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    no_progress: bool = options.NO_PROGRESS,
    shard: str = options.SHARD,
    dry_run: bool = options.DRY_RUN,
) -> None:
    """Simulate role-play dialogues with the seed model (Ditto's self-alignment data)."""
    if contrast not in ("random", "hard"):
        raise typer.BadParameter("must be 'random' or 'hard'", param_hint="'--contrast'")
    langs = tuple(part.strip() for part in lang.split(",") if part.strip())
    pool = read_profiles(characters)
    config = SimulateConfig(
        limit=limit, langs=langs, turns=turns, queries_per_pair=queries, contrastive_share=contrastive_share,
        contrast=contrast, seed=seed, prompts_dir=str(prompts) if prompts else None, push_to_hub=push_to_hub,
        query_params=options.sampling_params(max_tokens, 0.8, 0.95, 1, seed),
        response_params=options.sampling_params(max_tokens, temperature, 0.95, 1, seed),
        shard=Shard.parse(shard),
    )
    if dry_run:
        print_estimates(estimate_simulation(pool, config))
        return
    writer = teacher or model
    writer_url = teacher_base_url if teacher else base_url
    with RunStore(run) as store:
        teacher_model = load_model(writer, writer_url, concurrency=concurrency, timeout=timeout,
                                   max_retries=max_retries, batch_size=batch_size)
        result = simulate(pool, teacher_model, store, run, config, progress=not no_progress)
    stats = result.stats
    Console(stderr=True).print(
        f"{stats['sessions']} sessions, {stats['turns']} turns ({stats['contrastive_share']:.0%} contrastive), "
        f"query parse failure rate {stats['parse_failure_rate']:.0%}; SFT data: {result.files['sft']}"
    )
