"""report.html: the same content as report.md in one self-contained file to open or mail.

The charts are embedded as base64 data URIs and the CSS is inline, so the file needs nothing
beside it and loads nothing from the network. Every text from a run (model answers, user
prompts, labels) goes through Jinja2's autoescape: an answer holding markup shows as text.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from ditto.report.charts import CHART_TITLES
from ditto.report.collect import Run
from ditto.report.differences import Comparison, method_line
from ditto.report.examples import Example
from ditto.report.judge_section import JudgeSection
from ditto.report.tables import Table

TEMPLATES = Path(__file__).parent / "templates"


CODE_SPAN = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """`text` escaped, with its `commands` shown as code, as report.md shows them. The escape
    comes first, so a backtick in a run's label can make code of it, never markup."""
    return Markup(CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _figures(charts: dict[str, Path]) -> list[dict[str, str]]:
    return [{"title": CHART_TITLES[name], "uri": data_uri(path)} for name, path in charts.items()]


def render_html(
    runs: list[Run], score: Table, categories: Table, charts: dict[str, Path], examples: list[Example],
    notes: list[str], warnings: Sequence[str] = (), comparisons: Sequence[Comparison] = (),
    judge: JudgeSection | None = None,
) -> str:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["code_spans"] = code_spans
    return environment.get_template("report.html.j2").render(
        runs=runs,
        score=score,
        categories=categories,
        charts=_figures(charts),
        examples=examples,
        notes=notes,
        warnings=warnings,
        comparisons=comparisons,
        method=method_line(comparisons[0].baseline) if comparisons else "",
        judge=judge,
        judge_charts=_figures(judge.charts) if judge is not None else [],
    )
