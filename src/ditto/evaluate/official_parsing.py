"""`--parsing official`: the judge's answers read exactly as the released evaluation reads them.

OFA-Sys/Ditto's `eval/call_openai_api_gpt4_eval.py` applies one strict rule per metric and
asks nothing again:

- consistency: `re.search` of `most suitable role is \\[(.*)\\]` (English) or
  `最符合的角色为\\[(.*)\\]` (Chinese) on each answer; the turn scores the mean of
  `group(1) == label` over the answers that match, and 0 when none does;
- rejection: the answers that are exactly "0" or "1", the most common of them (a tie goes to
  the one seen first: `Counter.most_common`); no such answer raises `IndexError`;
- knowledge: `int()` of the answer's last line after removing "Score: ", averaged over the
  answers; one answer that `int()` cannot read raises `ValueError`.

The script runs each dialogue in a process pool whose failures are never read, so an error
silently drops the whole dialogue from the output. ditto keeps the dialogue, leaves that
turn's score empty (None) and counts the turn, so a user sees how much the official rules
would have lost. The functions below return None where the official code would raise.
"""

from __future__ import annotations

import re
from collections import Counter

# The fixed sentence of the consistency prompt, per language, as the official script matches it.
VERDICT = {"zh": re.compile(r"最符合的角色为\[(.*)\]"), "en": re.compile(r"most suitable role is \[(.*)\]")}


def official_choice(text: str, lang: str) -> str | None:
    """The bracketed name of the fixed sentence (greedy, as the official pattern), or None."""
    match = VERDICT["zh" if lang == "zh" else "en"].search(text)
    return None if match is None else match.group(1)


def official_rejection(text: str) -> int | None:
    """1 or 0 when the answer is exactly that digit, else None (the official script skips it)."""
    return int(text) if text in ("0", "1") else None


def official_knowledge(text: str) -> int | None:
    """The integer on the last line after removing "Score: "; None where `int()` would raise."""
    try:
        return int(text.split("\n")[-1].replace("Score: ", ""))
    except ValueError:
        return None


def official_consistency_score(names: list[str | None], label: str) -> float:
    """The mean of `name == label` over the answers whose sentence matched; 0 when none did."""
    matched = [name for name in names if name is not None]
    return sum(name == label for name in matched) / len(matched) if matched else 0.0


def official_rejection_score(votes: list[int | None]) -> int | None:
    """The most common exact answer, ties to the first seen; None where the script raises."""
    counted = Counter(vote for vote in votes if vote is not None)
    return counted.most_common(1)[0][0] if counted else None


def official_knowledge_score(scores: list[int | None]) -> float | None:
    """The mean of every answer's score; None when any answer would make `int()` raise."""
    if not scores or any(score is None for score in scores):
        return None
    return sum(scores) / len(scores)
