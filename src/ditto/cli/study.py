"""`ditto study ...`: the paper's analyses and open questions, each one resumable command.

Every study takes `ditto run`'s settings (`cli/run_settings.py`) and the study's own
(`study_options`), added to each command by `study_command`; each command adds only the
models and the factor it varies.
"""

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ditto.annotate.sample import DEFAULT_SAMPLE
from ditto.cli import options
from ditto.cli.run_settings import run_config, run_settings, with_options
from ditto.cost import print_estimates
from ditto.models.builtin import BUILTIN_NAME
from ditto.shard import Shard
from ditto.study import ablation, cross_supervision, pool_size, query_quality
from ditto.study.config import StudyConfig
from ditto.study.models import ModelRef
from ditto.study.run import StudyPlan, estimate_study, run_study, warnings
from ditto.study.runner import StudyContext

study_app = typer.Typer(help="The paper's analyses and open questions as resumable studies (docs/studies.md).",
                        no_args_is_help=True)


def study_options(
    out: Path = typer.Option(Path("runs/study"), "--out", "-o", help="Study folder: every cell's run directories "
                             "and the study's document. Studies sharing it share every step they have in common."),
    judge: str = typer.Option(None, "--judge", help="Judge, MODEL[@URL] [default: the first seed model; the paper "
                              "used GPT-4]."),
    eval_teacher: str = typer.Option(None, "--eval-teacher", help="Writes the eval set once from held-out "
                                     "characters, MODEL[@URL] [default: the study's first data writer]."),
    shard: str = options.SHARD,
) -> dict:
    return dict(locals())


study_command = with_options(study_options, run_settings)
"""Every study's options after its own: where it writes, who judges, and `ditto run`'s settings."""


def _context(settings: dict, first_seed: ModelRef, default_writer: ModelRef) -> StudyContext:
    """The study's settings and characters from the shared options."""
    run = run_config(settings, out=settings["out"], model=first_seed.name)
    judge = ModelRef.parse(settings["judge"], "--judge") if settings["judge"] else None
    teacher = settings["eval_teacher"]
    eval_teacher = ModelRef.parse(teacher, "--eval-teacher") if teacher else None
    config = StudyConfig.create(settings["out"], run, first_seed=first_seed, judge=judge, eval_teacher=eval_teacher,
                                default_writer=default_writer, shard=Shard.parse(settings["shard"]))
    return StudyContext(config)


def _seed_and_teacher(seed_model: str, teacher: str | None, settings: dict) -> tuple[ModelRef, ModelRef, StudyContext]:
    """The seed model, the data's writer (the seed itself by default: self-alignment) and the
    study's context, for the studies of one seed model."""
    seed = ModelRef.parse(seed_model, "--seed-model")
    writer = ModelRef.parse(teacher, "--teacher") if teacher else seed
    return seed, writer, _context(settings, seed, writer)


def _go(plan: StudyPlan, context: StudyContext, settings: dict) -> None:
    console = Console(stderr=True)
    if settings["dry_run"]:
        estimates, lines = estimate_study(plan, context)
        table = Table(title=f"study {plan.name}: {len(lines)} cells", title_justify="left")
        for column in ("cell", "needs"):
            table.add_column(column)
        for line in lines:
            table.add_row(line.cell.title, "\n".join(line.needs))
        Console().print(table)
        print_estimates(estimates)
        for warning in warnings(plan, context):
            console.print(f"warning: {warning}", markup=False, highlight=False)
        return
    result = run_study(plan, context, progress=not settings["no_progress"])
    if not result.finished:
        console.print("this shard's cells are done; join the shards with `ditto merge`, then run the same command "
                      "without --shard", markup=False)
    console.print(f"study: {result.files['html']} (and study.md, study.json)", markup=False, highlight=False)


def _models(values: list[str], option: str) -> list[ModelRef]:
    return list(dict.fromkeys(ModelRef.parse(value, option) for value in values))


SEED_MODEL = typer.Option(BUILTIN_NAME, "--seed-model", help="The model fine-tuned, MODEL[@URL]: trained from "
                          "MODEL here; a URL serves its answers before training.")
TEACHER = typer.Option(None, "--teacher", help="Writes the training data, MODEL[@URL] [default: the seed model "
                       "(self-alignment)].")


@study_app.command("cross-supervision")
@study_command
def cross_supervision_command(
    supervisor: list[str] = typer.Option(..., "--supervisor", metavar="MODEL[@URL]",
                                         help="A model writing Ditto data; repeat for each."),
    seed_model: list[str] = typer.Option(..., "--seed-model", metavar="MODEL[@URL]",
                                         help="A model fine-tuned on every supervisor's data; repeat for each."),
    settings: dict | None = None,
) -> None:
    """Every seed model learns from every supervisor's data (the paper's Figure 5)."""
    supervisors, seeds = _models(supervisor, "--supervisor"), _models(seed_model, "--seed-model")
    context = _context(settings, seeds[0], supervisors[0])
    _go(cross_supervision.study_plan(context, supervisors, seeds), context, settings)


@study_app.command("pool-size")
@study_command
def pool_size_command(
    seed_model: str = SEED_MODEL,
    teacher: str = TEACHER,
    fractions: str = typer.Option("1/8,1/4,1/2,1", "--fractions", help="Nested pools, as fractions of the "
                                  "training characters."),
    diversity: bool = typer.Option(True, "--diversity/--no-diversity", help="Also pools of humans only, fictional "
                                   "characters only, and both, of equal size."),
    settings: dict | None = None,
) -> None:
    """Scores against the number and the kinds of training characters (open question 1)."""
    seed, writer, context = _seed_and_teacher(seed_model, teacher, settings)
    plan = pool_size.study_plan(context, seed, writer, pool_size.parse_fractions(fractions), diversity)
    _go(plan, context, settings)


@study_app.command("query-quality")
@study_command
def query_quality_command(
    seed_model: str = SEED_MODEL,
    teacher: str = TEACHER,
    sample: int = typer.Option(DEFAULT_SAMPLE, "--sample", min=1, help="Queries in the validity table: the sample the "
                               "annotation page shows for the same --sample and --seed."),
    settings: dict | None = None,
) -> None:
    """Validity of the simulated queries, and training on the valid ones only (open question 2)."""
    seed, writer, context = _seed_and_teacher(seed_model, teacher, settings)
    _go(query_quality.study_plan(context, seed, writer, sample), context, settings)


@study_app.command("ablation")
@study_command
def ablation_command(
    vary: str = typer.Option(..., "--vary", help="profile | queries | contrastive"),
    values: str = typer.Option(None, "--values", help="Comma-separated values of the factor [default: profile: "
                               "the four variants; queries: 1,3,5; contrastive: 0,0.4,0.8]."),
    seed_model: str = SEED_MODEL,
    teacher: str = TEACHER,
    settings: dict | None = None,
) -> None:
    """One factor of the simulation varied, everything else fixed (one table and chart)."""
    seed, writer, context = _seed_and_teacher(seed_model, teacher, settings)
    chosen = options.split_list(values) if values else None
    _go(ablation.study_plan(context, vary, chosen, seed, writer), context, settings)
