"""Stage 5 of Ditto: a side-by-side report of evaluation runs (seed model, Ditto, others).

`build_report` reads each run directory of `ditto eval run` (collect.py), draws two charts
(charts.py), builds the tables once (tables.py), picks example dialogues (examples.py) and
writes report.md (markdown.py) and a self-contained report.html (html.py). The charts need
matplotlib: `pip install 'ditto-roleplay[report]'`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ditto.report.charts import CHART_FILES, bar_chart, radar_chart
from ditto.report.collect import collect_runs, stale_saved_scores
from ditto.report.examples import pick_examples
from ditto.report.html import render_html
from ditto.report.markdown import render_markdown
from ditto.report.tables import category_table, score_table

__all__ = ["build_report"]


def build_report(
    run_dirs: list[Path], out_dir: Path, *, bootstrap: int = 1000, seed: int = 0, warnings: Sequence[str] = ()
) -> dict[str, Path]:
    """Write report.md, report.html, scores.png and radar.png into `out_dir`; return their paths.

    Models appear in the order of `run_dirs`; `bootstrap` and `seed` set the intervals as in
    `ditto.evaluate.scoring.score_records`. `warnings` open both reports, above the scores,
    so that no one reads the numbers without them (`ditto run` warns when the seed model
    judged itself or wrote its own eval set).
    """
    runs = collect_runs([Path(d) for d in run_dirs], bootstrap=bootstrap, seed=seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = {
        "bars": bar_chart(runs, out_dir / CHART_FILES["bars"]),
        "radar": radar_chart(runs, out_dir / CHART_FILES["radar"]),
    }
    score, categories = score_table(runs), category_table(runs)
    examples = pick_examples(runs)
    notes = [
        f"{run.directory}/scores.json disagrees with its judged.jsonl; this report uses judged.jsonl."
        for run in runs if stale_saved_scores(run)
    ]
    markdown = out_dir / "report.md"
    warnings = list(warnings)
    markdown.write_text(render_markdown(runs, score, categories, charts, examples, notes, warnings), encoding="utf-8")
    html = out_dir / "report.html"
    html.write_text(render_html(runs, score, categories, charts, examples, notes, warnings), encoding="utf-8")
    return {"markdown": markdown, "html": html, **charts}
