"""report.html: the same content as report.md in one self-contained file to open or mail.

The charts are embedded as base64 data URIs and the CSS is inline, so the file needs nothing
beside it and loads nothing from the network. Every text from a run (model answers, user
prompts, labels) goes through Jinja2's autoescape: an answer holding markup shows as text.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ditto.report.charts import CHART_TITLES
from ditto.report.collect import Run
from ditto.report.examples import Example
from ditto.report.tables import Table

TEMPLATES = Path(__file__).parent / "templates"


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def render_html(
    runs: list[Run], score: Table, categories: Table, charts: dict[str, Path], examples: list[Example],
    notes: list[str], warnings: Sequence[str] = (),
) -> str:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2").render(
        runs=runs,
        score=score,
        categories=categories,
        charts=[{"title": CHART_TITLES[name], "uri": _data_uri(path)} for name, path in charts.items()],
        examples=examples,
        notes=notes,
        warnings=warnings,
    )
