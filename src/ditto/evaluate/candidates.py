"""The four candidates of the consistency question: reading them, writing them, finding the true one.

The official eval set writes each candidate as `[Name] summary` (the paper's Figure 3:
`[Edward III of England] Edward III (13 November 1312 – 21 June 1377), ...`), and its judge
names one by the text between the brackets of "The most suitable role is [...]". Sets written
by hand often use `Name: summary` or a bare name, and Chinese ones `【Name】summary`. All of
these are read here, once; everything else works with a candidate's position in the list, so
a verdict is compared with the true candidate by index, never by re-parsing a string.
"""

from __future__ import annotations

import re

from ditto.errors import DittoError

# `[Name] summary` and `【Name】summary`: the name is the bracket's content.
BRACKETED = re.compile(r"^\s*(?:\[([^\]]+)\]|【([^】]+)】)\s*(.*)$", re.DOTALL)
# `Name: summary` (also the full-width colon and ` - `), for sets written by hand.
SEPARATORS = (": ", "：", " - ")
# About as long as the official set's candidate lines: a name and the summary's first sentence.
CANDIDATE_CHARS = 150


def split_candidate(line: str) -> tuple[str, str]:
    """(name, summary) of one candidate line; the summary is "" for a bare name."""
    match = BRACKETED.match(line)
    if match:
        return (match.group(1) or match.group(2)).strip(), match.group(3).strip()
    for separator in SEPARATORS:
        if separator in line:
            name, summary = line.split(separator, 1)
            return name.strip(), summary.strip()
    return line.strip(), ""


def candidate_name(line: str) -> str:
    """'[Sherlock Holmes] A detective ...' -> 'Sherlock Holmes' (and the other forms above)."""
    return split_candidate(line)[0]


def true_candidate(candidates: list[str], label: str, where: str) -> int | None:
    """The index of the candidate that is the character `label`; None when there are none.

    A candidate is the character when its name is the label, or, for a line that is only a
    name, when the whole line is. A set where no line or several lines name the label cannot
    be scored (consistency would be 0 or ambiguous for every turn), so it is refused."""
    if not candidates:
        return None
    wanted = label.strip()
    matches = [i for i, line in enumerate(candidates) if candidate_name(line) == wanted or line.strip() == wanted]
    if len(matches) == 1:
        return matches[0]
    shown = "; ".join(candidate_name(line) for line in candidates)
    if not matches:
        raise DittoError(f"{where}: no consistency candidate is {label!r} (candidates: {shown})")
    raise DittoError(f"{where}: {len(matches)} consistency candidates are {label!r} (candidates: {shown})")


def first_sentence(text: str) -> str:
    """The first sentence of a summary, in English or Chinese."""
    text = " ".join(text.split())
    ends = [text.find(end) + len(end.rstrip()) for end in (". ", "。", "! ", "? ", "！", "？") if end in text]
    return text[: min(ends)] if ends else text


def candidate_line(name: str, summary: str, limit: int = CANDIDATE_CHARS) -> str:
    """`[Name] first sentence of the summary`, the official form, cut to about `limit` characters
    at a word boundary (Chinese has none, so it is cut at the character)."""
    about = first_sentence(summary)
    line = f"[{name}] {about}".strip() if about else f"[{name}]"
    if len(line) <= limit:
        return line
    cut = line[:limit]
    if " " in cut[len(name) + 3 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;，；") + " ..."
