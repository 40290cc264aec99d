"""Reading the judge's answers: which candidate it named, which score it gave, whether it saw a refusal.

The official script reads each answer with one strict pattern (`most suitable role is \\[(.*)\\]`,
`int(last line)`, an answer that is exactly "0" or "1") and drops or crashes on anything else.
Judges other than GPT-4 drift from those formats: other brackets, bold, Chinese punctuation,
full-width digits, a partial name, "Score: 7/10". These functions accept those shapes and
return None when the answer does not say one clear thing, so a caller can count and keep the
unparsed raw text instead of guessing.
"""

from __future__ import annotations

import re
import unicodedata

# Phrases that introduce the judge's final choice; the official prompt asks for the first
# of each list. The text after the last of them is read before anything else.
VERDICT_PHRASES = {
    "en": [
        r"most\s+(?:suitable|fitting|likely|appropriate)\s+(?:role|character|identity)\s*(?:is|would\s+be|:)",
        r"(?:role|character|identity)\s+(?:that\s+)?best\s+fits?\s+(?:the\s+responder\s+)?(?:is|:)",
        r"best\s+fit\s+is",
        r"final\s+answer\s*(?:is|:)",
        r"(?:the\s+)?answer\s+is",
    ],
    "zh": [
        r"最(?:符合|合适|匹配|可能)的(?:角色|身份)(?:身份)?(?:为|是)",
        r"(?:角色|身份)(?:应该|应当)?(?:为|是)",
        r"答案(?:为|是)",
    ],
}
# Brackets a judge puts around the name; the verdict is their content when one opens it.
BRACKETS = {
    "[": "]", "【": "】", "「": "」", "『": "』", "《": "》", "“": "”", '"': '"', "'": "'", "(": ")", "**": "**"
}
# Where an unbracketed verdict ends: the name comes before the first of these.
CLAUSE_END = re.compile(r"[\n。，,;；!！?？(（]|\.(?:\s|$)|\s(?:because|since|as|who|which|due)\s")
# A mention right after one of these is the judge ruling a candidate out.
NEGATION = re.compile(r"(?:\bnot|n't|rather\s+than|instead\s+of|不是|而非|并非|不像)\s*(?:the\s+)?$")
# Name parts too common to identify anyone on their own.
STOPWORDS = {
    "the", "of", "and", "von", "van", "de", "la", "le", "mr", "mrs", "ms", "dr",
    "sir", "lord", "king", "queen", "saint", "st",
}
DOTS = str.maketrans({"・": "·", "•": "·", "‧": "·", "∙": "·"})


def _normalise(text: str) -> str:
    """Full-width forms to ASCII, one kind of name dot, lower case, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(DOTS).casefold()
    return re.sub(r"[ \t]+", " ", text)


def _name_forms(candidates: list[str], aliases: dict[str, list[str]]) -> list[tuple[str, str, bool]]:
    """(form, candidate, is_full_name) for every way of naming each candidate.

    Parts of a name ("Holmes" of "Sherlock Holmes", "福尔摩斯" of "夏洛克·福尔摩斯") count only
    when they belong to a single candidate, so "Holmes" never picks between two Holmeses.
    """
    full = []
    for candidate in candidates:
        for name in [candidate, *aliases.get(candidate, [])]:
            if _normalise(name).strip():
                full.append((_normalise(name).strip(), candidate))
    full_names = {form for form, _ in full}
    owners: dict[str, set[str]] = {}
    for form, candidate in full:
        for part in re.split(r"[\s·]+", form):
            long_enough = len(part) >= (2 if not part.isascii() else 3)
            if long_enough and part not in STOPWORDS and part not in full_names:
                owners.setdefault(part, set()).add(candidate)
    parts = [(part, next(iter(owner)), False) for part, owner in owners.items() if len(owner) == 1]
    return [(form, candidate, True) for form, candidate in full] + parts


def _mentions(text: str, forms: list[tuple[str, str, bool]]) -> list[tuple[int, int, str, bool]]:
    """(start, end, candidate, is_full_name) of every mention not ruled out by a negation.

    "Watson" inside "not John Watson" is ruled out with the full name around it.
    """
    found, negated = [], []
    for form, candidate, is_full in forms:
        # Latin names must stand as whole words; Chinese names have no word boundaries.
        edge = r"(?<![a-z0-9])" if form[0].isascii() else ""
        tail = r"(?![a-z0-9])" if form[-1].isascii() else ""
        for match in re.finditer(edge + re.escape(form) + tail, text):
            if NEGATION.search(text[max(0, match.start() - 16) : match.start()]):
                negated.append((match.start(), match.end()))
            else:
                found.append((match.start(), match.end(), candidate, is_full))
    return [m for m in found if not any(start <= m[0] and m[1] <= end for start, end in negated)]


def _named_in(span: str, forms: list[tuple[str, str, bool]]) -> set[str]:
    mentions = _mentions(span, forms)
    full = {candidate for _, _, candidate, is_full in mentions if is_full}
    return full or {candidate for _, _, candidate, _ in mentions}


def _verdict_span(rest: str) -> str:
    """The name part of the text after a verdict phrase: a bracket's content, else the clause."""
    rest = rest.lstrip(" :-—")  # "is: X", "为：X" (the full-width colon is ASCII by now)
    for opener, closer in BRACKETS.items():
        if rest.startswith(opener):
            end = rest.find(closer, len(opener))
            if end != -1:
                return rest[len(opener) : end]
    rest = rest.lstrip("*\"'“「【[")  # an opening mark whose partner never came
    end = CLAUSE_END.search(rest)
    return rest[: end.start()] if end else rest


def parse_choice(
    text: str, candidates: list[str], lang: str, aliases: dict[str, list[str]] | None = None
) -> str | None:
    """The candidate (as given) that the judge chose, or None when it named none or hedged.

    The verdict phrase ("The most suitable role is [X]", "最符合的角色为[X]") decides; the
    phrases of `lang` are tried first, then the other language's. Without a verdict that names
    a candidate, the candidate mentioned last wins (judges reason first, conclude last).
    `aliases` maps a candidate to other names the judge may use for it.
    """
    forms = _name_forms(candidates, aliases or {})
    if not forms:
        return None
    normalised = _normalise(text)
    languages = [lang] + [other for other in VERDICT_PHRASES if other != lang]
    for language in languages:
        phrases = [m for p in VERDICT_PHRASES.get(language, []) for m in re.finditer(p, normalised)]
        for match in sorted(phrases, key=lambda m: m.end(), reverse=True):
            named = _named_in(_verdict_span(normalised[match.end() :]), forms)
            if len(named) == 1:
                return named.pop()
            if len(named) > 1:
                return None  # the verdict itself names two candidates
    mentions = _mentions(normalised, forms)
    if not mentions:
        return None
    last_end = max(end for _, end, _, _ in mentions)
    last = {candidate for _, end, candidate, _ in mentions if end == last_end}
    return last.pop() if len(last) == 1 else None


NUMBER = r"(\d+(?:\.\d+)?)"
# "Score: 7", "score 7/10", "rating of 8", "评分：7", "得分为 6"
LABELLED_SCORE = re.compile(
    r"(?:score|rating|评分|得分|分数|打分|rate\s+(?:it|this\s+\w+)\s+(?:an?\s+)?)\s*(?:is|of|为|是)?\s*[:=]?\s*\**\s*"
    + NUMBER
)
# "7/10", "7 out of 10", "7分" (but not the "10分" of "满分10分", the scale's maximum)
SCALED_SCORE = re.compile(r"(?<![\d.])(?<!满分)" + NUMBER + r"\s*(?:/\s*10(?![\d])|out\s+of\s+10\b|分)")
# "分数：1（错误或空洞）到 10", "score 1 to 10": the scale, echoed from the prompt, not a score.
RANGE_AFTER = re.compile(r"\s*(?:\([^)]*\))?\s*(?:到|至|to|-|–|~)\s*\d")
LINE_DECORATION = re.compile(r"^(?:score|rating|评分|得分|分数)?\s*[:=]?\s*|(?:\s*(?:/\s*10|分|out of 10))?\s*[.。!]?$")


def _strip_marks(line: str) -> str:
    return re.sub(r"[*#`\[\]【】()\"'“”「」]", "", line).strip()


def parse_score(text: str) -> float | None:
    """A 1-10 score, or None when there is none or it is out of range.

    The official format comes first: a last line that holds only a number (possibly bold,
    bracketed, "Score: 7", "7/10" or "7分"). Otherwise the last labelled score in the text
    ("Score: 7", "评分：7", "7/10", "7 out of 10", "7分"). A bare number inside the analysis
    ("born in 1854", "3 brothers") and the scale echoed from the prompt ("分数：1 到 10") are
    never taken for a score.
    """
    normalised = _normalise(text)
    lines = [_strip_marks(line) for line in normalised.splitlines() if _strip_marks(line)]
    value = None
    if lines:
        bare = LINE_DECORATION.sub("", lines[-1]).strip()
        if re.fullmatch(NUMBER, bare):
            value = float(bare)
    if value is None:
        matches = [
            match for match in [*LABELLED_SCORE.finditer(normalised), *SCALED_SCORE.finditer(normalised)]
            if not RANGE_AFTER.match(normalised, match.end())
        ]
        if matches:
            value = float(max(matches, key=lambda m: m.start()).group(1))
    if value is None or not 1 <= value <= 10:
        return None
    return value


# Whole answers (after marks and a label are stripped) and what they mean: 1 = refused.
# Negated forms come first so "未拒绝" is never read as "拒绝".
REJECTION_WORDS = [
    (r"未拒绝|没有拒绝|没拒绝|不拒绝|未拒答|没有拒答|不是拒答|"
     r"not refused|did not refuse|no refusal|does not refuse", 0),
    (r"拒绝|拒答|refused|refuses|refusal", 1),
    (r"1|yes|true|是|是的", 1),
    (r"0|no|false|否|不是|不", 0),
]
ANSWER_LABEL = re.compile(
    r"^(?:final\s+)?(?:answer|judgement|judgment|result|output|label|回答|答案|判断|结果|输出)\s*[:=]?\s*"
)
LABELLED_REJECTION = re.compile(
    r"(?:answer|judgement|judgment|result|答案|判断|结果)\s*(?:is|为|是)?\s*[:=]\s*\**\s*([01])(?![\d.])"
)
LEADING_YES_NO = re.compile(r"^(?:(yes|no|是的|是|否|不是)(?:[\s,.!:，。！：]|$)|([01])(?!\.?\d))")


def _rejection_word(line: str) -> int | None:
    bare = ANSWER_LABEL.sub("", _strip_marks(line)).strip().rstrip(".。!！")
    for pattern, value in REJECTION_WORDS:
        if re.fullmatch(pattern, bare):
            return value
    return None


def parse_rejection(text: str) -> int | None:
    """1 when the judge says the character refused, 0 when it says it answered, else None.

    Read in order: the whole answer ("1", "[1]", "Answer: 0", "yes", "否", "未拒绝"), a
    labelled answer anywhere ("Answer: 1" after an explanation), the first and the last line
    (None if they disagree), and an answer that opens with yes/no ("No, the role answers").
    """
    normalised = _normalise(text).strip()
    whole = _rejection_word(normalised)
    if whole is not None:
        return whole
    labelled = LABELLED_REJECTION.findall(normalised)
    if labelled:
        return int(labelled[-1])
    lines = [line for line in normalised.splitlines() if line.strip()]
    if lines:
        ends = {_rejection_word(lines[0]), _rejection_word(lines[-1])} - {None}
        if len(ends) == 1:
            return ends.pop()
        if len(ends) > 1:
            return None
    opening = LEADING_YES_NO.match(normalised)
    if opening:
        return 1 if (opening.group(1) or opening.group(2)) in ("yes", "是的", "是", "1") else 0
    return None
