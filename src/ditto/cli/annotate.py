"""`ditto annotate`: people label a sample of a run (a local page), and the labels go in and out."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ditto.annotate.label_studio import export_tasks, read_export
from ditto.annotate.labels import annotators, export_labels, import_labels, labels_for, progress
from ditto.annotate.sample import DEFAULT_SAMPLE, DEFAULT_SEED, TASKS, Task, all_units, annotation_sample
from ditto.annotate.server import DEFAULT_HOST, DEFAULT_PORT, serve
from ditto.errors import DittoError
from ditto.evaluate.human_labels import jsonl_records
from ditto.store import RunStore

annotate_app = typer.Typer(
    help="Label a sample of a run by hand, to check the judge (`ditto eval agreement`) or the simulated queries.",
    no_args_is_help=True,
)

RUN_DIR = typer.Argument(..., metavar="RUN_DIR", show_default=False,
                         help="An eval run directory (judged.jsonl) or, with --task queries, a simulate one.")
TASK = typer.Option("turns", "--task", help="turns: judged turns (consistency, knowledge, rejection); queries: "
                    "simulated queries, valid or not for the role (the paper's query-quality study).")
SAMPLE = typer.Option(DEFAULT_SAMPLE, "--sample", min=1, help="Units to label; every annotator gets the same ones.")
SEED = typer.Option(DEFAULT_SEED, "--seed", help="Seed of the sample.")


def _task(task: str) -> Task:
    if task not in TASKS:
        raise DittoError(f"--task {task}: choose one of {', '.join(TASKS)}")
    return task  # type: ignore[return-value]


@annotate_app.command("serve")
def serve_command(
    run_dir: Path = RUN_DIR,
    task: str = TASK,
    port: int = typer.Option(DEFAULT_PORT, "--port", min=1, max=65535, help="Port of the page."),
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Address to listen on; off loopback it needs --token."),
    token: str = typer.Option(None, "--token", help="Secret every request must carry (the printed URL has it)."),
    sample: int = SAMPLE,
    seed: int = SEED,
    annotator: str = typer.Option(None, "--annotator", help="Label as this person without asking for a name."),
) -> None:
    """Serve the labelling page on this machine until Ctrl-C; every label is saved in RUN_DIR's store at once."""
    serve(run_dir, _task(task), host=host, port=port, sample=sample, seed=seed, annotator=annotator, token=token)


@annotate_app.command("export")
def export_command(
    run_dir: Path = RUN_DIR,
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    format_: str = typer.Option("jsonl", "--format", help="jsonl: the labels, one a line (what `ditto eval "
                                "agreement` reads); label-studio: the sample as Label Studio tasks, and the "
                                "labelling interface beside them (<out>.config.xml)."),
    task: str = TASK,
    sample: int = SAMPLE,
    seed: int = SEED,
) -> None:
    """Write the stored labels, or the sample as Label Studio tasks."""
    chosen = _task(task)
    console = Console(stderr=True)
    if format_ == "label-studio":
        tasks, config = export_tasks(annotation_sample(run_dir, chosen, sample, seed), chosen, out)
        console.print(f"wrote {tasks} and its labelling interface {config}")
        return
    if format_ != "jsonl":
        raise DittoError(f"--format {format_}: choose jsonl or label-studio")
    with RunStore(run_dir) as store:
        count = export_labels(store, out, chosen)
    console.print(f"wrote {count} labels to {out}")


@annotate_app.command("import")
def import_command(
    run_dir: Path = RUN_DIR,
    files: list[Path] = typer.Argument(..., metavar="FILE...", show_default=False,
                                       help="Labels: JSON lines, or a Label Studio JSON export."),
    format_: str = typer.Option("jsonl", "--format", help="jsonl or label-studio (Label Studio's JSON export)."),
    task: str = TASK,
) -> None:
    """Add labels given elsewhere to RUN_DIR's store, each checked first (nothing is kept if one is wrong)."""
    if format_ not in ("jsonl", "label-studio"):
        raise DittoError(f"--format {format_}: choose jsonl or label-studio")
    units = all_units(run_dir, _task(task))
    records = jsonl_records(files) if format_ == "jsonl" else (r for path in files for r in read_export(path))
    with RunStore(run_dir) as store:
        count = import_labels(store, records, units, ", ".join(str(f) for f in files))
    Console(stderr=True).print(f"stored {count} labels in {run_dir}")


@annotate_app.command("status")
def status_command(run_dir: Path = RUN_DIR, task: str = TASK, sample: int = SAMPLE, seed: int = SEED) -> None:
    """Each annotator's progress on the sample; for queries, the share they found valid per kind."""
    chosen = _task(task)
    units = annotation_sample(run_dir, chosen, sample, seed)
    table = Table(title=f"{run_dir}: {len(units)} {chosen} (seed {seed})")
    table.add_column("annotator")
    table.add_column("done", justify="right")
    kinds = sorted({unit.kind for unit in units}) if chosen == "queries" else []
    for kind in kinds:
        table.add_column(f"valid, {kind}", justify="right")
    with RunStore(run_dir) as store:
        for name in annotators(store, chosen):
            labelled = labels_for(store, chosen, name)
            shares = []
            for kind in kinds:
                votes = [labelled[u.key]["query_valid"] for u in units if u.kind == kind and u.key in labelled]
                shares.append(f"{sum(votes) / len(votes):.2f} of {len(votes)}" if votes else "-")
            table.add_row(name, f"{progress(units, labelled)} / {len(units)}", *shares)
    Console().print(table)
