from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ditto.store.merge_runs import merge_runs


def merge_command(
    target: Path = typer.Argument(..., help="Run directory to merge into (created if missing)."),
    sources: list[Path] = typer.Argument(..., help="Run directories of the shards."),
) -> None:
    """Join the run stores of shards (`--shard i/N`) into one run directory.

    Then run the same stage without --shard on the merged directory: every result comes
    from the store, no request is sent, and the outputs are those of one unsharded run.
    """
    report = merge_runs(target, list(sources))
    console = Console(stderr=True)
    for source, added in report.added.items():
        console.print(f"{source}: {added} results added")
    console.print(f"{target}: {report.total} results in all")
    if report.differing:
        console.print(
            f"[yellow]warning[/]: {report.differing} requests had a different result in another store "
            "(sampling differed between machines); the first one merged was kept"
        )
