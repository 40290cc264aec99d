"""`ditto study ablation --vary profile|queries|contrastive`: what the simulation's design
choices are worth.

Each value of the varied factor is one simulation by the teacher (all other settings the
study's), one training of the seed model on it, and one evaluation; the value equal to the
study's own setting is the same simulation every other study in the folder makes, and is
reused. The factors:

- profile: what the teacher reads of each profile: its Wikidata facts only (no introduction),
  its Wikipedia introduction only (no facts), both (ditto's default), or both with the body
  of the article (`--with-article`; profiles fetched without articles make this the same
  prompt as "both");
- queries: questions written per character pair, k;
- contrastive: the share of contrastive turns in a session.
"""

from __future__ import annotations

from pathlib import Path

from ditto.errors import DittoError
from ditto.evaluate.records import METRICS
from ditto.study.document import Section
from ditto.study.figures import factor_panels, run_point
from ditto.study.models import ModelRef
from ditto.study.run import StudyPlan
from ditto.study.runner import CellResult, StepRunner, StudyContext
from ditto.study.steps import Cell, TrainingData

QUESTION = "Which parts of the simulation make the tuned model better? (the seed's next checks)"
PROFILE_VARIANTS = {
    "facts only": {"summary_tokens": 0, "with_claims": True, "with_article": False},
    "introduction only": {"with_claims": False, "with_article": False},
    "facts and introduction": {"with_claims": True, "with_article": False},
    "with the article": {"with_claims": True, "with_article": True},
}
FACTORS = {
    "profile": ("what the teacher reads of the profile", tuple(PROFILE_VARIANTS)),
    "queries": ("questions per character pair (k)", ("1", "3", "5")),
    "contrastive": ("share of contrastive turns", ("0", "0.4", "0.8")),
}


def changes(factor: str, value: str) -> dict[str, object]:
    """The simulation settings one value of the factor sets."""
    if factor == "profile":
        if value not in PROFILE_VARIANTS:
            raise DittoError(f"--values {value}: profile variants are {', '.join(PROFILE_VARIANTS)}")
        return PROFILE_VARIANTS[value]
    try:
        number = int(value) if factor == "queries" else float(value)
    except ValueError:
        raise DittoError(f"--values {value}: expected a number for --vary {factor}") from None
    return {"queries_per_pair": number} if factor == "queries" else {"contrastive_share": number}


def plan(context: StudyContext, factor: str, values: tuple[str, ...], seed: ModelRef, teacher: ModelRef) -> list[Cell]:
    if factor not in FACTORS:
        raise DittoError(f"--vary {factor}: expected one of {', '.join(FACTORS)}")
    cells = [Cell("seed", ((factor, "before training"),), context.evaluation(seed))]
    for value in values:
        simulation = context.simulation(teacher, **changes(factor, value))
        data = TrainingData(simulation, f"{factor} {value}")
        cells.append(Cell("imitation", ((factor, value),), context.evaluation(context.training(seed, data))))
    return cells


def analyse(
    cells: list[Cell], results: dict[str, CellResult], figures: Path, factor: str
) -> tuple[list[Section], dict]:
    done = [(c, results[c.key].run) for c in cells if c.key in results]
    values = [c.label(factor) for c, _ in done if c.role == "imitation"]
    points = {m: [run_point(run, m) for c, run in done if c.role == "imitation"] for m in METRICS}
    seed_runs = [run for c, run in done if c.role == "seed"]
    baseline = {m: run_point(seed_runs[0], m) for m in METRICS} if seed_runs else None
    description = FACTORS[factor][0]
    charts = {}
    if values:
        charts[f"Scores by {description}, after training (dotted: the seed before training)"] = factor_panels(
            description, values, points, figures / f"ablation_{factor}.png", baseline)
    numbers = {"factor": factor, "values": {
        value: {m: {"mean": points[m][i].mean, "interval": points[m][i].interval} for m in METRICS}
        for i, value in enumerate(values)}}
    return [Section(f"Varied: {description}", [], None, charts)], numbers


def study_plan(context: StudyContext, factor: str, values: tuple[str, ...] | None, seed: ModelRef,
               teacher: ModelRef) -> StudyPlan:
    """`values` None: the factor's defaults (`FACTORS`)."""
    if factor not in FACTORS:
        raise DittoError(f"--vary {factor}: expected one of {', '.join(FACTORS)}")
    cells = plan(context, factor, values or FACTORS[factor][1], seed, teacher)

    def analysis(runner: StepRunner, results: dict[str, CellResult], figures: Path):
        return analyse(cells, results, figures, factor)

    return StudyPlan(f"ablation-{factor}", QUESTION, cells, analysis)
