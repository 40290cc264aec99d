"""How much of a profile's Wikipedia text the simulation prompts show the teacher.

The introduction is cut to `summary_tokens` and, with `with_article`, the article's body (the
sections after the introduction) to `article_tokens`; each cut falls at the last sentence end
inside its budget, or, when not even one sentence fits, at a word (a character in Chinese)
with "…" marking the cut. A budget in tokens rather than characters gives a Chinese
introduction (about one token per character) the same room in the prompt as an English one
(about four characters per token).

Tokens are counted by the teacher's own tokenizer when its backend has one (`token_counter`),
else by `ditto.cost.estimate_tokens`; either way the same profile and budget give the same
prompt on every run, so a re-run finds its results in the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ditto.characters.profile import Profile
from ditto.cost import estimate_tokens

if TYPE_CHECKING:
    from ditto.simulate.config import SimulateConfig

SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)|[.!?][\"'”’)\]]*$|[。！？；][”’」』）]*|\n")
"""Where a sentence ends: after . ! ? (and closing quotes) before a space or the end, after
。！？； (Chinese needs no space after them), or at a line break."""
HEADING = re.compile(r"^=+ .+ =+$", re.MULTILINE)
"""A section heading of the plain-text article (`exsectionformat=wiki`: `== History ==`)."""
CUT_MARK = "…"


def cut_to_budget(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest start of `text` within `budget` tokens that ends a sentence; without one,
    the longest that ends a word (or any character, for text without spaces) plus `CUT_MARK`."""
    text = text.strip()
    if budget <= 0 or not text:
        return ""
    if count(text) <= budget:
        return text
    ends = [m.end() for m in SENTENCE_END.finditer(text)]
    fits = _last_fitting(ends, lambda end: count(text[:end].rstrip()) <= budget)
    if fits is not None:
        return text[:fits].rstrip()
    fits = _last_fitting(range(1, len(text)), lambda end: count(text[:end] + CUT_MARK) <= budget) or 1
    space = text.rfind(" ", 0, fits + 1)
    if space > fits // 2:
        fits = space
    return text[:fits].rstrip() + CUT_MARK


def _last_fitting(positions, fits: Callable[[int], bool]) -> int | None:
    """The last of the increasing `positions` where `fits` holds, by bisection: a text's token
    count grows with its length, so a handful of counts find it even in a long article."""
    low, high, found = 0, len(positions) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if fits(positions[middle]):
            found, low = positions[middle], middle + 1
        else:
            high = middle - 1
    return found


def article_body(profile: Profile) -> str:
    """The article after its introduction (which the prompt shows already): from its first
    section heading; in an article without one, what follows the introduction if it opens
    with it, else all of it."""
    article = (profile.article or "").strip()
    heading = HEADING.search(article)
    if heading:
        return article[heading.start() :]
    summary = profile.summary.strip()
    return article[len(summary) :].strip() if summary and article.startswith(summary) else article


@dataclass
class ProfileText:
    """The profile text budgets of one simulation and the token counter that measures them."""

    summary_tokens: int
    article_tokens: int | None = None
    """None: no article (`--with-article` not given)."""
    count: Callable[[str], int] = estimate_tokens
    claims: bool = True
    """False: the prompts show no Wikidata facts (`--no-with-claims`)."""
    _cuts: dict[tuple[str, int], str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, config: SimulateConfig, count: Callable[[str], int] = estimate_tokens) -> ProfileText:
        """The budgets `config` sets (`summary_tokens`, `with_article`, `article_tokens`)."""
        article = config.article_tokens if config.with_article else None
        return cls(summary_tokens=config.summary_tokens, article_tokens=article, count=count,
                   claims=config.with_claims)

    def shown(self, profile: Profile) -> Profile:
        """The profile as the prompts show it: without its claims when `claims` is off."""
        return profile if self.claims or not profile.claims else profile.model_copy(update={"claims": []})

    def summary(self, profile: Profile) -> str:
        return self._cut(profile.summary, self.summary_tokens)

    def article(self, profile: Profile) -> str:
        if self.article_tokens is None or not profile.article:
            return ""
        return self._cut(article_body(profile), self.article_tokens)

    def _cut(self, text: str, budget: int) -> str:
        """`cut_to_budget`, once per text and budget (a profile appears in many prompts)."""
        key = (text, budget)
        if key not in self._cuts:
            self._cuts[key] = cut_to_budget(text, budget, self.count)
        return self._cuts[key]
