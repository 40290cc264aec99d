"""`ditto study ...`: the paper's analyses and open questions, each one resumable command.

Every study takes `ditto run`'s settings (characters, sizes, tokens, judge and training
settings) from one list, `shared_options`, added to each command by `study_command`; each
command adds only the models and the factor it varies.
"""

import functools
import inspect
import typing
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ditto.cli import options
from ditto.cli.options import setting_option
from ditto.cost import print_estimates
from ditto.models.builtin import BUILTIN_NAME
from ditto.pipeline import RunConfig
from ditto.shard import Shard
from ditto.study import ablation, cross_supervision, pool_size, query_quality
from ditto.study.config import StudyConfig
from ditto.study.models import ModelRef
from ditto.study.run import StudyPlan, estimate_study, run_study, warnings
from ditto.study.runner import StudyContext

study_app = typer.Typer(help="The paper's analyses and open questions as resumable studies (docs/studies.md).",
                        no_args_is_help=True)


def shared_options(
    out: Path = typer.Option(Path("runs/study"), "--out", "-o", help="Study folder: every cell's run directories "
                             "and the study's document. Studies sharing it share every step they have in common."),
    judge: str = typer.Option(None, "--judge", help="Judge, MODEL[@URL] [default: the first seed model; the paper "
                              "used GPT-4]."),
    eval_teacher: str = typer.Option(None, "--eval-teacher", help="Writes the eval set once from held-out "
                                     "characters, MODEL[@URL] [default: the study's first data writer]."),
    eval_set: Path = setting_option(RunConfig, "eval_set"),
    characters: str = options.CHARACTERS,
    train_characters: int = setting_option(RunConfig, "train_characters"),
    eval_characters: int = setting_option(RunConfig, "eval_characters"),
    lang: str = setting_option(RunConfig, "langs"),
    turns: int = setting_option(RunConfig, "turns"),
    max_tokens: int = setting_option(RunConfig, "max_tokens"),
    answer_max_tokens: int = setting_option(RunConfig, "answer_max_tokens"),
    judge_n: int = setting_option(RunConfig, "judge_n"),
    judge_max_tokens: int = setting_option(RunConfig, "judge_max_tokens"),
    parsing: str = setting_option(RunConfig, "parsing"),
    recipe: str = setting_option(RunConfig, "recipe"),
    lora: bool = setting_option(RunConfig, "method"),
    epochs: float = setting_option(RunConfig, "epochs"),
    train_steps: int = setting_option(RunConfig, "train_steps", "--max-steps"),
    lr: float = setting_option(RunConfig, "lr", "--train-lr"),
    max_length: int = setting_option(RunConfig, "max_length"),
    train_batch_size: int = setting_option(RunConfig, "train_batch_size"),
    seed: int = setting_option(RunConfig, "seed"),
    concurrency: int = options.CONCURRENCY,
    timeout: float = options.TIMEOUT,
    max_retries: int = options.MAX_RETRIES,
    batch_size: int = options.BATCH_SIZE,
    structured: str = options.STRUCTURED,
    no_progress: bool = options.NO_PROGRESS,
    shard: str = options.SHARD,
    dry_run: bool = options.DRY_RUN,
) -> dict:
    return dict(locals())


def study_command(command: typing.Callable) -> typing.Callable:
    """`command` with the shared options added to its own; it receives them as `shared`."""
    own = inspect.signature(command)
    extra = inspect.signature(shared_options)
    parameters = [p for p in own.parameters.values() if p.name != "shared"] + list(extra.parameters.values())

    @functools.wraps(command)
    def wrapper(**values):
        shared = {name: values.pop(name) for name in extra.parameters}
        return command(**values, shared=shared)

    hints = {**typing.get_type_hints(command), **typing.get_type_hints(shared_options)}
    hints.pop("shared", None)
    wrapper.__signature__ = own.replace(parameters=parameters)
    wrapper.__annotations__ = hints
    return wrapper


def _context(shared: dict, first_seed: ModelRef, default_writer: ModelRef) -> tuple[StudyContext, bool, bool]:
    """The study's settings and characters from the shared options; (context, dry run, progress)."""
    s = shared
    settings = RunConfig(
        out=s["out"], model=first_seed.name, eval_set=s["eval_set"], characters=s["characters"],
        train_characters=s["train_characters"], eval_characters=s["eval_characters"],
        langs=options.split_list(s["lang"]) if s["lang"] else None, turns=s["turns"], max_tokens=s["max_tokens"],
        answer_max_tokens=s["answer_max_tokens"], judge_n=s["judge_n"], judge_max_tokens=s["judge_max_tokens"],
        parsing=s["parsing"], recipe=s["recipe"],
        method=None if s["lora"] is None else ("lora" if s["lora"] else "full"), epochs=s["epochs"],
        train_steps=s["train_steps"], lr=s["lr"], max_length=s["max_length"], train_batch_size=s["train_batch_size"],
        seed=s["seed"], progress=not s["no_progress"],
        backend=options.backend_config(s["concurrency"], s["timeout"], s["max_retries"], s["batch_size"],
                                       s["structured"]),
    )
    judge = ModelRef.parse(s["judge"], "--judge") if s["judge"] else None
    eval_teacher = ModelRef.parse(s["eval_teacher"], "--eval-teacher") if s["eval_teacher"] else None
    config = StudyConfig.create(s["out"], settings, first_seed=first_seed, judge=judge, eval_teacher=eval_teacher,
                                default_writer=default_writer, shard=Shard.parse(s["shard"]))
    return StudyContext(config), s["dry_run"], not s["no_progress"]


def _go(plan: StudyPlan, context: StudyContext, dry_run: bool, progress: bool) -> None:
    console = Console(stderr=True)
    if dry_run:
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
    result = run_study(plan, context, progress=progress)
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
    shared: dict = None,
) -> None:
    """Every seed model learns from every supervisor's data (the paper's Figure 5)."""
    supervisors, seeds = _models(supervisor, "--supervisor"), _models(seed_model, "--seed-model")
    context, dry_run, progress = _context(shared, seeds[0], supervisors[0])
    _go(cross_supervision.study_plan(context, supervisors, seeds), context, dry_run, progress)


@study_app.command("pool-size")
@study_command
def pool_size_command(
    seed_model: str = SEED_MODEL,
    teacher: str = TEACHER,
    fractions: str = typer.Option("1/8,1/4,1/2,1", "--fractions", help="Nested pools, as fractions of the "
                                  "training characters."),
    diversity: bool = typer.Option(True, "--diversity/--no-diversity", help="Also pools of humans only, fictional "
                                   "characters only, and both, of equal size."),
    shared: dict = None,
) -> None:
    """Scores against the number and the kinds of training characters (open question 1)."""
    seed = ModelRef.parse(seed_model, "--seed-model")
    writer = ModelRef.parse(teacher, "--teacher") if teacher else seed
    context, dry_run, progress = _context(shared, seed, writer)
    plan = pool_size.study_plan(context, seed, writer, pool_size.parse_fractions(fractions), diversity)
    _go(plan, context, dry_run, progress)


@study_app.command("query-quality")
@study_command
def query_quality_command(
    seed_model: str = SEED_MODEL,
    teacher: str = TEACHER,
    sample: int = typer.Option(100, "--sample", min=1, help="Queries in the validity table: the sample the "
                               "annotation page shows for the same --sample and --seed."),
    shared: dict = None,
) -> None:
    """Validity of the simulated queries, and training on the valid ones only (open question 2)."""
    seed = ModelRef.parse(seed_model, "--seed-model")
    writer = ModelRef.parse(teacher, "--teacher") if teacher else seed
    context, dry_run, progress = _context(shared, seed, writer)
    _go(query_quality.study_plan(context, seed, writer, sample), context, dry_run, progress)


@study_app.command("ablation")
@study_command
def ablation_command(
    vary: str = typer.Option(..., "--vary", help="profile | queries | contrastive"),
    values: str = typer.Option(None, "--values", help="Comma-separated values of the factor [default: profile: "
                               "the four variants; queries: 1,3,5; contrastive: 0,0.4,0.8]."),
    seed_model: str = SEED_MODEL,
    teacher: str = TEACHER,
    shared: dict = None,
) -> None:
    """One factor of the simulation varied, everything else fixed (one table and chart)."""
    seed = ModelRef.parse(seed_model, "--seed-model")
    writer = ModelRef.parse(teacher, "--teacher") if teacher else seed
    context, dry_run, progress = _context(shared, seed, writer)
    chosen = options.split_list(values) if values else None
    _go(ablation.study_plan(context, vary, chosen, seed, writer), context, dry_run, progress)
