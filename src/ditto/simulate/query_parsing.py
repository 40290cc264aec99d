"""Turning a model's answer to the query-writing prompt into clean questions.

Small models rarely return the clean JSON list the prompt asks for: they wrap it in code
fences, leave trailing commas, use single quotes, stop half-way through a string, return
`{"questions": [...]}` or a list of objects, or write a numbered list instead. Each of
those is repaired here; what still fails is reported as a failure with the raw text kept.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from dataclasses import dataclass, field

MAX_QUESTION_CHARS = 300
MIN_QUESTION_CHARS = 4
QUESTION_KEYS = ("question", "query", "q", "text", "content", "问题")

FENCE = re.compile(r"```[a-zA-Z]*\s*|```")
TRAILING_COMMA = re.compile(r",\s*([\]}])")
SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
STRING_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
LIST_MARKER = re.compile(r"^\s*(?:[-*•#]+|\(?\d{1,2}[.)、:]|Q\d+[.:)]|问题\d*[：:])\s*")
# "Question 1:", "Question one -", "Q:", "问题一：" before the question itself.
LABEL = re.compile(
    r"^\s*(?:question|query|q)\s*(?:\d+|one|two|three|four|five)?\s*[:.)-]\s*|^\s*问题[一二三四五\d]*\s*[：:]\s*",
    re.IGNORECASE,
)
# The prompt's own example items, which small models copy back.
PLACEHOLDERS = re.compile(
    r"^(?:question|query)\s*(?:\d+|one|two|three|four|five)\s*[?:.]?$|^第[一二三四五]个问题[？?]?$", re.IGNORECASE
)
QUESTION_WORDS = re.compile(
    r"^(?:what|who|whom|whose|where|when|why|how|which|do|does|did|are|is|was|were|can|could|would|will|"
    r"should|have|has|had|may|tell|describe|explain|share|any)\b",
    re.IGNORECASE,
)
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
CHINESE_QUESTION = re.compile(r"吗|呢|什么|怎么|怎样|哪|谁|为什么|为何|如何|多少|几|是否|请问|能否|可否|有没有")


@dataclass
class ParsedQueries:
    questions: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    method: str = "failed"


def _json_candidates(text: str) -> list[str]:
    """Substrings that may hold the JSON value: from the first bracket to its last partner."""
    candidates = []
    for opener, closer in (("[", "]"), ("{", "}")):
        start = text.find(opener)
        if start == -1:
            continue
        end = text.rfind(closer)
        candidates.append(text[start : end + 1] if end > start else text[start:])
    candidates.sort(key=lambda c: text.find(c))
    return candidates


# What decoding arbitrary text can raise: bad syntax, integers past Python's digit limit
# (ValueError), nesting past the recursion limit, unhashable keys ({[1]: 2}), null bytes.
DECODE_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)


def _string_content(literal: str) -> str:
    """The text of a JSON string literal's inside; its raw text when an escape is broken."""
    try:
        return json.loads(f'"{literal}"', strict=False)
    except DECODE_ERRORS:
        return literal


def _load(candidate: str) -> tuple[object, str] | None:
    try:
        return json.loads(candidate), "json"
    except DECODE_ERRORS:
        pass
    repaired = TRAILING_COMMA.sub(r"\1", candidate.translate(SMART_QUOTES))
    try:
        return json.loads(repaired), "repaired-json"
    except DECODE_ERRORS:
        pass
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" in the model's text
            warnings.simplefilter("ignore")
            value = ast.literal_eval(repaired)
        return value, "repaired-json"
    except DECODE_ERRORS:
        pass
    complete_strings = [_string_content(s) for s in STRING_LITERAL.findall(repaired)]
    keys = {k.lower() for k in QUESTION_KEYS}
    strings = [s for s in complete_strings if s.lower() not in keys]
    if strings:
        return strings, "truncated-json"
    return None


def _flatten(value: object) -> list[str] | None:
    """Questions from a list of strings, a list of objects, or an object holding a list."""
    if isinstance(value, dict):
        for item in value.values():
            if isinstance(item, list):
                return _flatten(item)
        texts = [v for v in value.values() if isinstance(v, str)]
        return texts or None
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                text = next((item[k] for k in QUESTION_KEYS if isinstance(item.get(k), str)), None)
                text = text or next((v for v in item.values() if isinstance(v, str)), None)
                if text:
                    out.append(text)
        return out
    return None


def _from_lines(text: str) -> list[str]:
    """List items first; when none of them is a question, any line ending in a question mark."""
    lines = [line.strip() for line in text.splitlines()]
    marked = [LIST_MARKER.sub("", line) for line in lines if LIST_MARKER.match(line) or LABEL.match(line)]
    if any(is_question(_clean(item)) for item in marked):
        return marked
    return [line for line in lines if line.endswith(("?", "？"))]


def _clean(question: str) -> str:
    question = LONE_SURROGATE.sub("\ufffd", question)  # a JSON escape such as "\\ud800"
    question = LIST_MARKER.sub("", question.strip())
    question = LABEL.sub("", question.strip().strip("\"'“”"))
    return question.strip().strip("\"'“”").strip()


def is_question(text: str) -> bool:
    """A question mark, an interrogative opening, or (Chinese) an interrogative particle."""
    if PLACEHOLDERS.match(text):
        return False
    if text.endswith(("?", "？")):
        return True
    if re.search(r"[\u4e00-\u9fff]", text):
        return bool(CHINESE_QUESTION.search(text))
    return bool(QUESTION_WORDS.match(text))


def _normal_form(question: str) -> str:
    return re.sub(r"[\W_]+", "", question.casefold())


def parse_queries(text: str, expected: int | None = None) -> ParsedQueries:
    """Questions found in `text`, cleaned and checked; `expected` caps how many are kept."""
    result = ParsedQueries()
    body = FENCE.sub("", text).strip()
    raw: list[str] | None = None
    for candidate in _json_candidates(body):
        loaded = _load(candidate)
        if loaded is not None:
            raw = _flatten(loaded[0])
            if raw:
                result.method = loaded[1]
                break
    if not raw:
        raw = _from_lines(body)
        result.method = "list" if raw else "failed"
    return kept_questions(raw, expected, result)


def kept_questions(raw: list[str], expected: int | None = None, result: ParsedQueries | None = None) -> ParsedQueries:
    """The questions of `raw` that pass the checks (cleaned, not empty, not too long, not a
    repeat, a question), the others in `rejected` with the reason; `expected` caps how many
    are kept. The one filter for questions read from free text and from a valid object."""
    result = result if result is not None else ParsedQueries(method="structured")
    seen: set[str] = set()
    for item in raw:
        question = _clean(item)
        key = _normal_form(question)
        if len(question) < MIN_QUESTION_CHARS or not key:
            result.rejected.append((item, "empty"))
        elif len(question) > MAX_QUESTION_CHARS:
            result.rejected.append((item, "too long"))
        elif key in seen:
            result.rejected.append((item, "duplicate"))
        elif not is_question(question):
            result.rejected.append((item, "not a question"))
        else:
            seen.add(key)
            result.questions.append(question)
    if expected is not None:
        result.questions = result.questions[:expected]
    if not result.questions:
        result.method = "failed"
    return result
