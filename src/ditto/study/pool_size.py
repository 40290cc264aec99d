"""`ditto study pool-size`: how big and how diverse must the character pool be? (the paper's
first open question)

The teacher simulates every training character once; each cell trains the seed model on the
samples of a part of them, so the pools cost no request beyond that one simulation. Nested
pools take the first n characters of one seeded order of the training characters (each pool
holds the smaller ones); the diversity pools hold the same number of characters each, the
most both categories allow: humans only, fictional characters only, and both (the first
that many of the seeded order, whatever their category). The seed model before training is
the curves' point at 0 characters.
"""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

from ditto.errors import DittoError
from ditto.evaluate.records import METRICS
from ditto.study.document import Section
from ditto.study.figures import Point, metric_curves, run_point
from ditto.study.models import ModelRef
from ditto.study.run import StudyPlan
from ditto.study.runner import CellResult, StepRunner, StudyContext
from ditto.study.steps import Cell, TrainingData

QUESTION = ("How many characters, and how varied, must the simulated pool hold for the tuned model to role-play "
            "well? (the paper's open question 1)")
DEFAULT_FRACTIONS = (Fraction(1, 8), Fraction(1, 4), Fraction(1, 2), Fraction(1))
DIVERSITY = {"humans only": {"human"}, "fictional only": {"fictional"}, "both": {"human", "fictional"}}


def parse_fractions(text: str) -> tuple[Fraction, ...]:
    """'1/8,1/4,1/2,1' -> fractions in (0, 1], sorted."""
    try:
        values = sorted({Fraction(part.strip()) for part in text.split(",") if part.strip()})
    except (ValueError, ZeroDivisionError):
        values = []
    if not values or not all(0 < v <= 1 for v in values):
        raise DittoError(f"--fractions {text}: expected fractions of the pool in (0, 1], e.g. 1/8,1/4,1/2,1")
    return tuple(values)


def ordered_ids(context: StudyContext) -> list[str]:
    ids = context.train_ids
    random.Random(f"{context.config.settings.seed}:pool-size").shuffle(ids)
    return ids


def plan(context: StudyContext, seed: ModelRef, teacher: ModelRef, fractions=DEFAULT_FRACTIONS,
         diversity: bool = True) -> list[Cell]:
    order = ordered_ids(context)
    simulation = context.simulation(teacher)
    cells = [Cell("seed", (("pool", "none"), ("characters", "0")), context.evaluation(seed))]
    sizes = dict.fromkeys(max(1, round(float(f) * len(order))) for f in fractions)
    for size in sizes:
        name = "all characters" if size == len(order) else f"first {size} of {len(order)}"
        data = TrainingData(simulation, name, None if size == len(order) else frozenset(order[:size]))
        cells.append(Cell("imitation", (("pool", "nested"), ("characters", str(size))),
                          context.evaluation(context.training(seed, data))))
    if diversity:
        category = {p.id: p.category for p in context.train_pool}
        by_kind = {name: [i for i in order if category[i] in kinds] for name, kinds in DIVERSITY.items()}
        size = min(len(by_kind["humans only"]), len(by_kind["fictional only"]))
        if size:
            for name, ids in by_kind.items():
                data = TrainingData(simulation, name, frozenset(ids[:size]))
                cells.append(Cell("imitation", (("pool", name), ("characters", str(size))),
                                  context.evaluation(context.training(seed, data))))
    return cells


def analyse(cells: list[Cell], results: dict[str, CellResult], figures: Path) -> tuple[list[Section], dict]:
    done = [(c, results[c.key].run) for c in cells if c.key in results]
    baseline = [(0.0, run) for c, run in done if c.role == "seed"]
    series: dict[str, dict[str, list[tuple[float, Point]]]] = {metric: {} for metric in METRICS}
    for cell, run in done:
        if cell.role == "seed":
            continue
        pool = cell.label("pool")
        name = "nested pools" if pool == "nested" else pool
        for metric in METRICS:
            points = series[metric].setdefault(name, [(x, run_point(r, metric)) for x, r in baseline]
                                               if pool == "nested" else [])
            points.append((float(cell.label("characters")), run_point(run, metric)))
    charts = {}
    if any(series[m] for m in METRICS):
        caption = "Scores against the number of training characters (nested pools; diversity pools at equal size)"
        charts[caption] = metric_curves(series, "training characters", figures / "pool_size.png")
    numbers = {"curves": {m: {name: [{"characters": x, "mean": p.mean, "interval": p.interval} for x, p in pts]
                              for name, pts in series[m].items()} for m in METRICS}}
    text = ["Nested pools share one seeded order of the training characters, so each holds the smaller ones; the "
            "diversity pools hold equally many characters each. The point at 0 characters is the seed model before "
            "training."]
    return [Section("Scores against the pool", text, None, charts)], numbers



def study_plan(context: StudyContext, seed: ModelRef, teacher: ModelRef, fractions=DEFAULT_FRACTIONS,
               diversity: bool = True) -> StudyPlan:
    cells = plan(context, seed, teacher, fractions, diversity)

    def analysis(runner: StepRunner, results: dict[str, CellResult], figures: Path):
        return analyse(cells, results, figures)

    return StudyPlan("pool-size", QUESTION, cells, analysis)
