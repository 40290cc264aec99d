"""The report's "Judge reliability" section, its statements of the difference between models, and
its self-judging warning, on run directories written by hand.

Every number the tests expect is worked out by hand in the comments, or (the one paired
interval that is not a constant) by a plain resampling loop written here, never copied from
the code's output.
"""

import json
import re

import markupsafe
import numpy as np
import pytest
from matplotlib.image import imread

from ditto.errors import DittoError
from ditto.evaluate.agreement import compare, read_judged_items
from ditto.evaluate.human_labels import read_labels
from ditto.report import build_report
from ditto.report.cautions import self_judge_warning
from ditto.report.collect import read_run
from ditto.report.reliability import AgreementFile
from tests.evaluate.test_agreement import NAMES, judged_record, label_records, write_lines
from tests.report.test_build_report import DITTO, IMG, SCRIPT, SEED, item, table_rows, write_jsonl

# agreement.json: the pairs and figures of tests/evaluate/test_agreement.py's fixture, whose
# docstring `expected_figures` works them out by hand; the intervals are written here.
AGREEMENT = {
    # (judge, human) positions: confusion by (people row, judge column): (0,0) 3, (1,0) 1, (1,1) 1, (2,2) 1
    # p_o = 5/6 = 0.83, kappa = 5/7 = 0.71
    "consistency": {"kappa": 0.7143, "accuracy": 0.8333, "n": 6,
                    "ci": {"kappa": [0.4, 1.0], "accuracy": [0.5, 1.0]}},
    # p_o = 4/6 = 0.67, kappa = 1/3 = 0.33
    "rejection": {"kappa": 0.3333, "accuracy": 0.6667, "n": 6, "ci": {"kappa": [-0.2, 0.8], "accuracy": None}},
    # spearman 33/35 = 0.94, kendall 13/15 = 0.87, qwk 388/418 = 0.93
    "knowledge": {"spearman": 0.9429, "kendall": 0.8667, "qwk": 0.9282, "n": 6,
                  "ci": {"spearman": [0.6, 1.0], "kendall": [0.5, 1.0], "qwk": [0.7, 1.0]}},
    # alpha: consistency 1/7 = 0.14, rejection 0, knowledge undefined here (null)
    "annotators": {"count": 3, "alpha": {"consistency": 0.1429, "rejection": 0.0, "knowledge": None},
                   "units": {"consistency": 3, "rejection": 2, "knowledge": 3}},
    "unmatched": {"judged_only": 5, "human_only": 4},
    "labels": {"query_valid_ignored": 2},
    "pairs": {
        "consistency": [[0, 0], [0, 0], [1, 1], [0, 1], [2, 2], [0, 0]],
        "rejection": [[1, 1], [0, 0], [0, 1], [0, 0], [1, 0], [1, 1]],
        "knowledge": [[7, 6], [5, 4], [9, 8], [3, 3], [2, 1], [6, 7]],
    },
}


def metric_figures(kappa, accuracy, spearman, n):
    return {
        "consistency": {"kappa": kappa, "accuracy": accuracy, "n": n, "ci": {"kappa": [kappa - 0.2, kappa + 0.1]}},
        "rejection": {"kappa": None, "accuracy": 1.0, "n": n, "ci": {"kappa": None, "accuracy": None}},
        "knowledge": {"spearman": spearman, "kendall": None, "qwk": None, "n": n, "ci": {}},
    }


STABILITY = {
    "judge": "qwen-72b", "judged_file": "runs/seed/judged.jsonl", "items": 10, "turns": 20,
    # after rotating the candidates: 15 of 20 turns name the same character (0.75), 4 the same
    # position (0.20), 1 another candidate (0.05)
    "position_bias": {"permutation": "rotate-1", "n": 20, "follows_character": 0.75, "follows_position": 0.2,
                      "other": 0.05, "ci": {"follows_character": [0.55, 0.9]}},
    "test_retest": {"seed": 7, **metric_figures(0.6, 0.8, 0.5, 20)},
    "judge_judge": {"other_judge": IMG, **metric_figures(0.4, 0.7, 0.3, 19)},
}


def make_run(directory, records, info=None, agreement=None, stability=None):
    directory.mkdir(parents=True)
    write_jsonl(directory / "judged.jsonl", records)
    for name, content in (("run_info.json", info), ("agreement.json", agreement), ("stability.json", stability)):
        if content is not None:
            (directory / name).write_text(json.dumps(content), encoding="utf-8")
    return directory


@pytest.fixture()
def checked(tmp_path):
    """seed: judged by qwen-72b, checked against people and for stability; Ditto: unchecked."""
    seed = make_run(tmp_path / "seed", SEED, {"label": "seed", "model": "SmolLM2-135M", "judge": "qwen-72b"},
                    AGREEMENT, STABILITY)
    ditto = make_run(tmp_path / "ditto", DITTO, {"label": "Ditto", "model": "ditto-135M", "judge": "qwen-72b"})
    return [seed, ditto]


def section(markdown: str) -> str:
    return markdown.split("## Judge reliability")[1].split("\n## ")[0]


def test_the_section_shows_every_figure_with_its_interval_and_turns(checked, tmp_path):
    files = build_report(checked, tmp_path / "report")
    markdown = files["markdown"].read_text(encoding="utf-8")
    judge = section(markdown)
    rows = table_rows(judge)
    assert rows[""] == ["seed"]  # only the checked run has a column
    assert rows["Judge"] == ["qwen-72b"]
    assert rows["Judge vs people: consistency, Cohen's kappa"] == ["0.71 [0.400, 1.000]"]
    assert rows["Judge vs people: consistency, accuracy"] == ["0.83 [0.500, 1.000]"]
    assert rows["Judge vs people: consistency, turns"] == ["6"]
    assert rows["Judge vs people: rejection, Cohen's kappa"] == ["0.33 [-0.200, 0.800]"]
    assert rows["Judge vs people: rejection, accuracy"] == ["0.67"]  # no interval in the file
    assert rows["Judge vs people: knowledge, Spearman"] == ["0.94 [0.600, 1.000]"]
    assert rows["Judge vs people: knowledge, Kendall"] == ["0.87 [0.500, 1.000]"]
    assert rows["Judge vs people: knowledge, quadratic-weighted kappa"] == ["0.93 [0.700, 1.000]"]
    assert rows["Annotators"] == ["3"]
    assert rows["Annotators: Krippendorff's alpha, consistency"] == ["0.14 (3 turns labelled by 2+)"]
    assert rows["Annotators: Krippendorff's alpha, knowledge"] == ["n/a (3 turns labelled by 2+)"]
    assert rows["Position check: order"] == ["rotate-1"]
    assert rows["Position check: follows the character"] == ["0.75 [0.550, 0.900]"]
    assert rows["Position check: follows the position"] == ["0.20"]
    assert rows["Position check: names another candidate"] == ["0.05"]
    assert rows["Position check: turns"] == ["20"]
    assert rows["Test-retest: seed"] == ["7"]
    assert rows["Test-retest: consistency, Cohen's kappa"] == ["0.60 [0.400, 0.700]"]  # 0.6 - 0.2, 0.6 + 0.1
    assert rows["Test-retest: knowledge, Kendall"] == ["n/a"]
    assert rows["Second judge: consistency, accuracy"] == ["0.70"]
    assert rows["Second judge: knowledge, turns"] == ["19"]
    assert "Landis and Koch" in judge and "Not checked (no agreement.json or stability.json): Ditto." in judge
    assert "has not been checked" not in markdown
    assert "![Consistency: the judge's choice against people's" in judge and "(judge_consistency.png)" in judge
    # The section sits after the scores and before the examples.
    assert markdown.index("## Scores") < markdown.index("## Judge reliability") < markdown.index("## Example")


def test_the_judge_charts_are_real_pngs_in_both_reports(checked, tmp_path):
    files = build_report(checked, tmp_path / "report")
    assert files["confusion"].name == "judge_consistency.png" and files["knowledge"].name == "judge_knowledge.png"
    for name in ("confusion", "knowledge"):
        assert files[name].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        height, width, _ = imread(files[name]).shape
        assert height >= 300 and width >= 300
    page = files["html"].read_text(encoding="utf-8")
    assert page.count('<img src="data:image/png;base64,') == 4  # scores, radar, confusion, knowledge
    assert "<h2>Judge reliability</h2>" in page and "0.71 [0.400, 1.000]" in page
    # A later report without the files removes the charts the earlier one left in the folder.
    (checked[0] / "agreement.json").unlink()
    again = build_report(checked, tmp_path / "report")
    assert "confusion" not in again and not (tmp_path / "report" / "judge_consistency.png").exists()


def test_without_the_files_the_report_says_the_judge_is_unchecked(tmp_path):
    runs = [make_run(tmp_path / "seed", SEED), make_run(tmp_path / "ditto", DITTO)]
    files = build_report(runs, tmp_path / "report")
    assert set(files) == {"markdown", "html", "bars", "radar"}
    judge = section(files["markdown"].read_text(encoding="utf-8"))
    assert "The judge has not been checked against people or for stability" in judge
    for command in ("`ditto annotate serve`", "`ditto eval agreement", "`ditto eval stability`"):
        assert command in judge
    assert "|" not in judge  # no table
    page = files["html"].read_text(encoding="utf-8")
    assert "The judge has not been checked" in page and "<code>ditto annotate serve</code>" in page


def test_agreement_written_by_compare_is_read_by_the_report(tmp_path):
    """The reader's layout is the writer's: compare's output on the agreement tests' fixture."""
    judged = write_lines(tmp_path / "judged.jsonl", [judged_record(i) for i in NAMES])
    labels = write_lines(tmp_path / "labels.jsonl", label_records())
    items = read_judged_items(judged)
    figures = compare(items, read_labels([labels], {item.id: item.candidates for item in items}), 50).figures
    read = AgreementFile.model_validate(figures)
    assert read.consistency.n == 6 and read.pairs.knowledge == [tuple(pair) for pair in AGREEMENT["pairs"]["knowledge"]]


def broken(path_name, change):
    def apply(directory):
        content = json.loads(json.dumps(AGREEMENT if path_name == "agreement.json" else STABILITY))
        change(content)
        (directory / path_name).write_text(json.dumps(content), encoding="utf-8")
    return apply


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda d: (d / "agreement.json").write_text('{"consistency": '), r"agreement.json:1: not valid JSON"),
        (lambda d: (d / "stability.json").write_text("[1, 2]"), r"stability.json: expected a JSON object"),
        (broken("agreement.json", lambda c: c.pop("knowledge")), r"agreement.json: 'knowledge': Field required"),
        (broken("agreement.json", lambda c: c["pairs"]["knowledge"].append([11, 3])),
         r"agreement.json: 'pairs.knowledge.6.0': Input should be less than or equal to 10"),
        (broken("agreement.json", lambda c: c["pairs"]["consistency"].pop()),
         r"agreement.json: '\(top level\)': Value error, pairs.consistency holds 5 turns, but consistency.n is 6"),
        (broken("stability.json", lambda c: c["position_bias"].update(follows_character=1.5)),
         r"stability.json: 'position_bias.follows_character': Input should be less than or equal to 1"),
        (broken("stability.json", lambda c: c["test_retest"]["consistency"].update(kappa="high")),
         r"stability.json: 'test_retest.consistency.kappa': Input should be a valid number"),
    ],
)
def test_a_malformed_file_is_one_line_naming_it(tmp_path, write, message):
    run = make_run(tmp_path / "seed", SEED)
    write(run)
    with pytest.raises(DittoError, match=message) as error:
        read_run(run)
    assert "\n" not in str(error.value) and str(run) in str(error.value)


# Differences between models.


def dialogues(count, consistency, knowledge, rejection_verdicts):
    """`count` two-turn en dialogues; the per-turn values are functions of (dialogue, turn)."""
    return [
        item(f"en-{d}", "en", "human", ["q1", "q2"], ["a1", "a2"], [0, 1],
             [consistency(d, t) for t in (0, 1)], [rejection_verdicts(d, t) for t in (0, 1)],
             [knowledge(d, t) for t in (0, 1)])
        for d in range(count)
    ]


def differences(markdown: str) -> list[str]:
    part = markdown.split("## Differences between models")[1].split("\n## ")[0]
    return [line[2:] for line in part.splitlines() if line.startswith("- ")]


def test_a_clearly_higher_a_clearly_lower_and_an_identical_metric(tmp_path):
    # 20 shared dialogues of 2 turns. Ditto's consistency is the seed's + 0.5 on every turn, so
    # every resample's difference is 0.50: interval [0.500, 0.500]. Its knowledge is 2 lower on
    # every turn: lower by 2.00 [2.000, 2.000]. Rejection verdicts are the same: difference 0
    # on every turn, interval [0, 0], which does not exclude 0.
    seed = dialogues(20, lambda d, t: 0.25 * t, lambda d, t: 5 + t, lambda d, t: t * (d % 2))
    ditto = dialogues(20, lambda d, t: 0.25 * t + 0.5, lambda d, t: 3 + t, lambda d, t: t * (d % 2))
    runs = [make_run(tmp_path / "seed", seed, {"label": "seed"}),
            make_run(tmp_path / "ditto", ditto, {"label": "Ditto"})]
    files = build_report(runs, tmp_path / "report", bootstrap=200)
    markdown = files["markdown"].read_text(encoding="utf-8")
    assert differences(markdown) == [
        "Consistency (0-1): Ditto is higher than seed by 0.50 [0.500, 0.500], over 40 turns of 20 dialogues "
        "scored in both.",
        "Knowledge (1-10): Ditto is lower than seed by 2.00 [2.000, 2.000], over 40 turns of 20 dialogues "
        "scored in both.",
        "Rejection (0-1): no difference between Ditto and seed can be told apart from noise at this size "
        "(40 turns of 20 dialogues scored in both; difference +0.00, interval [0.000, 0.000]).",
    ]
    # Under the warnings, above the scores, in both reports.
    assert markdown.index("## Differences between models") < markdown.index("## Scores")
    page = files["html"].read_text(encoding="utf-8")
    assert "<li>Consistency (0-1): Ditto is higher than seed by 0.50 [0.500, 0.500]" in page
    assert page.index("Differences between models") < page.index("<h2>Scores</h2>")


def test_a_few_dialogues_never_make_a_verdict(tmp_path):
    # 3 dialogues, Ditto 0.5 higher on every turn: the interval is [0.5, 0.5], but 3 < 10 dialogues.
    seed = dialogues(3, lambda d, t: 0.25, lambda d, t: 5, lambda d, t: 0)
    ditto = dialogues(3, lambda d, t: 0.75, lambda d, t: 5, lambda d, t: 0)
    runs = [make_run(tmp_path / "seed", seed), make_run(tmp_path / "ditto", ditto)]
    markdown = build_report(runs, tmp_path / "report", bootstrap=50)["markdown"].read_text(encoding="utf-8")
    assert differences(markdown)[0] == (
        "Consistency (0-1): no difference between ditto and seed can be told apart from noise at this size "
        "(6 turns of 3 dialogues scored in both, fewer than the 10 an interval needs; difference +0.50, "
        "interval [0.500, 0.500])."
    )


def test_the_paired_interval_matches_a_plain_resampling_loop(tmp_path):
    # 30 dialogues; the seed's consistency is 0.25 everywhere, Ditto's varies by dialogue, so the
    # per-turn differences are known: dialogue d differs by ((d % 5) - 1) / 4 on both turns,
    # i.e. -0.25, 0, 0.25, 0.5, 0.75 repeating: mean (-0.25 + 0 + 0.25 + 0.5 + 0.75) / 5 = 0.25.
    # Knowledge: Ditto skips (0) turn 1 of every even dialogue, which then counts for neither run.
    seed = dialogues(30, lambda d, t: 0.25, lambda d, t: 6, lambda d, t: 0)
    ditto = dialogues(30, lambda d, t: 0.25 + ((d % 5) - 1) / 4, lambda d, t: 0 if t and d % 2 == 0 else 7,
                      lambda d, t: 0)
    runs = [make_run(tmp_path / "seed", seed), make_run(tmp_path / "ditto", ditto)]
    draws = 4000
    markdown = build_report(runs, tmp_path / "report", bootstrap=draws, seed=3)["markdown"].read_text(encoding="utf-8")
    consistency, knowledge, _ = differences(markdown)
    mean, low, high = (float(x) for x in re.search(r" by (\S+) \[(\S+), (\S+)\]", consistency).groups())
    assert mean == 0.25
    # The same interval by a loop: draw 30 dialogues with replacement, average their 60 turn differences.
    per_dialogue = np.array([((d % 5) - 1) / 4 for d in range(30)])
    rng = np.random.default_rng(12345)  # another generator than the report's: agreement up to resampling noise
    resampled = [per_dialogue[rng.integers(0, 30, size=30)].mean() for _ in range(draws)]
    expected_low, expected_high = np.percentile(resampled, [2.5, 97.5])
    assert abs(low - expected_low) < 0.03 and abs(high - expected_high) < 0.03
    assert low > 0  # 0.25 with a standard error of about 0.354 / sqrt(30) = 0.065: clearly above 0
    # Knowledge: 45 turns in both (30 + 15 odd dialogues' second turns), each 7 - 6 = +1.
    assert knowledge == ("Knowledge (1-10): ditto is higher than seed by 1.00 [1.000, 1.000], over 45 turns of "
                         "30 dialogues scored in both.")


def test_runs_judged_by_different_judges_are_noted(tmp_path):
    runs = [make_run(tmp_path / "a", SEED, {"label": "a", "judge": "gpt-4"}),
            make_run(tmp_path / "b", DITTO, {"label": "b", "judge": "qwen-72b"})]
    markdown = build_report(runs, tmp_path / "report", bootstrap=20)["markdown"].read_text(encoding="utf-8")
    assert "- Note: b was judged by qwen-72b, a by gpt-4: the differences mix the models with the judges." in markdown


# The self-judging warning.


def test_a_self_judged_run_is_warned_about_once(tmp_path):
    info = {"label": "seed", "model": "SmolLM2-135M", "judge": "SmolLM2-135M"}
    runs = [make_run(tmp_path / "seed", SEED, info), make_run(tmp_path / "ditto", DITTO, {"judge": "SmolLM2-135M"})]
    files = build_report(runs, tmp_path / "alone")
    markdown = files["markdown"].read_text(encoding="utf-8")
    assert markdown.count("**Warning:**") == 1
    assert "> **Warning:** seed: the judge is the tested model itself (SmolLM2-135M)" in markdown
    assert markdown.index("**Warning:**") < markdown.index("## Differences between models")
    assert files["html"].read_text(encoding="utf-8").count('class="warning"') == 1
    # `ditto run` warns in its own words ("the seed model"); the report does not repeat it.
    given = self_judge_warning("SmolLM2-135M", "the seed model")
    markdown = build_report(runs, tmp_path / "given", warnings=[given])["markdown"].read_text(encoding="utf-8")
    assert markdown.count("**Warning:**") == 1 and "the judge is the seed model itself (SmolLM2-135M)" in markdown


def test_names_from_the_files_are_escaped_everywhere(tmp_path):
    hostile = {"label": SCRIPT, "model": IMG, "judge": IMG}  # self-judged, so the name is in the warning too
    stability = dict(STABILITY, judge=SCRIPT)
    runs = [make_run(tmp_path / "seed", SEED, {"label": "seed"}),
            make_run(tmp_path / "ditto", DITTO, hostile, AGREEMENT, stability)]
    files = build_report(runs, tmp_path / "report", bootstrap=20)
    markdown = files["markdown"].read_text(encoding="utf-8")
    page = files["html"].read_text(encoding="utf-8")
    assert SCRIPT not in markdown and "<img" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;: the judge is the tested model itself" in markdown
    assert "stability.json checks the judge &lt;script&gt;" in markdown  # another judge than the run's
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert str(markupsafe.escape(IMG)) in page and str(markupsafe.escape(SCRIPT)) in page
