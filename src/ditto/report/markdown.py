"""report.md: the score tables, the charts and example dialogues, for a repository or a paper draft.

Model and user text is HTML-escaped even here: Markdown viewers render inline HTML, and an
answer holding `<script>` or `<img onerror=...>` must show as text, not run. Nor can it add a
link or an image (`![](https://host/?q=...)` would load a remote URL when the report is
opened), and in a table cell its pipes and line breaks cannot start a new cell or row.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from ditto.report.charts import CHART_TITLES
from ditto.report.collect import Run
from ditto.report.differences import Comparison, method_line
from ditto.report.examples import Example
from ditto.report.judge_section import JudgeSection
from ditto.report.tables import Table

LINK_TEXT_END = re.compile(r"\](?=\s*[(\[:])")


def _text(text: str) -> str:
    """Text shown as itself: no HTML, no link, no image. Each of those closes its text with `](`
    or `][`, or needs a definition `[ref]:`; that `]` is escaped (after doubling backslashes,
    so that none can undo the escape)."""
    escaped = html.escape(text, quote=False).replace("\\", "\\\\")
    return LINK_TEXT_END.sub(r"\\]", escaped)


def markdown_cell(text: str) -> str:
    """One line of text, safe in a table cell, a heading or a list item."""
    return _text(" ".join(text.split())).replace("|", "\\|")


def _code(text: str) -> str:
    """An inline code span (shown literally: no escapes inside) that no backtick in `text` closes."""
    text = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(markdown_cell(h) for h in table.header) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(table.header) - 1)) + "|")
    lines += ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in table.rows]
    return lines


def _quote(text: str) -> list[str]:
    return [f"> {_text(line)}".rstrip() for line in (text.strip() or "(empty)").splitlines()]


def _example(number: int, example: Example) -> list[str]:
    where = f"{markdown_cell(example.lang)}, item {markdown_cell(example.key)}"
    lines = [f"### {number}. {markdown_cell(example.character)} ({where})", ""]
    for turn, prompt in enumerate(example.prompts):
        lines += [f"**Turn {turn + 1}, user:**", "", *_quote(prompt), ""]
        for label, answers in example.answers.items():
            answer = answers[turn] if turn < len(answers) else "(no answer)"
            lines += [f"**{markdown_cell(label)}:**", "", *_quote(answer), ""]
    return lines


def _charts(charts: dict[str, Path]) -> list[str]:
    return [f"![{CHART_TITLES[name]}]({path.name})" for name, path in charts.items()] + [""]


def _differences(comparisons: Sequence[Comparison]) -> list[str]:
    if not comparisons:
        return []
    lines = ["## Differences between models", "", markdown_cell(method_line(comparisons[0].baseline)), ""]
    for comparison in comparisons:
        lines += [f"**{markdown_cell(comparison.label)} against {markdown_cell(comparison.baseline)}:**", ""]
        lines += [f"- {markdown_cell(sentence)}" for sentence in comparison.sentences()]
        lines += [f"- Note: {markdown_cell(comparison.note)}"] if comparison.note else []
        lines.append("")
    return lines


def _judge(section: JudgeSection) -> list[str]:
    lines = ["## Judge reliability", ""]
    if section.table is not None:
        lines += [*markdown_table(section.table), ""]
    lines += [line for text in section.readings + section.notes for line in (markdown_cell(text), "")]
    return lines + (_charts(section.charts) if section.charts else [])


def render_markdown(
    runs: list[Run], score: Table, categories: Table, charts: dict[str, Path], examples: list[Example],
    notes: list[str], warnings: Sequence[str] = (), comparisons: Sequence[Comparison] = (),
    judge: JudgeSection | None = None,
) -> str:
    lines = ["# Role-play evaluation report", ""]
    lines += [f"> **Warning:** {markdown_cell(warning)}" for warning in warnings] + ([""] if warnings else [])
    lines += _differences(comparisons)
    lines += ["## Runs", "", "In the order given:", ""]
    for run in runs:
        parts = [("model", run.info.model), ("judge", run.info.judge), ("eval set", run.info.eval_file)]
        details = ", ".join(f"{name} {value}" for name, value in parts if value)
        line = f"- **{markdown_cell(run.label)}**: {_code(str(run.directory))}"
        lines.append(line + (f" ({markdown_cell(details)})" if details else ""))
    lines += [
        "",
        "## Scores",
        "",
        (
            "WikiRoleEval scores (Ditto, arXiv 2401.12474) recomputed from each run's judged.jsonl as the "
            "official scoring.py computes them: turn-weighted means, knowledge skipping turns scored 0 or "
            "null, rounded to 2 decimals. [low, high] is a 95% bootstrap interval resampling dialogues."
        ),
        "",
        *markdown_table(score),
        "",
    ]
    lines += [f"Note: {markdown_cell(note)}" for note in notes] + ([""] if notes else [])
    lines += ["## By character category", "", *markdown_table(categories), ""]
    lines += ["## Charts", "", *_charts(charts)]
    lines += _judge(judge) if judge is not None else []
    lines += ["## Example dialogues", ""]
    if not examples:
        lines += ["No eval item was answered by every run.", ""]
    for number, example in enumerate(examples, start=1):
        lines += _example(number, example)
    return "\n".join(lines).rstrip() + "\n"
