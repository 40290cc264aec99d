"""A study's results as study.md, study.html (self-contained) and study.json.

Every study writes the same kind of document: its question, warnings, then sections of
sentences, a table and figures; the cells table comes first in every one. The HTML
escapes every text (cell labels hold model names a user chose) and embeds the figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ditto.chat_files import write_text_atomic
from ditto.evaluate.records import METRICS
from ditto.evaluate.scoring import format_score
from ditto.report.html import code_spans, data_uri
from ditto.report.markdown import markdown_cell, markdown_table
from ditto.report.tables import METRIC_NAMES, Table
from ditto.study.runner import CellResult
from ditto.study.steps import Cell, Training

TEMPLATES = Path(__file__).parent / "templates"
FILES = {"markdown": "study.md", "html": "study.html", "json": "study.json"}


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: Table | None = None
    figures: dict[str, Path] = field(default_factory=dict)
    """Caption -> PNG file (in the study folder's figures/)."""


@dataclass
class StudyDocument:
    name: str
    question: str
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    """What study.json holds besides the cells: each study's own figures in numbers."""


def cells_table(cells: list[Cell], results: dict[str, CellResult], impossible: dict[str, str] | None = None) -> Table:
    """Every cell with its three metrics (mean and 95% interval over dialogues) and its folder;
    a cell not evaluated yet (another shard's) shows as waiting, one that cannot be made says why."""
    impossible = impossible or {}
    columns = list(dict.fromkeys(name for cell in cells for name, _ in cell.labels))
    header = ["role", *columns, *(METRIC_NAMES[m] for m in METRICS), "turns", "folder"]
    rows = []
    for cell in cells:
        labels = [cell.label(name) or "" for name in columns]
        result = results.get(cell.key)
        if result is None:
            state = f"not made: {impossible[cell.key]}" if cell.key in impossible else "not run yet"
            rows.append([cell.role, *labels, *([state] * len(METRICS)), "", cell.evaluation.folder])
            continue
        scores, intervals = result.run.scores["all"], result.run.scores["ci"].get("all", {})
        rows.append([cell.role, *labels, *(format_score(scores[m], intervals.get(m)) for m in METRICS),
                     str(scores["turns"]), cell.evaluation.folder])
    return Table(header, rows)


def cell_records(cells: list[Cell], results: dict[str, CellResult], impossible: dict[str, str]) -> list[dict]:
    records = []
    for cell in cells:
        result = results.get(cell.key)
        tested = cell.evaluation.model
        record = {"role": cell.role, "labels": dict(cell.labels), "folder": cell.evaluation.folder,
                  "model": cell.evaluation.label, "with_profile": cell.evaluation.with_profile,
                  "trained_folder": tested.folder if isinstance(tested, Training) else None}
        if cell.key in impossible:
            record["not_made"] = impossible[cell.key]
        if result is not None:
            record["scores"] = {m: result.run.scores["all"][m] for m in (*METRICS, "turns")}
            record["intervals"] = result.run.scores["ci"].get("all", {})
        records.append(record)
    return records


def render_markdown(document: StudyDocument) -> str:
    lines = [f"# ditto study: {document.name}", "", document.question, ""]
    for warning in document.warnings:
        lines += [f"> **Warning:** {markdown_cell(warning)}", ""]
    for section in document.sections:
        lines += ["", f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        if section.table is not None:
            lines += [*markdown_table(section.table), ""]
        lines += [f"![{caption}](figures/{path.name})" for caption, path in section.figures.items()]
    return "\n".join(lines).rstrip() + "\n"


def render_html(document: StudyDocument) -> str:
    environment = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["code_spans"] = code_spans
    sections = [
        {"title": s.title, "paragraphs": s.paragraphs, "table": s.table,
         "figures": [{"title": caption, "uri": data_uri(path)} for caption, path in s.figures.items()]}
        for s in document.sections
    ]
    view = {"name": document.name, "question": document.question, "warnings": document.warnings,
            "sections": sections}
    return environment.get_template("study.html.j2").render(document=view)


def write_document(document: StudyDocument, folder: Path, cells: list[Cell], results: dict[str, CellResult],
                   impossible: dict[str, str] | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / name for kind, name in FILES.items()}
    write_text_atomic(paths["markdown"], render_markdown(document))
    write_text_atomic(paths["html"], render_html(document))
    record = {"study": document.name, "question": document.question, "warnings": document.warnings,
              "cells": cell_records(cells, results, impossible or {}), **document.data}
    write_text_atomic(paths["json"], json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return paths
