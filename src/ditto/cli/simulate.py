from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ditto.characters import read_profiles
from ditto.cli import options
from ditto.cli.options import setting_option
from ditto.cost import print_estimates
from ditto.models import load_model
from ditto.shard import Shard
from ditto.simulate.config import SimulateConfig
from ditto.simulate.estimate import estimate_simulation
from ditto.simulate.run import simulate
from ditto.store import RunStore


def simulate_command(
    model: str = options.MODEL,
    base_url: str = options.BASE_URL,
    teacher: str = typer.Option(
        None, "--teacher", help="Model that writes the data (cross-supervision); default: --model itself."
    ),
    teacher_base_url: str = typer.Option(None, "--teacher-base-url", help="Server of --teacher, if it is served."),
    characters: str = options.CHARACTERS,
    limit: int = setting_option(SimulateConfig, "limit"),
    lang: str = setting_option(SimulateConfig, "langs"),
    turns: int = setting_option(SimulateConfig, "turns"),
    queries: int = setting_option(SimulateConfig, "queries_per_pair"),
    contrastive_share: float = setting_option(SimulateConfig, "contrastive_share"),
    contrast: str = setting_option(SimulateConfig, "contrast"),
    seed: int = setting_option(SimulateConfig, "seed"),
    max_attempts: int = setting_option(SimulateConfig, "max_attempts"),
    max_tokens: int = setting_option(SimulateConfig, "max_tokens"),
    query_temperature: float = setting_option(SimulateConfig, "query_temperature"),
    temperature: float = setting_option(SimulateConfig, "temperature"),
    top_p: float = setting_option(SimulateConfig, "top_p"),
    repetition_penalty: float = setting_option(SimulateConfig, "repetition_penalty"),
    summary_tokens: int = setting_option(SimulateConfig, "summary_tokens"),
    with_claims: bool = setting_option(SimulateConfig, "with_claims"),
    with_article: bool = setting_option(SimulateConfig, "with_article"),
    article_tokens: int = setting_option(SimulateConfig, "article_tokens"),
    prompts: Path = setting_option(SimulateConfig, "prompts_dir"),
    run: Path = typer.Option(Path("runs/simulate"), "--run", help="Run directory: store and all outputs."),
    push_to_hub: str = setting_option(SimulateConfig, "push_to_hub"),
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    structured: str = options.STRUCTURED,
    no_progress: bool = options.NO_PROGRESS,
    shard: str = options.SHARD,
    dry_run: bool = options.DRY_RUN,
) -> None:
    """Simulate role-play dialogues with the seed model (Ditto's self-alignment data)."""
    pool = read_profiles(characters)
    config = SimulateConfig(
        limit=limit, langs=options.split_list(lang), turns=turns, queries_per_pair=queries,
        contrastive_share=contrastive_share, contrast=contrast, seed=seed, max_attempts=max_attempts,
        max_tokens=max_tokens, query_temperature=query_temperature, temperature=temperature, top_p=top_p,
        repetition_penalty=repetition_penalty, summary_tokens=summary_tokens, with_claims=with_claims,
        with_article=with_article, article_tokens=article_tokens, prompts_dir=str(prompts) if prompts else None,
        push_to_hub=push_to_hub,
        shard=Shard.parse(shard),
    )
    if dry_run:
        print_estimates(estimate_simulation(pool, config))
        return
    writer = teacher or model
    writer_url = teacher_base_url if teacher else base_url
    with RunStore(run) as store:
        backend = options.backend_config(concurrency, timeout, max_retries, batch_size, structured)
        teacher_model = load_model(writer, writer_url, backend)
        try:
            result = simulate(pool, teacher_model, store, run, config, progress=not no_progress)
        finally:
            teacher_model.close()
    Console(stderr=True).print(summary_line(result.stats, result.files["sft"]), markup=False, highlight=False)


def summary_line(stats: dict, sft: str) -> str:
    """What the run made, and what it left out and why (the rest is in stats.json)."""
    line = (
        f"{stats['sessions']} sessions, {stats['turns']} turns ({stats['contrastive_share']:.0%} contrastive), "
        f"query parse failure rate {stats['parse_failure_rate']:.0%}"
    )
    if stats["replies_cut_at_max_tokens"]:
        line += f"; {stats['replies_cut_at_max_tokens']} sessions ended by a reply cut at --max-tokens"
    if stats["profiles_without_chinese_intro"]:
        line += (f"; {stats['profiles_without_chinese_intro']} Chinese profiles without a Chinese "
                 "introduction left out")
    return f"{line}; SFT data: {sft}"
