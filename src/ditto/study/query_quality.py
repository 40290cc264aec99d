"""`ditto study query-quality`: are the simulated queries valid for their role, and does
training on the valid ones only help? (the paper's Figure 4 and its open question 2)

The judge rates every query the teacher wrote for the training characters (`query_validity.py`);
the validity by kind is reported on the sample the annotation page shows for the same
`--sample` and `--seed` (`ditto annotate serve SIMULATION_FOLDER --task queries`), half
role-specific and half contrastive where the run has them, and, where people labelled that
sample on the page, the judge's agreement with them. The seed model is then trained on all
sessions and on only the sessions whose every query the judge rated valid (an unparsed verdict
counts as not valid), and the two are compared with the report's paired bootstrap.
"""

from __future__ import annotations

from pathlib import Path

from ditto.annotate.sample import annotation_sample
from ditto.report.differences import compare_runs, method_line
from ditto.report.tables import Table
from ditto.store import RunStore, StoredLabel
from ditto.store.run_store import DATABASE_NAME
from ditto.study.document import Section
from ditto.study.figures import share_bars
from ditto.study.models import ModelRef
from ditto.study.query_validity import RatedQuery, agreement_with_people, valid_sessions, validity_by_kind
from ditto.study.run import StudyPlan
from ditto.study.runner import CellResult, StepRunner, StudyContext
from ditto.study.steps import Cell, QueryRating, Simulation, TrainingData

QUESTION = ("How many simulated queries are valid for their role, does the judge agree with people on it, and does "
            "training on valid queries only change the tuned model? (the paper's Figure 4, open question 2)")
ALL, VALID = "all sessions", "valid queries only"
KIND_NAMES = {"role_specific": "role-specific", "contrastive": "contrastive", "all": "all"}


def plan(context: StudyContext, seed: ModelRef, teacher: ModelRef) -> tuple[list[Cell], Simulation, QueryRating]:
    simulation = context.simulation(teacher)
    rating = QueryRating(simulation)
    cells = [Cell("seed", (("data", "before training"),), context.evaluation(seed))]
    datasets = {ALL: TrainingData(simulation, ALL), VALID: TrainingData(simulation, VALID, valid_only=rating)}
    for name, data in datasets.items():
        cells.append(Cell("imitation", (("data", name),), context.evaluation(context.training(seed, data))))
    return cells, simulation, rating


def _validity_table(by_kind: dict[str, dict]) -> Table:
    rows = [[KIND_NAMES[kind], str(v["rated"]), str(v["valid"]), "n/a" if v["share"] is None else f"{v['share']:.2f}",
             str(v["unparsed"])] for kind, v in by_kind.items()]
    return Table(["query kind", "rated", "valid", "share valid", "unparsed"], rows)


def _agreement_lines(agreement: dict) -> list[str]:
    pooled = agreement["pooled"]
    if not pooled["n"]:
        return ["No query of the sample is labelled by people yet: label them with `ditto annotate serve "
                "SIMULATION_FOLDER --task queries` (same --sample and --seed) and run the study again."]

    def shown(values: dict) -> str:
        kappa = "undefined" if values["kappa"] is None else f"{values['kappa']:.2f}"
        agree = "n/a" if values["agreement"] is None else f"{values['agreement']:.2f}"
        return f"{values['n']} queries, agreement {agree}, Cohen's kappa {kappa}"

    lines = [f"Judge against people, pooled: {shown(pooled)}."]
    lines += [f"Judge against {name}: {shown(values)}." for name, values in agreement["annotators"].items()]
    return lines


def analyse(cells: list[Cell], results: dict[str, CellResult], figures: Path, rated: list[RatedQuery],
            sample_keys: set[tuple[str, int]], labels: list[StoredLabel], folder: str, seed: int = 0,
            ) -> tuple[list[Section], dict]:
    sample = [r for r in rated if r.key in sample_keys]
    by_kind = validity_by_kind(sample)
    agreement = agreement_with_people(sample, labels)
    charts = {}
    if sample:
        kinds = list(by_kind)
        charts["Share of the sampled queries the judge rated valid, by kind"] = share_bars(
            [KIND_NAMES[k] for k in kinds], [by_kind[k]["share"] for k in kinds], "Valid queries (judge)",
            figures / "query_validity.png")
    validity = Section(
        "Validity of the simulated queries",
        [f"The judge rated all {len(rated)} queries of `{folder}`; the table is the sample of {len(sample)} the "
         "annotation page shows for the same --sample and --seed.", *_agreement_lines(agreement)],
        _validity_table(by_kind), charts,
    )
    sessions = {r.session for r in rated}
    kept = valid_sessions(rated)
    runs = {c.label("data"): results[c.key].run for c in cells if c.role == "imitation" and c.key in results}
    downstream = Section("Training on valid queries only")
    downstream_intro = (f"{len(kept)} of {len(sessions)} sessions have every query rated valid; the second model "
                        "trains on those only.")
    numbers = {"validity": by_kind, "validity_all_queries": validity_by_kind(rated), "agreement": agreement,
               "sessions": len(sessions), "sessions_kept": len(kept)}
    if ALL in runs and VALID in runs:
        comparison = compare_runs([runs[ALL], runs[VALID]], seed=seed)[0]
        downstream.paragraphs = [downstream_intro, method_line(runs[ALL].label), *comparison.sentences()]
        numbers["difference"] = {d.metric: {"mean": d.mean, "interval": d.interval, "dialogues": d.dialogues}
                                 for d in comparison.differences}
    else:
        downstream.paragraphs = [downstream_intro, "Not compared yet: both trainings must be evaluated."]
    return [validity, downstream], numbers


def people_labels(simulation_folder: Path) -> list[StoredLabel]:
    """The `query_valid` labels people gave on the annotation page of the simulation's folder
    (none when nobody opened it: no store is made for asking)."""
    if not (simulation_folder / DATABASE_NAME).is_file():
        return []
    with RunStore(simulation_folder) as store:
        return store.labels("queries")


def study_plan(context: StudyContext, seed: ModelRef, teacher: ModelRef, sample: int) -> StudyPlan:
    cells, simulation, rating = plan(context, seed, teacher)
    random_seed = context.config.settings.seed

    def analysis(runner: StepRunner, results: dict[str, CellResult], figures: Path):
        rated = runner.rating(rating)
        folder = runner.simulation(simulation)
        keys = {unit.key for unit in annotation_sample(folder, "queries", sample, random_seed)}
        return analyse(cells, results, figures, rated, keys, people_labels(folder), simulation.folder, random_seed)

    return StudyPlan("query-quality", QUESTION, cells, analysis, ratings=[rating])
