"""`ditto.cost`: the token estimates and table behind every `--dry-run`."""

from __future__ import annotations

from rich.console import Console

from ditto.cost import TEMPLATE_TOKENS_PER_MESSAGE, StageEstimate, estimate_prompt, estimate_tokens, print_estimates
from ditto.types import Message


def test_english_is_about_four_characters_a_token_and_cjk_one_each():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2
    assert estimate_tokens("李白是诗人") == 5
    assert estimate_tokens("李白 poet") == 2 + 2  # two CJK, then ' poet' (5 characters) rounds up to 2


def test_a_prompt_counts_its_messages_and_their_template_markers():
    messages = [Message(role="system", content="abcd" * 10), Message(role="user", content="李白")]
    assert estimate_prompt(messages) == 10 + 2 + 2 * TEMPLATE_TOKENS_PER_MESSAGE


def test_the_table_totals_every_stage():
    first = StageEstimate("queries", 3, 9, 300, 90, note="3 pairs")
    second = StageEstimate("responses", 0, 0, 0, 0)
    second.add(2, 2, 50, 20)
    second.add(1, 1, 25, 10)
    assert (second.requests, second.max_requests, second.prompt_tokens, second.completion_tokens) == (3, 3, 75, 30)
    console = Console(record=True, width=200)
    print_estimates([first, second], console)
    printed = console.export_text()
    total = next(line for line in printed.splitlines() if line.strip().startswith("total"))
    assert total.split()[1:] == ["6", "12", "375", "120"]
    assert "queries: 3 pairs" in printed
