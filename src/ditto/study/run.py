"""A study from its cells to its document: plan, dry run, run (or one shard of it), write.

`StudyPlan` is what each study module makes: its cells, and how its results are read into
sections and figures. `run_study` runs the cells this machine owns, then writes study.md,
study.html and study.json from every cell that is done, this machine's or a merged shard's;
a cell still missing shows as "not run yet" and the study's own analysis waits for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ditto.cost import StageEstimate
from ditto.evaluate.estimate import estimate_evaluation
from ditto.pipeline import planned_eval_items, training_estimate
from ditto.report.cautions import self_judge_warning
from ditto.report.differences import MIN_DIALOGUES
from ditto.simulate.estimate import estimate_simulation
from ditto.study.document import Section, StudyDocument, cells_table, write_document
from ditto.study.runner import CellResult, StepRunner, StudyContext, is_done, owned_cells
from ditto.study.steps import Cell, Evaluation, QueryRating, Simulation, Training

Analysis = Callable[[StepRunner, dict[str, CellResult], Path], tuple[list[Section], dict]]


@dataclass
class StudyPlan:
    name: str
    question: str
    cells: list[Cell]
    analyse: Analysis
    ratings: list[QueryRating] = field(default_factory=list)
    """Judge ratings of simulated queries the analysis reads (query-quality)."""
    tested_writers: list[str] = field(default_factory=list)
    """Models under test, for the warnings on who judges and who wrote the test."""


@dataclass
class StudyResult:
    files: dict[str, Path]
    results: dict[str, CellResult]
    finished: bool
    """Every cell evaluated (on this machine or a merged shard)."""


def warnings(plan: StudyPlan, context: StudyContext) -> list[str]:
    config = context.config
    found = []
    judged = {str(cell.evaluation.model) for cell in plan.cells if not isinstance(cell.evaluation.model, Training)}
    if str(config.judge) in judged:
        found.append(self_judge_warning(str(config.judge), "a model under test"))
    if config.eval_set is None and str(config.eval_teacher) in judged:
        found.append(f"the eval set is written by a model under test ({config.eval_teacher}): pass --eval-set "
                     "(the official WikiRoleEval file) or --eval-teacher a model outside the study")
    langs = config.simulation.langs
    held_out = [p for p in context.eval_pool if p.lang in langs]
    dialogues = len(context.given_items) if context.given_items is not None else len(held_out)
    if dialogues < MIN_DIALOGUES:
        found.append(f"the eval set has {dialogues} dialogue{'' if dialogues == 1 else 's'}, fewer than the "
                     f"{MIN_DIALOGUES} an interval needs: no "
                     "difference or claim can be decided; at this size the study checks that its machinery works")
    return found


def run_study(plan: StudyPlan, context: StudyContext, *, progress: bool = True) -> StudyResult:
    config = context.config
    found = warnings(plan, context)
    for warning in found:
        print(f"warning: {warning}", file=sys.stderr)
    runner = StepRunner(context, progress=progress)
    made, impossible = runner.run_cells(plan.cells)
    results = runner.done_results(plan.cells, made)
    finished = all(cell.key in results or cell.key in impossible for cell in plan.cells)
    figures = Path(config.out) / plan.name / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    cells_text = ["Every cell's scores on the one eval set: the mean over turns and its 95% bootstrap interval over "
                  "dialogues. Each folder is an ordinary ditto run directory under the study's folder."]
    sections = [Section("Cells", cells_text, cells_table(plan.cells, results, impossible))]
    data: dict = {}
    if finished:
        analysed, data = plan.analyse(runner, results, figures)
        sections += analysed
    else:
        missing = sum(cell.key not in results and cell.key not in impossible for cell in plan.cells)
        sections.append(Section("Not finished", [
            f"{missing} of {len(plan.cells)} cells are not evaluated here (`--shard {config.shard}`). Join the shards "
            "with `ditto merge TARGET SHARD...` and run the same command on TARGET without --shard."]))
    document = StudyDocument(plan.name, plan.question, sections, found, data)
    files = write_document(document, Path(config.out) / plan.name, plan.cells, results, impossible)
    return StudyResult(files, results, finished)


@dataclass
class CellLine:
    cell: Cell
    needs: list[str]
    """Folders of the steps it needs, each marked done or to make."""


def study_steps(plan: StudyPlan) -> tuple[list[Simulation], list[Training], list[Evaluation]]:
    """The distinct steps of the cells (and the ratings), in first-needed order."""
    simulations: dict[str, Simulation] = {}
    trainings: dict[str, Training] = {}
    evaluations: dict[str, Evaluation] = {}
    for cell in plan.cells:
        evaluation = cell.evaluation
        evaluations.setdefault(evaluation.folder, evaluation)
        if isinstance(evaluation.model, Training):
            trainings.setdefault(evaluation.model.folder, evaluation.model)
            simulation = evaluation.model.data.simulation
            simulations.setdefault(simulation.folder, simulation)
    for rating in plan.ratings:
        simulations.setdefault(rating.simulation.folder, rating.simulation)
    return list(simulations.values()), list(trainings.values()), list(evaluations.values())


def estimate_study(plan: StudyPlan, context: StudyContext) -> tuple[list[StageEstimate], list[CellLine]]:
    """What the study (this shard of it) would send and train, step by step, before anything
    runs; a step already done in `--out` is listed with nothing to send."""
    config, out = context.config, Path(context.config.out)
    owned = replace(plan, cells=owned_cells(plan.cells, config.shard))
    simulations, trainings, evaluations = study_steps(owned)
    estimates: list[StageEstimate] = []

    def done(folder: str, stage: str) -> bool:
        if is_done(out / folder):
            estimates.append(StageEstimate(stage, 0, 0, 0, 0, note=f"done: {folder}"))
            return True
        return False

    items = context.given_items
    if items is None:
        build = config.eval_build
        if not done(str(config.eval_set_file.parent.relative_to(out)), "eval set"):
            held_out = replace(build.config, character_ids=frozenset(p.id for p in context.eval_pool))
            estimates += estimate_simulation(context.pool, held_out, f"eval set by {build.writer.label} ")
        items = planned_eval_items(context.pool, context.eval_pool, config.simulation)
    for simulation in simulations:
        if not done(simulation.folder, f"simulate by {simulation.writer.label}"):
            estimates += estimate_simulation(context.train_pool, simulation.config, f"{simulation.folder} ")
    for rating in plan.ratings:
        if not done(rating.folder, "rate queries"):
            judge = config.settings.eval_config().judge
            queries = len(context.train_pool) * rating.simulation.config.turns
            estimates.append(StageEstimate(
                "rate queries", queries * judge.n, queries * judge.n * judge.attempts, queries * judge.n * 300,
                queries * judge.n * judge.max_tokens,
                note=f"about {queries} queries (a session per training character); prompts about 300 tokens"))
    for training in trainings:
        if not is_done(out / training.folder):
            estimates.append(training_estimate(training.folder, config.settings.train_steps, training.label))
    eval_config = config.settings.eval_config()
    for evaluation in evaluations:
        if not done(evaluation.folder, f"eval {evaluation.label}"):
            estimates += estimate_evaluation(items, eval_config, f"{evaluation.folder} ")
    lines = [CellLine(cell, _needs(cell, out)) for cell in owned.cells]
    return estimates, lines


def _needs(cell: Cell, out: Path) -> list[str]:
    evaluation = cell.evaluation
    folders = []
    if isinstance(evaluation.model, Training):
        training = evaluation.model
        folders += [training.data.simulation.folder, *([training.data.folder] if training.data.filtered else []),
                    training.folder]
    folders.append(evaluation.folder)
    return [f"{folder} ({'done' if is_done(out / folder) else 'to make'})" for folder in folders]
