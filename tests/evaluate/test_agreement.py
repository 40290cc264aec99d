"""The judge against people (`ditto eval agreement`), on a judged file and labels written by hand.

Every expected figure below is worked out in the comments from the confusion counts, ranks
or coincidence matrix of the fixture, not by running the libraries on the same arrays.
"""

import json

import numpy as np
import pytest

from ditto.errors import DittoError
from ditto.evaluate.agreement import (
    annotator_alpha,
    compare,
    human_verdicts,
    judge_verdicts,
    read_judged_items,
    round_half_up,
)
from ditto.evaluate.human_labels import HumanLabel, read_labels, write_labels
from tests.in_process import ditto_in_process

NAMES = {  # each item's candidates in its own order, so a name maps to a different position per item
    "A": ["Sherlock Holmes", "Irene Adler", "John Watson", "Mycroft Holmes"],
    "B": ["Irene Adler", "Sherlock Holmes", "John Watson", "Mycroft Holmes"],
    "C": ["John Watson", "Mycroft Holmes", "Sherlock Holmes", "Irene Adler"],
    "D": ["Sherlock Holmes", "Irene Adler", "John Watson", "Mycroft Holmes"],
}

# Judge samples per item and turn: consistency as candidate NAMES (None: unparsed), then
# rejection votes, then knowledge scores. The verdict each gives is on the right.
TURNS = {
    "A": [
        (["Sherlock Holmes"] * 3, [1, 0], [6, 7]),  # consistency 0; rejection tie -> first seen 1; 6.5 -> 7
        (["John Watson", "Sherlock Holmes", "Sherlock Holmes"], [0, 0, 1], [5, 5, 5]),  # 0; 0; 5
        (["Sherlock Holmes"], [0], [5]),  # judged, never labelled
    ],
    "B": [
        (["Sherlock Holmes", "Sherlock Holmes", "Mycroft Holmes"], [0], [9, 9]),  # 1 (B's order); 0; 9
        (["Sherlock Holmes", "Irene Adler", "Irene Adler"], [0, None], [3, None, 3]),  # 0; 0; 3
    ],
    "C": [
        (["Sherlock Holmes", None, "Sherlock Holmes"], [1, 1, 0], [2, 1.5, 2.5]),  # 2; 1; 2
        (["Irene Adler", "John Watson"], [1], [6]),  # tie of 3 and 0 -> smallest 0; 1; 6
    ],
    "D": [([None, None], [1], [5])],  # no consistency verdict; rejection and knowledge never labelled
}

# People's labels: (item, turn, metric, value, annotator). The verdict of each turn is on the right.
LABELS = [
    ("A", 0, "consistency", "Sherlock Holmes", "ann1"), ("A", 0, "consistency", "Sherlock Holmes", "ann2"),  # 0
    ("A", 1, "consistency", "Sherlock Holmes", "ann1"),  # 0
    ("B", 0, "consistency", "Sherlock Holmes", "ann1"),  # 1 (B's order)
    ("B", 1, "consistency", "Sherlock Holmes", "ann1"), ("B", 1, "consistency", "Irene Adler", "ann2"),
    ("B", 1, "consistency", "Sherlock Holmes", "ann3"),  # 1, 0, 1 -> majority 1
    ("C", 0, "consistency", "Sherlock Holmes", "ann1"),  # 2
    ("C", 1, "consistency", "Sherlock Holmes", "ann1"), ("C", 1, "consistency", "John Watson", "ann2"),  # 2, 0 -> 0
    ("D", 0, "consistency", "Irene Adler", "ann1"),  # the judge has no verdict here: human only
    ("A", 0, "knowledge", 6, "ann1"), ("A", 0, "knowledge", 6, "ann2"),  # 6
    ("A", 1, "knowledge", 4, "ann1"),  # 4
    ("B", 0, "knowledge", 8, "ann1"), ("B", 0, "knowledge", 7, "ann2"), ("B", 0, "knowledge", 9, "ann3"),  # 8
    ("B", 1, "knowledge", 2, "ann1"), ("B", 1, "knowledge", 3, "ann2"),  # median 2.5 -> 3 (half up)
    ("C", 0, "knowledge", 1, "ann1"),  # 1
    ("C", 1, "knowledge", 7, "ann1"),  # 7
    ("A", 0, "rejection", 1, "ann1"), ("A", 0, "rejection", 1, "ann2"),  # 1
    ("A", 1, "rejection", 0, "ann1"),  # 0
    ("B", 0, "rejection", 1, "ann1"),  # 1
    ("B", 1, "rejection", 1, "ann1"), ("B", 1, "rejection", 0, "ann2"),  # tie -> smallest 0
    ("C", 0, "rejection", 0, "ann1"),  # 0
    ("C", 1, "rejection", 1, "ann1"),  # 1
    ("Z", 0, "rejection", 1, "ann1"), ("Z", 0, "consistency", "Nobody", "ann1"),  # unknown item: human only
    ("B", 5, "knowledge", 4, "ann1"),  # past B's last turn: human only
    ("A", 0, "query_valid", 1, "ann1"), ("A", 1, "query_valid", 0, "ann2"),  # counted, not compared
]


def samples(values):
    return [{"raw": f"answer: {value}", "value": value} for value in values]


def judged_record(item_id, official=False, names=None, turns=None):
    names = names or NAMES[item_id]
    turns = turns or TURNS[item_id]
    judgements = []
    for chosen, rejection, knowledge in turns:
        # tolerant parsing stores the chosen candidate's position; official parsing its bracketed name
        consistency = chosen if official else [None if name is None else names.index(name) for name in chosen]
        judgements.append({"consistency": samples(consistency), "rejection": samples(rejection),
                           "knowledge": samples(knowledge)})
    n = len(turns)
    return {
        "id": item_id, "lang": "en", "label": names[0], "system": f"You are {names[0]}.",
        "prompts": [f"question {t}" for t in range(n)], "answers": [f"answer {t}" for t in range(n)],
        "candidates": [f"[{name}] A person of Baker Street." for name in names],
        "rejection_labels": [0] * n, "consist_scores": [None] * n, "reject_scores": [None] * n,
        "knowledge_scores": [None] * n, "judgements": judgements,
    }


def write_lines(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def label_records(rows=LABELS):
    return [dict(zip(("item", "turn", "metric", "value", "annotator"), row)) for row in rows]


@pytest.fixture
def files(tmp_path):
    judged = write_lines(tmp_path / "judged.jsonl", [judged_record(i) for i in NAMES])
    labels = write_lines(tmp_path / "labels.jsonl", label_records())
    return judged, labels


def read_both(judged, labels):
    items = read_judged_items(judged)
    return items, read_labels([labels], {item.id: item.candidates for item in items})


def test_judge_verdicts_follow_the_documented_rules(files):
    items, _ = read_both(*files)
    verdicts = judge_verdicts(items)
    assert [verdicts[(i, t, "consistency")] for i, t in [("A", 0), ("A", 1), ("B", 0), ("B", 1), ("C", 0), ("C", 1)]] \
        == [0, 0, 1, 0, 2, 0]  # C1: a tie of 3 and 0 goes to the smallest position
    assert verdicts[("A", 0, "rejection")] == 1  # a tie goes to the first sample's vote, as turn_scores does
    assert verdicts[("A", 0, "knowledge")] == 7  # mean 6.5 rounds half up (round() would give 6)
    assert verdicts[("C", 0, "knowledge")] == 2  # mean of 2, 1.5 and 2.5
    assert ("D", 0, "consistency") not in verdicts  # no readable sample: no verdict
    assert verdicts[("D", 0, "rejection")] == 1


def test_human_verdicts_majority_and_median(files):
    items, labels = read_both(*files)
    verdicts = human_verdicts(labels, {item.id: item.candidates for item in items})
    assert verdicts[("B", 1, "consistency")] == 1  # Sherlock, Irene, Sherlock; Sherlock is B's position 1
    assert verdicts[("C", 1, "consistency")] == 0  # positions 2 and 0 tie: the smallest
    assert verdicts[("B", 0, "knowledge")] == 8  # median of 8, 7, 9
    assert verdicts[("B", 1, "knowledge")] == 3  # median 2.5 rounds half up
    assert verdicts[("B", 1, "rejection")] == 0  # 1 and 0 tie: the smallest
    assert verdicts[("Z", 0, "consistency")] == "Nobody"  # an unknown item keeps the name
    assert not any(metric == "query_valid" for _, _, metric in verdicts)


def test_round_half_up():
    assert [round_half_up(x) for x in (6.5, 2.5, 2.4999, 7.0, 9.5)] == [7, 3, 2, 7, 10]


def expected_figures():
    """The figures of the fixture, worked out by hand.

    consistency (judge, human): (0,0) (0,0) (1,1) (0,1) (2,2) (0,0); rows judge, columns human:
      judge 0: 3, 1, 0 (4); judge 1: 0, 1, 0 (1); judge 2: 0, 0, 1 (1); human totals 3, 2, 1
      p_o = 5/6, p_e = (4*3 + 1*2 + 1*1) / 36 = 15/36, kappa = (30/36 - 15/36) / (21/36) = 5/7
    rejection: (1,1) (0,0) (0,1) (0,0) (1,0) (1,1): p_o = 4/6, marginals 3/3 and 3/3, p_e = 1/2,
      kappa = (2/3 - 1/2) / (1/2) = 1/3
    knowledge: judge 7 5 9 3 2 6, human 6 4 8 3 1 7
      ranks 5 3 6 2 1 4 and 4 3 6 2 1 5: sum d^2 = 2, spearman = 1 - 6*2 / (6*35) = 33/35
      one discordant pair (A0, C1) of 15, no ties: kendall = (14 - 1) / 15 = 13/15
      quadratic kappa: observed sum of squared differences 1+1+1+0+1+1 = 5; expected
      (n*sum(a^2) + n*sum(b^2) - 2*sum(a)*sum(b)) / n = (6*204 + 6*175 - 2*32*29) / 6 = 418/6,
      qwk = 1 - 5 / (418/6) = 388/418
    """
    return {
        "consistency": {"kappa": round(5 / 7, 4), "accuracy": round(5 / 6, 4), "n": 6},
        "rejection": {"kappa": round(1 / 3, 4), "accuracy": round(4 / 6, 4), "n": 6},
        "knowledge": {"spearman": round(33 / 35, 4), "kendall": round(13 / 15, 4), "qwk": round(388 / 418, 4),
                      "n": 6},
    }


def point_figures(figures):
    return {metric: {k: v for k, v in figures[metric].items() if k != "ci"}
            for metric in ("consistency", "rejection", "knowledge")}


def test_figures_match_the_hand_computation(files):
    result = compare(*read_both(*files), bootstrap=0)
    assert point_figures(result.figures) == expected_figures()
    assert result.figures["consistency"]["ci"] == {"kappa": None, "accuracy": None}  # no resample asked for


def test_pairs_are_the_compared_verdicts_in_turn_order(files):
    # The (judge, human) verdicts of expected_figures' docstring, turns A0 A1 B0 B1 C0 C1:
    # consistency as candidate positions (B's Sherlock is position 1, C's is 2).
    pairs = compare(*read_both(*files), bootstrap=0).figures["pairs"]
    assert pairs == {
        "consistency": [[0, 0], [0, 0], [1, 1], [0, 1], [2, 2], [0, 0]],
        "rejection": [[1, 1], [0, 0], [0, 1], [0, 0], [1, 0], [1, 1]],
        "knowledge": [[7, 6], [5, 4], [9, 8], [3, 3], [2, 1], [6, 7]],
    }
    assert all(type(value) is int for metric in pairs.values() for pair in metric for value in pair)  # JSON-ready


def test_unmatched_turns_and_ignored_labels_are_counted(files):
    result = compare(*read_both(*files), bootstrap=0)
    # judged only: A2's three metrics, D0's rejection and knowledge; human only: D0's consistency
    # (no readable sample), Z0's rejection and consistency (unknown item), B5's knowledge (no such turn)
    assert result.figures["unmatched"] == {"judged_only": 5, "human_only": 4}
    assert result.figures["labels"] == {"query_valid_ignored": 2}
    assert result.unknown_items == ["Z"]


def test_krippendorff_alpha_of_the_annotators(files):
    """Units labelled by two or more annotators; alpha from the coincidence matrix by hand.

    consistency: A0 (0,0), B1 (1,0,1), C1 (2,0): o00 = 2, o01 = o10 = 1 (B1's pairs weigh 1/2),
      o11 = 1, o02 = o20 = 1; n0 = 4, n1 = 2, n2 = 1, n = 7; D_o = 4/7,
      D_e = (49 - 16 - 4 - 1) / 42 = 2/3; alpha = 1 - (4/7) / (2/3) = 1/7
    rejection: A0 (1,1), B1 (1,0): D_o = 2/4, n1 = 3, n0 = 1, D_e = (16 - 9 - 1) / 12 = 1/2; alpha = 0
    knowledge (ordinal): A0 (6,6), B0 (8,7,9), B1 (2,3): D_o = (2*1 + 1*1 + 1*1 + 1*4) / 7 = 8/7
      with delta(c,k) = (sum of n_g from c to k - (n_c + n_k) / 2)^2; D_e = 2/42 * 192.5 = 385/42;
      alpha = 1 - (8/7) / (385/42) = 337/385
    """
    annotators = compare(*read_both(*files), bootstrap=0).figures["annotators"]
    assert annotators == {
        "count": 3,
        "alpha": {"consistency": round(1 / 7, 4), "rejection": 0.0, "knowledge": round(337 / 385, 4)},
        "units": {"consistency": 3, "rejection": 2, "knowledge": 3},
    }


def test_alpha_on_a_tiny_case_and_the_textbook_example():
    # Two annotators, units (1,1) (1,0) (0,0) (0,0): o11 = 2, o10 = o01 = 1, o00 = 4; n1 = 3, n0 = 5,
    # n = 8; D_o = 2/8, D_e = 2*5*3 / (8*7) = 30/56; alpha = 1 - (2/8) / (30/56) = 8/15
    tiny = {("x", unit, "rejection"): {"a": first, "b": second}
            for unit, (first, second) in enumerate([(1, 1), (1, 0), (0, 0), (0, 0)])}
    assert annotator_alpha(tiny, "rejection") == (round(8 / 15, 4), 4)
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units,
    # nominal alpha = 0.743 (unit 12 has one value and is no unit of the computation)
    rows = {"A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None], "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None], "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]}
    textbook = {}
    for observer, values in rows.items():
        for unit, value in enumerate(values):
            if value is not None:
                textbook.setdefault(("x", unit, "consistency"), {})[observer] = value
    alpha, units = annotator_alpha(textbook, "consistency")
    assert round(alpha, 3) == 0.743 and units == 11
    # knowledge is ordinal: (1,2) (2,3) (1,1) gives 19/36 (interval would give 0.5)
    ordinal = {("x", u, "knowledge"): {"a": a, "b": b} for u, (a, b) in enumerate([(1, 2), (2, 3), (1, 1)])}
    assert annotator_alpha(ordinal, "knowledge") == (round(19 / 36, 4), 3)
    # one annotator: no alpha
    assert annotator_alpha({("x", 0, "knowledge"): {"a": 3}}, "knowledge") == (None, 0)


def test_official_parsing_names_give_the_same_figures(tmp_path, files):
    official = [judged_record(i, official=True) for i in NAMES]
    official[0]["judgements"][0]["consistency"].append({"raw": "[Moriarty]", "value": "Moriarty"})  # no candidate
    path = write_lines(tmp_path / "official.jsonl", official)
    result = compare(*read_both(path, files[1]), bootstrap=0)
    assert point_figures(result.figures) == expected_figures()
    assert isinstance(read_judged_items(path)[0].judgements[0].consistency[0].value, str)


def bootstrap_records(count=12):
    """`count` one-turn-per-metric dialogues whose judge and human verdicts disagree now and then."""
    records, labels = [], []
    for n in range(count):
        item_id = f"item{n}"
        judge, human = n % 3 == 0, n % 4 == 0
        turns = [(["Sherlock Holmes"] if judge else ["Irene Adler"], [int(judge)], [n % 10 + 1])]
        records.append(judged_record(item_id, names=NAMES["A"], turns=turns))
        labels += [(item_id, 0, "consistency", "Sherlock Holmes" if human else "Irene Adler", "ann1"),
                   (item_id, 0, "rejection", int(human), "ann1"), (item_id, 0, "knowledge", (n * 7) % 10 + 1, "ann1")]
    return records, labels


def test_bootstrap_interval_holds_the_estimate_and_is_reproducible(tmp_path):
    records, rows = bootstrap_records()
    judged = write_lines(tmp_path / "judged.jsonl", records)
    labels = write_lines(tmp_path / "labels.jsonl", label_records(rows))
    items, human = read_both(judged, labels)
    first = compare(items, human, bootstrap=200, seed=7).figures
    assert compare(items, human, bootstrap=200, seed=7).figures == first
    assert compare(items, human, bootstrap=200, seed=8).figures["knowledge"]["ci"] != first["knowledge"]["ci"]
    for metric in ("consistency", "rejection", "knowledge"):
        for name, (low, high) in first[metric]["ci"].items():
            assert low <= first[metric][name] <= high, (metric, name)
            assert low < high, (metric, name)


def test_resamples_where_a_figure_is_undefined_are_skipped_and_counted(tmp_path):
    # Two dialogues, one turn each: judge and people both say 1 in the first, 0 in the second. Kappa
    # is 1, but a resample drawing the same dialogue twice holds one class only: kappa undefined.
    judged = write_lines(tmp_path / "judged.jsonl", [
        judged_record(item_id, names=NAMES["A"], turns=[(["Sherlock Holmes"], [vote], [5])])
        for item_id, vote in (("one", 1), ("zero", 0))
    ])
    labels = write_lines(tmp_path / "labels.jsonl", label_records([("one", 0, "rejection", 1, "a"),
                                                                   ("zero", 0, "rejection", 0, "a")]))
    result = compare(*read_both(judged, labels), bootstrap=200, seed=3)
    rng = np.random.default_rng(3)  # the resampling draws dialogues, two of two, with replacement
    same_twice = sum(len(set(rng.integers(0, 2, size=2))) == 1 for _ in range(200))
    assert result.skipped["rejection"] == {"kappa": same_twice, "accuracy": 0}
    assert 0 < same_twice < 200
    assert result.figures["rejection"]["kappa"] == 1.0
    assert result.figures["rejection"]["ci"] == {"kappa": [1.0, 1.0], "accuracy": [1.0, 1.0]}


def test_one_class_only_is_null(tmp_path):
    solo = judged_record("solo", names=NAMES["A"], turns=[(["Sherlock Holmes"], [1], [5])])
    judged = write_lines(tmp_path / "judged.jsonl", [solo])
    labels = write_lines(tmp_path / "labels.jsonl", label_records([("solo", 0, "rejection", 1, "a"),
                                                                   ("solo", 0, "knowledge", 5, "a")]))
    figures = compare(*read_both(judged, labels), bootstrap=20).figures
    assert figures["rejection"]["kappa"] is None and figures["rejection"]["accuracy"] == 1.0
    assert figures["knowledge"]["spearman"] is None and figures["knowledge"]["ci"]["spearman"] is None
    assert figures["consistency"] == {"kappa": None, "accuracy": None, "n": 0,
                                      "ci": {"kappa": None, "accuracy": None}}


# The command.


def test_json_output_has_exactly_the_documented_keys(files, tmp_path):
    judged, labels = files
    out = tmp_path / "agreement.json"
    result = ditto_in_process("eval", "agreement", str(judged), str(labels), "--json", "--bootstrap", "50",
                              "--out", str(out))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert list(figures) == ["consistency", "rejection", "knowledge", "annotators", "unmatched", "labels", "pairs"]
    for metric, names in (("consistency", ["kappa", "accuracy"]), ("rejection", ["kappa", "accuracy"]),
                          ("knowledge", ["spearman", "kendall", "qwk"])):
        assert list(figures[metric]) == [*names, "n", "ci"]
        assert list(figures[metric]["ci"]) == names
        assert all(len(interval) == 2 for interval in figures[metric]["ci"].values())
    assert list(figures["annotators"]) == ["count", "alpha", "units"]
    assert list(figures["annotators"]["alpha"]) == list(figures["annotators"]["units"]) == \
        ["consistency", "rejection", "knowledge"]
    assert figures["unmatched"] == {"judged_only": 5, "human_only": 4}
    assert figures["labels"] == {"query_valid_ignored": 2}
    assert point_figures(figures) == expected_figures()
    assert json.loads(out.read_text(encoding="utf-8")) == figures
    assert "items labelled but not in the judged file (1): Z" in result.stderr


def test_table_output(files):
    result = ditto_in_process("eval", "agreement", *map(str, files), "--bootstrap", "50")
    assert result.returncode == 0, result.stderr
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines() if "│" in line]
    kappa = next(row for row in rows if row[:2] == ["consistency", "Cohen's kappa"])
    assert kappa[2] == f"{5 / 7:.4f}" and kappa[4] == "6"
    qwk = next(row for row in rows if row[1] == "quadratic-weighted kappa")
    assert qwk[2] == f"{388 / 418:.4f}"
    alpha = next(row for row in rows if row[0] == "rejection" and len(row) == 3)
    assert alpha[1:] == ["0.0000", "2"]
    assert "5 judged but not labelled, 4 labelled but not judged" in result.stdout


def test_several_label_files_are_read_together(files, tmp_path):
    judged, _ = files
    records = label_records()
    first = write_lines(tmp_path / "ann_a.jsonl", records[:20])
    second = write_lines(tmp_path / "ann_b.jsonl", records[20:])
    result = ditto_in_process("eval", "agreement", str(judged), str(first), str(second), "--json",
                              "--bootstrap", "0")
    assert point_figures(json.loads(result.stdout)) == expected_figures()


BAD_LABELS = [
    ({"item": "A", "turn": 0, "metric": "consistency", "value": "Moriarty", "annotator": "a"},
     "'Moriarty' is no consistency candidate of item 'A'"),
    ({"item": "A", "turn": 0, "metric": "knowledge", "value": 11, "annotator": "a"}, "knowledge value 11"),
    ({"item": "A", "turn": 0, "metric": "knowledge", "value": 7.5, "annotator": "a"}, "7.5"),
    ({"item": "A", "turn": 0, "metric": "rejection", "value": 2, "annotator": "a"}, "rejection value 2 is not 0 or 1"),
    ({"item": "A", "turn": 0, "metric": "fluency", "value": 1, "annotator": "a"}, "metric"),
    ({"item": "A", "turn": -1, "metric": "rejection", "value": 1, "annotator": "a"}, "turn"),
    ({"item": "A", "turn": "0", "metric": "rejection", "value": 1, "annotator": "a"}, "turn"),
    ({"item": 7, "turn": 0, "metric": "rejection", "value": 1, "annotator": "a"}, "item"),
    ({"item": "A", "turn": 0, "metric": "rejection", "value": 1}, "annotator"),
    ({"item": "A", "turn": 0, "metric": "rejection", "value": 1, "annotator": "ann1"}, "already labelled"),
    ('{"item": "A", "turn": 0,', "not valid JSON"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LABELS)
def test_a_bad_label_is_one_line_with_file_and_line(files, tmp_path, bad, message):
    judged, _ = files
    good = [json.dumps(record) for record in label_records()[:3]]  # ann1 labels A0's rejection below
    good.append(json.dumps({"item": "A", "turn": 0, "metric": "rejection", "value": 1, "annotator": "ann1"}))
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join([*good, bad if isinstance(bad, str) else json.dumps(bad)]) + "\n", encoding="utf-8")
    result = ditto_in_process("eval", "agreement", str(judged), str(path), "--json")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:5: "), lines
    assert message in lines[0]
    assert result.stdout == ""


def test_a_judged_file_without_samples_or_with_repeated_ids_is_refused(tmp_path, files):
    _, labels = files
    plain = judged_record("A") | {"judgements": []}
    path = write_lines(tmp_path / "scores_only.jsonl", [plain])
    with pytest.raises(DittoError, match="no judge samples"):
        read_judged_items(path)
    twice = write_lines(tmp_path / "twice.jsonl", [judged_record("A"), judged_record("A")])
    with pytest.raises(DittoError, match=r"twice.jsonl:2: judged item id 'A' repeats \(line 1\)"):
        read_judged_items(twice)
    result = ditto_in_process("eval", "agreement", str(tmp_path / "missing.jsonl"), str(labels))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_written_labels_read_back(tmp_path):
    labels = [HumanLabel(item="A", turn=1, metric="knowledge", value=7, annotator="ann1"),
              HumanLabel(item="A", turn=1, metric="consistency", value="Irene Adler", annotator="ann1"),
              HumanLabel(item="B", turn=0, metric="query_valid", value=0, annotator="ann2")]
    path = tmp_path / "labels.jsonl"
    write_labels(path, labels)
    assert read_labels([path]) == labels
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0]) == {
        "item": "A", "turn": 1, "metric": "knowledge", "value": 7, "annotator": "ann1"}
    with pytest.raises(ValueError, match="not an integer 1-10"):
        HumanLabel(item="A", turn=1, metric="knowledge", value=0, annotator="ann1")
