"""`ditto study cross-supervision`: the paper's section 6 and Figure 5.

Every supervisor writes the Ditto data for the same training characters; every seed model is
fine-tuned on every supervisor's data; one eval set and one judge score (a) each supervisor
answering with the character's profile in its prompt (supervision performance), (b) each
fine-tuned seed without it (imitation performance) and (c) each seed before training. The
figure puts (a) on x and (b) on y: above the diagonal the student beats its teacher.

The paper reads its figure in three claims (`CLAIMS`, in our words). Each is checked on our
cells with the report's paired bootstrap (`report/differences.py`: imitation minus
supervision over the same eval items, told apart from noise only where the 95% interval
excludes 0 and `MIN_DIALOGUES` dialogues are behind it), so a tiny run says "undecided"
rather than reading noise as a finding.
"""

from __future__ import annotations

from pathlib import Path

from ditto.evaluate.records import METRICS
from ditto.report.collect import Run
from ditto.report.differences import MIN_DIALOGUES, Difference, compare_runs, direction
from ditto.study.document import Section
from ditto.study.figures import AXES, run_point, supervision_scatter
from ditto.study.models import ModelRef
from ditto.study.run import StudyPlan
from ditto.study.runner import CellResult, StepRunner, StudyContext
from ditto.study.steps import Cell, TrainingData

QUESTION = ("How much of a supervisor's role-play does a seed model learn from its data, and what bounds it? "
            "(the paper's section 6, Figure 5)")

CLAIMS = {
    "identity": "Identity is learned beyond the supervisor: the fine-tuned seeds sit above the diagonal in "
                "consistency, since who one is takes little knowledge to imitate, even from a weaker supervisor.",
    "below": "Knowledge and rejection sit below the diagonal: a fine-tuned seed knows less, and refuses out-of-scope "
             "questions less well, than its supervisor did with the profile in its prompt.",
    "bounded": "Knowledge is bounded by the seed: a stronger supervisor raises a seed's knowledge far less than it "
               "raises its own, because a seed cannot imitate facts it does not hold.",
}

CLAIM_TITLES = {"identity": "Identity above the diagonal", "below": "Knowledge and rejection below the diagonal",
                "bounded": "Knowledge bounded by the seed"}


def plan(context: StudyContext, supervisors: list[ModelRef], seeds: list[ModelRef]) -> list[Cell]:
    """Seeds before training, supervisors with the profile, then every seed <- supervisor."""
    cells = [Cell("seed", (("seed", m.label),), context.evaluation(m)) for m in seeds]
    cells += [Cell("supervision", (("supervisor", s.label),), context.evaluation(s, with_profile=True))
              for s in supervisors]
    for seed in seeds:
        for supervisor in supervisors:
            data = TrainingData(context.simulation(supervisor), "the data")
            cells.append(Cell("imitation", (("seed", seed.label), ("supervisor", supervisor.label)),
                              context.evaluation(context.training(seed, data))))
    return cells


def _paired(baseline: Run, other: Run, metric: str, seed: int) -> Difference:
    comparison = compare_runs([baseline, other], seed=seed)[0]
    return next(d for d in comparison.differences if d.metric == metric)


def _pairs(cells: list[Cell], results: dict[str, CellResult]) -> list[tuple[Cell, Run, Run]]:
    """(imitation cell, its supervisor's supervision run, its own run) for every cell with both."""
    supervision = {c.label("supervisor"): results[c.key].run for c in cells
                   if c.role == "supervision" and c.key in results}
    return [(c, supervision[c.label("supervisor")], results[c.key].run) for c in cells
            if c.role == "imitation" and c.key in results and c.label("supervisor") in supervision]


def _tally(verdicts: list[str], expected: str) -> str:
    supported = verdicts.count(expected)
    contradicted = len([v for v in verdicts if v not in (expected, "undecided")])
    undecided = verdicts.count("undecided")
    if not verdicts:
        return "not checked: no cell has both its supervision and its imitation score yet"
    if supported == len(verdicts):
        verdict = "supported"
    elif contradicted:
        verdict = "contradicted" if contradicted == len(verdicts) else "mixed"
    else:
        verdict = "undecided"
    return (f"{verdict}: {supported} of {len(verdicts)} paired comparisons agree, {contradicted} disagree, "
            f"{undecided} cannot be told apart from noise")


def claim_verdicts(cells: list[Cell], results: dict[str, CellResult], seed: int = 0) -> dict[str, str]:
    """Each claim of `CLAIMS` against our cells (module doc)."""
    pairs = _pairs(cells, results)

    def told(metric: str) -> list[str]:
        return [direction(_paired(sup, imit, metric, seed)) or "undecided" for _, sup, imit in pairs]

    verdicts = {
        "identity": _tally(told("consistency"), "higher"),
        "below": _tally(told("knowledge") + told("rejection"), "lower"),
    }
    bounded = []
    for seed_label in dict.fromkeys(c.label("seed") for c, _, _ in pairs):
        mine = [(sup, imit) for c, sup, imit in pairs if c.label("seed") == seed_label]
        scored = [(s, i) for s, i in mine if s.scores["all"]["knowledge"] is not None]
        if len(scored) < 2:
            continue
        scored.sort(key=lambda pair: pair[0].scores["all"]["knowledge"])
        (weak_sup, weak_imit), (strong_sup, strong_imit) = scored[0], scored[-1]
        gain_sup = _paired(weak_sup, strong_sup, "knowledge", seed)
        gain_imit = _paired(weak_imit, strong_imit, "knowledge", seed)
        if direction(gain_sup) != "higher" or gain_imit.interval is None or gain_sup.mean is None:
            bounded.append("undecided")
        elif gain_imit.interval[1] < gain_sup.mean:
            bounded.append("smaller")
        elif gain_imit.interval[0] >= gain_sup.mean:
            bounded.append("as large")
        else:
            bounded.append("undecided")
    verdicts["bounded"] = (
        _tally(bounded, "smaller") if bounded else "not checked: it needs a seed tuned on two supervisors' data"
    )
    return verdicts


def analyse(
    cells: list[Cell], results: dict[str, CellResult], figures: Path, seed: int = 0
) -> tuple[list[Section], dict]:
    """The Figure 5 scatters and the paper's reading beside ours."""
    pairs = _pairs(cells, results)
    charts = {}
    numbers: dict = {"figure5": {}}
    for metric in METRICS:
        points = [(f"{c.label('seed')} <- {c.label('supervisor')}", run_point(sup, metric), run_point(imit, metric))
                  for c, sup, imit in pairs]
        numbers["figure5"][metric] = [
            {"cell": label, "supervision": s.mean, "supervision_interval": s.interval, "imitation": i.mean,
             "imitation_interval": i.interval} for label, s, i in points
        ]
        if points:
            name = AXES[metric][0]
            charts[f"{name}: supervision (x) against imitation (y), seed <- supervisor"] = supervision_scatter(
                metric, points, figures / f"figure5_{metric}.png")
    verdicts = claim_verdicts(cells, results, seed)
    numbers["claims"] = {name: {"paper": CLAIMS[name], "ours": verdicts[name]} for name in CLAIMS}
    reading = [
        "Each claim is checked with a paired bootstrap over the eval items both runs answered: a comparison agrees "
        "or disagrees only where its 95% interval excludes 0 and at least "
        f"{MIN_DIALOGUES} dialogues are behind it.",
        *(f"**{CLAIM_TITLES[name]}.** The paper: {CLAIMS[name]} Our cells: {verdicts[name]}." for name in CLAIMS),
    ]
    return [Section("Figure 5: supervision against imitation", [], None, charts),
            Section("The paper's reading and ours", reading)], numbers


def study_plan(context: StudyContext, supervisors: list[ModelRef], seeds: list[ModelRef]) -> StudyPlan:
    seed = context.config.settings.seed

    def analysis(runner: StepRunner, results: dict[str, CellResult], figures: Path):
        return analyse(cells, results, figures, seed)

    cells = plan(context, supervisors, seeds)
    return StudyPlan("cross-supervision", QUESTION, cells, analysis)
