"""WikiRoleEval scoring against means worked out by hand, in both record layouts."""

import json
import re

import numpy as np
import pytest

from ditto.errors import DittoError
from ditto.evaluate.scoring import plain_scores, read_judged, score_records, turn_table

# The official judged layout: eval fields under "meta"; knowledge 0 and null are not judged.
OFFICIAL_EN = {
    "messages": [{"role": "system", "content": "You are Sherlock Holmes."}],
    "meta": {"lang": "en", "label": "Sherlock Holmes", "rejection_labels": [0, 1, 0], "category": "human"},
    "consist_scores": [1.0, 0.5, 0.0],
    "reject_scores": [0, 1, 1],  # vs labels 0, 1, 0 -> right, right, wrong
    "knowledge_scores": [8.0, 0, None],  # -> 8, skipped, skipped
}
# Our layout (JudgedItem): eval fields at the top level; an unparsed rejection verdict is null.
OURS_ZH = {
    "id": "zh-1", "lang": "zh", "label": "孙悟空", "category": "fictional", "system": "你是孙悟空。",
    "prompts": ["你是谁？", "你会用手机吗？"], "answers": ["俺老孙！", "那是何物？"],
    "rejection_labels": [1, 0],
    "consist_scores": [0.75, 0.25],
    "reject_scores": [1, None],  # vs labels 1, 0 -> right, wrong (null counts as wrong, as officially)
    "knowledge_scores": [6.0, 9.0],
}
OURS_EN = {
    "id": "en-2", "lang": "en", "label": "Irene Adler", "system": "You are Irene Adler.",
    "prompts": ["Who are you?"], "answers": ["The woman."],
    "rejection_labels": [0],
    "consist_scores": [1.0],
    "reject_scores": [0],  # right
    "knowledge_scores": [5],
}
RECORDS = [OFFICIAL_EN, OURS_ZH, OURS_EN]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_turn_table_has_one_row_per_turn_in_both_layouts():
    table = turn_table(RECORDS)
    assert list(table["lang"]) == ["en", "en", "en", "zh", "zh", "en"]
    assert list(table["category"]) == ["human"] * 3 + ["fictional"] * 2 + ["unknown"]
    assert list(table["record"]) == [0, 0, 0, 1, 1, 2]
    assert list(table["rejection"]) == [1, 1, 0, 1, 0, 1]
    assert np.isnan(table["knowledge"]).tolist() == [False, True, True, False, False, False]
    assert np.isnan(table["consistency"]).tolist() == [False] * 6


def test_means_match_the_official_aggregation(tmp_path):
    records = read_judged(write_jsonl(tmp_path / "judged.jsonl", RECORDS))
    scores = score_records(records, bootstrap=200, seed=0)
    # all (6 turns): consistency (1 + .5 + 0 + .75 + .25 + 1) / 6 = 3.5 / 6 = 0.5833 -> 0.58
    #   rejection (1 + 1 + 0 + 1 + 0 + 1) / 6 = 0.6667 -> 0.67
    #   knowledge (8 + 6 + 9 + 5) / 4 judged turns = 7.0
    assert scores["all"] == {"consistency": 0.58, "knowledge": 7.0, "rejection": 0.67, "turns": 6}
    # en (turns of records 0 and 2): consistency (1 + .5 + 0 + 1) / 4 = 0.625 -> 0.62 (numpy rounds
    #   half to even, as pandas' .round in the official script); rejection 3 / 4; knowledge (8 + 5) / 2
    assert scores["en"] == {"consistency": 0.62, "knowledge": 6.5, "rejection": 0.75, "turns": 4}
    # zh (record 1): consistency (.75 + .25) / 2; rejection 1 / 2; knowledge (6 + 9) / 2
    assert scores["zh"] == {"consistency": 0.5, "knowledge": 7.5, "rejection": 0.5, "turns": 2}
    assert list(scores) == ["all", "en", "zh", "ci", "by_category"]
    assert scores["by_category"] == {
        "fictional": {"consistency": 0.5, "knowledge": 7.5, "rejection": 0.5, "turns": 2},
        # human: consistency 1.5 / 3; rejection 2 / 3 = 0.67; knowledge 8 (one judged turn)
        "human": {"consistency": 0.5, "knowledge": 8.0, "rejection": 0.67, "turns": 3},
        "unknown": {"consistency": 1.0, "knowledge": 5.0, "rejection": 1.0, "turns": 1},
    }
    scores_with_extra = dict(scores, mtbench_roleplay=7.5)  # what `ditto eval run` adds to scores.json
    assert plain_scores(scores_with_extra) == {
        "all": {"consistency": 0.58, "knowledge": 7.0, "rejection": 0.67},
        "en": {"consistency": 0.62, "knowledge": 6.5, "rejection": 0.75},
        "zh": {"consistency": 0.5, "knowledge": 7.5, "rejection": 0.5},
    }


def test_intervals_contain_the_mean_and_stay_within_the_dialogue_means():
    scores = score_records(RECORDS, bootstrap=500, seed=0)
    assert set(scores["ci"]) == {"all", "en", "zh"}
    unrounded = {"consistency": 3.5 / 6, "knowledge": 7.0, "rejection": 4 / 6}
    # A resample of whole dialogues can do no better than the best dialogue nor worse than the
    # worst: per dialogue, consistency is .5, .5, 1; knowledge 8, 7.5, 5; rejection 2/3, 1/2, 1.
    bounds = {"consistency": (0.5, 1.0), "knowledge": (5.0, 8.0), "rejection": (0.5, 1.0)}
    for metric, (low, high) in scores["ci"]["all"].items():
        assert low <= unrounded[metric] <= high
        assert bounds[metric][0] <= low <= high <= bounds[metric][1]
    # The same seed gives the same intervals.
    assert score_records(RECORDS, bootstrap=500, seed=0)["ci"] == scores["ci"]


# Twelve dialogues of varied scores (a 1/3, a null consistency, knowledge 0), in two languages.
VARIED = [
    {"lang": ("en", "zh")[i % 2], "rejection_labels": [0, 1, 0],
     "consist_scores": [(i % 4) / 4, (i * 7 % 10) / 10, 1 / 3 if i % 5 else None],
     "reject_scores": [i % 2, 1, i % 3],
     "knowledge_scores": [1 + i % 10, 0 if i % 3 == 0 else 1 + i * 3 % 10, 7.5]}
    for i in range(12)
]


def test_intervals_of_a_seed_are_those_of_the_pandas_version():
    # Computed by the pandas implementation this numpy one replaced: the same seed draws the
    # same resamples, so a scores.json written before still matches its judged.jsonl.
    scores = score_records(VARIED, bootstrap=1000, seed=0)
    assert scores["all"] == {"consistency": 0.38, "knowledge": 5.62, "rejection": 0.61, "turns": 36}
    assert scores["ci"] == {
        "all": {"consistency": [0.304, 0.466], "knowledge": [4.844, 6.419], "rejection": [0.472, 0.75]},
        "en": {"consistency": [0.187, 0.375], "knowledge": [4.312, 6.562], "rejection": [0.667, 0.889]},
        "zh": {"consistency": [0.352, 0.575], "knowledge": [4.882, 6.938], "rejection": [0.333, 0.556]},
    }


def test_intervals_resample_dialogues_not_turns():
    # One dialogue: every resample is that dialogue, so the interval is its mean (turns resampled
    # one by one would spread from 0 to 1).
    record = dict(OURS_EN, consist_scores=[0.0, 1.0], reject_scores=[0, 0], rejection_labels=[0, 0],
                  knowledge_scores=[2, 4])
    ci = score_records([record], bootstrap=100)["ci"]["all"]
    assert ci == {"consistency": [0.5, 0.5], "knowledge": [3.0, 3.0], "rejection": [1.0, 1.0]}


def test_no_bootstrap_and_a_metric_with_no_judged_turn():
    record = dict(OURS_EN, knowledge_scores=[0])
    scores = score_records([record], bootstrap=0)
    assert scores["ci"] == {}
    assert scores["all"]["knowledge"] is None


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "judged.jsonl:2: not valid JSON"),
        (
            json.dumps({k: v for k, v in OURS_EN.items() if k != "consist_scores"}),
            "judged.jsonl:2: no 'consist_scores' list",
        ),
        (json.dumps({k: v for k, v in OURS_EN.items() if k != "lang"}), "judged.jsonl:2: no 'lang'"),
        (
            json.dumps({k: v for k, v in OURS_EN.items() if k != "rejection_labels"}),
            "judged.jsonl:2: no 'rejection_labels'",
        ),
        (
            json.dumps(dict(OURS_EN, knowledge_scores=[5, 6])),
            (
                "judged.jsonl:2: the per-turn lists differ in length (consist_scores 1, reject_scores 1, "
                "knowledge_scores 2, rejection_labels 1)"
            ),
        ),
        (json.dumps(dict(OURS_EN, knowledge_scores=["7"])), "judged.jsonl:2: knowledge_scores[0] is '7', not a number"),
    ],
)
def test_bad_lines_are_named_by_file_and_line(tmp_path, line, message):
    path = tmp_path / "judged.jsonl"
    path.write_text(json.dumps(OFFICIAL_EN) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DittoError, match=re.escape(message)):
        read_judged(path)


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(DittoError, match="no records"):
        read_judged(write_jsonl(tmp_path / "empty.jsonl", []))
    with pytest.raises(DittoError, match="cannot read it"):
        read_judged(tmp_path / "missing.jsonl")
