"""Properties of every parser of model output, on arbitrary text.

A model may answer anything: unicode of every script, control characters, numbers too big for
any type, JSON nested past the recursion limit or cut off mid-string. Whatever it writes, the
parsers must return their documented result (never raise), and what they return must obey
their contracts: questions are clean, distinct, short questions and at most `expected`; a
choice is one of the candidates or None; a score is within 1-10 or None; a rejection verdict
is 0, 1 or None. Where a well-formed answer can be written, it must be read back exactly.
"""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ditto.evaluate.judge_parsing import parse_choice, parse_rejection, parse_score
from ditto.simulate.query_parsing import (
    MAX_QUESTION_CHARS,
    MIN_QUESTION_CHARS,
    ParsedQueries,
    is_question,
    parse_queries,
)

FAST = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# Pieces of the shapes models write (and break): fences, brackets, quotes, list markers,
# labels, verdict phrases, scores, escapes, numbers no type holds, odd whitespace.
FRAGMENTS = [
    "```json\n",
    "```",
    "[",
    "]",
    "{",
    "}",
    '"',
    "'",
    ",",
    ":",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "?",
    "？",
    "1. ",
    "2) ",
    "- ",
    "* ",
    "Q1: ",
    "Question 1: ",
    "问题一：",
    '{"questions": ',
    '{"question": ',
    '"q": ',
    "\\",
    "\\u",
    "\\ud800",
    '"\\x"',
    "NaN",
    "-Infinity",
    "1e999",
    "9" * 4400,
    "0." + "1" * 400,
    "Score: ",
    "score 7/10",
    "/10",
    " out of 10",
    "分",
    "满分10分",
    "The most suitable role is ",
    "[",
    "最符合的角色为",
    "答案是",
    "not ",
    "rather than ",
    "yes",
    "no",
    "拒绝",
    "未拒绝",
    "Answer: ",
    "**",
    "【",
    "】",
    "\x00",
    "\x1b[31m",
    "\u2028",
    "\ufeff",
    "\u200b",
    "ｓｃｏｒｅ：７",
    "٣",
    "½",
    "²",
    "ﬁ",
    "﷽",
    "𝟕",
    "What do you do?",
    "Who are you?",
    "你是谁？",
    "Sherlock Holmes",
    "Holmes",
    "夏洛克·福尔摩斯",
]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["questions", "question", "q", "text", "x"]) | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@st.composite
def cut_json(draw) -> str:
    """A JSON value as written, cut off anywhere (the model ran out of tokens)."""
    text = json.dumps(draw(JSON_VALUES), ensure_ascii=draw(st.booleans()))
    return text[: draw(st.integers(0, len(text)))]


def nested(depth: int) -> str:
    opener, closer = ("[", "]") if depth % 2 else ('{"q": ', "}")
    return opener * depth + '"What is it?"' + closer * depth


MODEL_OUTPUT = st.one_of(
    st.text(),
    st.text(st.characters(codec="utf-8"), max_size=400),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=40).map("".join),
    cut_json(),
    JSON_VALUES.map(json.dumps),
    st.lists(st.text(max_size=80), max_size=8).map(json.dumps),
    st.integers(1, 5000).map(nested),
    st.integers(4000, 20000).map(lambda n: f'[{"9" * n}, "What is it?"]'),
)

# Inputs that once crashed a parser, kept so they are tried on every run.
DEEP_JSON = "[" * 5000 + '"What is it?"' + "]" * 5000
HUGE_INT = "[" + "9" * 5000 + "]"
BAD_ESCAPE = '["What is \\q it?", "Who'
CONTROL_IN_STRING = '["What\x00 is it?", "Who\nare'
UNHASHABLE_KEY = "{[1]: 'What is it?'}"
LONE_SURROGATE = '["What is \\ud800 it?"]'


def normal_form(question: str) -> str:
    return re.sub(r"[\W_]+", "", question.casefold())


def check_parsed(parsed: ParsedQueries, expected: int | None) -> None:
    assert isinstance(parsed, ParsedQueries)
    assert parsed.method in {"json", "repaired-json", "truncated-json", "list", "failed"}
    assert (parsed.method == "failed") == (not parsed.questions)
    if expected is not None:
        assert len(parsed.questions) <= expected
    keys = [normal_form(q) for q in parsed.questions]
    assert len(set(keys)) == len(keys), "duplicates kept"
    for question, key in zip(parsed.questions, keys):
        assert isinstance(question, str)
        assert question == question.strip()
        question.encode("utf-8")  # no lone surrogate: it can be written to a file
        assert key, "a question with no letter or digit"
        assert MIN_QUESTION_CHARS <= len(question) <= MAX_QUESTION_CHARS
        assert is_question(question)
    for item, reason in parsed.rejected:
        assert isinstance(item, str)
        assert reason in {"empty", "too long", "duplicate", "not a question"}


@FAST
@given(text=MODEL_OUTPUT, expected=st.none() | st.integers(0, 6))
@example(text=DEEP_JSON, expected=3)
@example(text=HUGE_INT, expected=3)
@example(text=BAD_ESCAPE, expected=3)
@example(text=CONTROL_IN_STRING, expected=3)
@example(text=UNHASHABLE_KEY, expected=3)
@example(text=LONE_SURROGATE, expected=3)
def test_parse_queries_never_raises_and_keeps_only_clean_questions(text, expected):
    check_parsed(parse_queries(text, expected=expected), expected)


@FAST
@given(text=MODEL_OUTPUT)
def test_parsed_questions_written_as_a_clean_list_read_back_unchanged(text):
    questions = parse_queries(text).questions
    again = parse_queries(json.dumps(questions, ensure_ascii=False))
    assert again.questions == questions


@FAST
@given(
    questions=st.lists(
        st.from_regex(
            r"(What|Who|Where|When|Why|How) [a-z]{2,10}( [a-z]{2,10}){0,6}\?", fullmatch=True
        ),
        min_size=1,
        max_size=6,
        unique_by=normal_form,
    ),
    expected=st.integers(1, 6),
)
def test_a_clean_json_list_of_questions_is_read_exactly(questions, expected):
    parsed = parse_queries(json.dumps(questions), expected=expected)
    assert parsed.questions == questions[:expected]
    assert parsed.method == "json"


# --- the judge's answers ---------------------------------------------------------------

CANDIDATE = st.text(max_size=20) | st.sampled_from(
    [
        "Sherlock Holmes",
        "Mycroft Holmes",
        "John Watson",
        "夏洛克·福尔摩斯",
        "孙悟空",
        "",
        " ",
        "the",
        "Q",
    ]
)
CANDIDATES = st.lists(CANDIDATE, max_size=5)
LANG = st.sampled_from(["en", "zh", "fr", ""])


@FAST
@given(text=MODEL_OUTPUT, candidates=CANDIDATES, lang=LANG, data=st.data())
def test_parse_choice_returns_a_candidate_or_none(text, candidates, lang, data):
    aliases = data.draw(
        st.dictionaries(st.sampled_from(candidates), st.lists(CANDIDATE, max_size=3))
        if candidates
        else st.just({})
    )
    choice = parse_choice(text, candidates, lang, aliases)
    assert choice is None or choice in candidates


WORDS = [
    "anna",
    "berg",
    "carlo",
    "dmitri",
    "elise",
    "farouk",
    "greta",
    "hiro",
    "ines",
    "jonas",
    "孙悟空",
    "林黛玉",
    "华生",
]


def full_names_inside(name: str, others: list[str]) -> bool:
    return any(re.search(rf"(?<![a-z]){re.escape(o)}(?![a-z])", name) for o in others)


@FAST
@given(
    candidates=st.lists(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(" ".join),
        min_size=1,
        max_size=5,
        unique=True,
    ).filter(
        lambda names: not any(full_names_inside(n, [o for o in names if o != n]) for n in names)
    ),
    data=st.data(),
    reasoning=st.text(st.characters(codec="ascii", categories=["L", "N", "Zs"]), max_size=80),
    lang=st.sampled_from(["en", "zh"]),
)
def test_a_bracketed_verdict_names_its_candidate(candidates, data, reasoning, lang):
    chosen = data.draw(st.sampled_from(candidates))
    shown = data.draw(st.sampled_from([chosen, chosen.title(), chosen.upper()]))
    template = data.draw(
        st.sampled_from(
            [
                "{r}\nThe most suitable role is [{c}]",
                "{r}\n最符合的角色为【{c}】",
                "{r}\nFinal answer: **{c}**",
            ]
        )
    )
    assert parse_choice(template.format(r=reasoning, c=shown), candidates, lang) == chosen


@FAST
@given(text=MODEL_OUTPUT)
@example(text="Score: " + "9" * 5000)
@example(text="9" * 5000 + "/10")
@example(text="0." + "1" * 5000)
def test_parse_score_is_within_1_to_10_or_none(text):
    score = parse_score(text)
    assert score is None or (isinstance(score, float) and 1 <= score <= 10)


@FAST
@given(
    analysis=st.text(),
    score=st.integers(1, 10),
    shape=st.sampled_from(["{}", "**{}**", "[{}]", "Score: {}", "{}/10", "评分：{}", "{}分"]),
)
def test_a_last_line_score_is_read_exactly(analysis, score, shape):
    assert parse_score(analysis + "\n" + shape.format(score)) == float(score)


@FAST
@given(text=MODEL_OUTPUT)
@example(text="Answer: " + "1" * 5000)
def test_parse_rejection_is_0_1_or_none(text):
    assert parse_rejection(text) in (0, 1, None)


@FAST
@given(
    verdict=st.sampled_from([0, 1]),
    shape=st.sampled_from(["{}", "[{}]", "**{}**", "Answer: {}", "答案：{}", " {} \n"]),
)
def test_an_official_rejection_answer_is_read_exactly(verdict, shape):
    assert parse_rejection(shape.format(verdict)) == verdict
