from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ditto.store.merge_runs import merge_runs
from ditto.study.merge import is_study_folder, merge_studies


def merge_command(
    target: Path = typer.Argument(..., help="Run directory to merge into (created if missing)."),
    sources: list[Path] = typer.Argument(..., help="Run directories (or study folders) of the shards."),
) -> None:
    """Join the run stores of shards (`--shard i/N`) into one run directory, or the shards of
    a study (`ditto study ... --shard i/N`) into one study folder.

    Then run the same stage (or study) without --shard on the merged directory: every result
    comes from it, no request is sent, and the outputs are those of one unsharded run.
    """
    console = Console(stderr=True)
    if any(is_study_folder(source) for source in sources):
        merged = merge_studies(target, list(sources))
        console.print(f"{target}: {len(merged.copied)} finished steps copied, {merged.present} already there, "
                      f"{len(merged.stores_merged)} unfinished steps' stores merged", markup=False, highlight=False)
        return
    report = merge_runs(target, list(sources))
    for source, added in report.added.items():
        console.print(f"{source}: {added} results added")
    console.print(f"{target}: {report.total} results in all")
    if report.differing:
        console.print(
            f"[yellow]warning[/]: {report.differing} requests had a different result in another store "
            "(sampling differed between machines); the first one merged was kept"
        )
