"""Parsing and repair of query lists.

`fixtures/builtin_query_outputs.jsonl` holds real answers of the builtin model
(SmolLM2-135M-Instruct Q4_1, served by llama.cpp) to the query-simulation prompt, captured
from `ditto simulate` runs (seeds 0-2) on 2026-11-26; each `expected` list was labelled by
hand: the questions a careful reader would take from that text, at most 3.
"""

import json
from pathlib import Path

import pytest

from ditto.simulate.query_parsing import parse_queries

FIXTURES = [json.loads(line) for line in (Path(__file__).parent / "fixtures" / "builtin_query_outputs.jsonl").open()]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f"{i}-{f['lang']}" for i, f in enumerate(FIXTURES)])
def test_real_builtin_outputs(fixture):
    parsed = parse_queries(fixture["raw"], expected=3)
    assert parsed.questions == fixture["expected"]
    assert (parsed.method == "failed") == (not fixture["expected"])


def test_clean_json_list():
    parsed = parse_queries('["Where do you live?", "Who is your best friend?"]')
    assert parsed.questions == ["Where do you live?", "Who is your best friend?"]
    assert parsed.method == "json"


@pytest.mark.parametrize(
    "text",
    [
        '```json\n["Where do you live?", "Who is your best friend?",]\n```',
        "Sure! Here they are: ['Where do you live?', 'Who is your best friend?']",
        '{"questions": ["Where do you live?", "Who is your best friend?"]}',
        '[{"question": "Where do you live?"}, {"question": "Who is your best friend?"}]',
        "[“Where do you live?”, “Who is your best friend?”]",
        "1. Where do you live?\n2) Who is your best friend?",
        "- Question 1: Where do you live?\n- Question 2: Who is your best friend?",
    ],
)
def test_repairs_common_breakage(text):
    assert parse_queries(text).questions == ["Where do you live?", "Who is your best friend?"]


def test_keeps_complete_strings_of_a_cut_off_list():
    parsed = parse_queries('["Where do you live?", "Who is your best friend?", "What do you think of the')
    assert parsed.questions == ["Where do you live?", "Who is your best friend?"]
    assert parsed.method == "truncated-json"


def test_rejects_empty_duplicate_overlong_and_placeholder_items():
    long_question = "Why " + "very " * 80 + "long?"
    parsed = parse_queries(
        json.dumps(["", "Where do you live?", "where do you live", long_question, "Question one?", "Question two?"])
    )
    assert parsed.questions == ["Where do you live?"]
    reasons = sorted(reason for _, reason in parsed.rejected)
    assert reasons == ["duplicate", "empty", "not a question", "not a question", "too long"]


def test_chinese_questions():
    parsed = parse_queries('["你住在哪里？", "你最好的朋友是谁", "第一个问题？", "唐朝的诗人"]')
    assert parsed.questions == ["你住在哪里？", "你最好的朋友是谁"]


def test_caps_at_expected_count():
    assert len(parse_queries('["Who?", "What now?", "Why so?", "How come?"]', expected=2).questions) == 2


def test_text_without_questions_fails_cleanly():
    parsed = parse_queries("I am a helpful assistant. Have a nice day.")
    assert parsed.questions == [] and parsed.method == "failed"
