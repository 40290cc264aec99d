"""The released script's rules, one by one, on answers where they are easy to get wrong."""

import pytest

from ditto.evaluate.official_parsing import (
    official_choice,
    official_consistency_score,
    official_knowledge,
    official_knowledge_score,
    official_rejection,
    official_rejection_score,
)


def test_the_verdict_is_the_greedy_bracket_of_the_fixed_sentence_in_the_items_language():
    assert official_choice("x\nThe most suitable role is [Li Bai].", "en") == "Li Bai"
    # greedy: a second bracket on the same line is swallowed, as `(.*)` does
    assert official_choice("The most suitable role is [Li Bai] or [Du Fu]", "en") == "Li Bai] or [Du Fu"
    assert official_choice("The most suitable role is Li Bai.", "en") is None
    assert official_choice("The Most Suitable Role Is [Li Bai]", "en") is None  # case-sensitive
    assert official_choice("最符合的角色为[李白]", "en") is None  # only the item's language
    assert official_choice("最符合的角色为[李白]。", "zh") == "李白"
    assert official_choice("最符合的角色为【李白】", "zh") is None


def test_a_turn_scores_the_share_of_matched_verdicts_naming_the_label_and_0_without_any():
    assert official_consistency_score(["Li Bai", None, "Du Fu"], "Li Bai") == 0.5
    assert official_consistency_score([None, None], "Li Bai") == 0.0


def test_rejection_takes_only_exact_digits_and_the_first_seen_wins_a_tie():
    assert [official_rejection(t) for t in ("0", "1", "1.", " 1", "Yes", "1\n")] == [0, 1, None, None, None, None]
    assert official_rejection_score([1, 0]) == 1 and official_rejection_score([0, 1]) == 0
    assert official_rejection_score([None, 0, 1, 1]) == 1
    assert official_rejection_score([None, None]) is None  # where the script raises IndexError


@pytest.mark.parametrize(
    "text, expected",
    [("Good.\n7", 7), ("Good.\nScore: 8", 8), ("Good.\n 9 ", 9), ("Good.\n+10", 10), ("Good.\n0", 0),
     ("Good.\n12", 12), ("Good.\n7.5", None), ("Good.\n**7**", None), ("Good.\nScore: 7/10", None),
     ("7\n", None), ("评分：7", None)],
)
def test_knowledge_is_int_of_the_last_line_without_score_colon(text, expected):
    assert official_knowledge(text) == expected


def test_one_unreadable_knowledge_answer_loses_the_turn():
    assert official_knowledge_score([7, 8, 9]) == 8
    assert official_knowledge_score([7, None, 9]) is None
