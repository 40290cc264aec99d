"""The paper's reading of its Figure 5 checked on cells written by hand, and the document a
study writes from them. Every expected verdict is worked out in the comments."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.image import imread

from ditto.report.collect import read_run
from ditto.study import cross_supervision
from ditto.study.document import Section, StudyDocument, cells_table, write_document
from ditto.study.models import ModelRef
from ditto.study.runner import CellResult
from ditto.study.steps import Cell, Evaluation
from tests.report.test_build_report import item, write_jsonl

DIALOGUES = 12  # at least MIN_DIALOGUES (10): a constant difference over them is told apart from noise
PROMPTS = ["Where were you born?", "What is a smartphone?"]  # turn 2 is contrastive (label 1)


def judged_run(directory: Path, consistency: float, knowledge: int, refuses: bool) -> Path:
    """DIALOGUES identical dialogues of two turns: consistency and knowledge on both turns;
    rejection 1 on turn 1 (not refused, label 0) and on turn 2 only if the model refuses."""
    records = [item(f"en-{n}", "en", "human", PROMPTS, ["a", "b"], [0, 1], [consistency] * 2,
                    [0, 1 if refuses else 0], [knowledge] * 2) for n in range(DIALOGUES)]
    directory.mkdir(parents=True)
    write_jsonl(directory / "judged.jsonl", records)
    (directory / "run_info.json").write_text(json.dumps({"label": directory.name, "judge": "judge-x"}))
    return directory


def cell(role: str, *labels: tuple[str, str]) -> Cell:
    return Cell(role, labels, Evaluation(ModelRef("-".join(v for _, v in labels))))


def results_for(tmp_path: Path, runs: dict[Cell, tuple[float, int, bool]]) -> dict[str, CellResult]:
    return {c.key: CellResult(c, read_run(judged_run(tmp_path / str(i), *scores)), None)
            for i, (c, scores) in enumerate(runs.items())}


WEAK, STRONG = cell("supervision", ("supervisor", "weak")), cell("supervision", ("supervisor", "strong"))
ON_WEAK = cell("imitation", ("seed", "s"), ("supervisor", "weak"))
ON_STRONG = cell("imitation", ("seed", "s"), ("supervisor", "strong"))


def test_the_paper_reading_is_supported_where_our_cells_show_it(tmp_path):
    # supervision: consistency 0, knowledge 4 (weak) / 8 (strong), refuses (rejection 1.0)
    # imitation:   consistency 1 (above the diagonal), knowledge 3 / 4 (below), never refuses (rejection 0.5)
    # strong minus weak knowledge: supervision +4 (told apart), imitation +1, whose interval [1, 1] lies below 4
    results = results_for(tmp_path, {WEAK: (0.0, 4, True), STRONG: (0.0, 8, True),
                                     ON_WEAK: (1.0, 3, False), ON_STRONG: (1.0, 4, False)})
    verdicts = cross_supervision.claim_verdicts([WEAK, STRONG, ON_WEAK, ON_STRONG], results)
    assert verdicts["identity"].startswith("supported: 2 of 2 paired comparisons agree")
    # knowledge and rejection, each for both imitation cells: 4 comparisons
    assert verdicts["below"].startswith("supported: 4 of 4 paired comparisons agree, 0 disagree")
    assert verdicts["bounded"].startswith("supported: 1 of 1")


def test_the_paper_reading_is_contradicted_where_our_cells_go_the_other_way(tmp_path):
    # imitation: consistency 0 vs 1 under supervision (below the diagonal: disagrees), knowledge 4 / 8
    # (as the supervisors': the strong supervisor's gain, +4, is imitated whole)
    results = results_for(tmp_path, {WEAK: (1.0, 4, True), STRONG: (1.0, 8, True),
                                     ON_WEAK: (0.0, 4, True), ON_STRONG: (0.0, 8, True)})
    verdicts = cross_supervision.claim_verdicts([WEAK, STRONG, ON_WEAK, ON_STRONG], results)
    assert verdicts["identity"].startswith("contradicted: 0 of 2 paired comparisons agree, 2 disagree")
    # knowledge and rejection equal under both: a difference of 0 is never told apart
    assert verdicts["below"].startswith("undecided: 0 of 4 paired comparisons agree, 0 disagree, 4 cannot")
    assert verdicts["bounded"].startswith("contradicted: 0 of 1")


def test_too_few_dialogues_leave_every_claim_undecided(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.study.test_study_claims.DIALOGUES", 3)
    results = results_for(tmp_path, {WEAK: (0.0, 4, True), ON_WEAK: (1.0, 3, False)})
    verdicts = cross_supervision.claim_verdicts([WEAK, ON_WEAK], results)
    assert verdicts["identity"].startswith("undecided: 0 of 1")
    assert verdicts["bounded"].startswith("not checked")


def test_the_document_draws_figure_5_and_escapes_what_models_are_called(tmp_path):
    hostile = "<script>alert(1)</script>"
    seed = cell("imitation", ("seed", hostile), ("supervisor", "weak"))
    cells = [WEAK, seed]
    results = results_for(tmp_path / "runs", {WEAK: (0.0, 4, True), seed: (1.0, 3, False)})
    sections, numbers = cross_supervision.analyse(cells, results, tmp_path)
    figure = numbers["figure5"]["knowledge"][0]
    assert figure["supervision"] == 4.0 and figure["imitation"] == 3.0
    for metric in ("consistency", "knowledge", "rejection"):
        assert imread(tmp_path / f"figure5_{metric}.png").shape[2] in (3, 4)
    document = StudyDocument("cross-supervision", "q", [Section("Cells", [], cells_table(cells, results)), *sections],
                             data=numbers)
    files = write_document(document, tmp_path / "doc", cells, results)
    html = files["html"].read_text()
    assert hostile not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("data:image/png;base64,") == 3
    markdown = files["markdown"].read_text()
    # columns in the order the cells name them: supervisor, then seed; rejection (1 + 0) / 2 turns
    assert ("| imitation | weak | &lt;script&gt;alert(1)&lt;/script&gt; | 1.00 [1.000, 1.000] | 3.00 [3.000, 3.000] "
            "| 0.50 [0.500, 0.500] | 24 |") in markdown
    record = json.loads(files["json"].read_text())
    assert record["claims"]["identity"]["ours"].startswith("supported: 1 of 1")
