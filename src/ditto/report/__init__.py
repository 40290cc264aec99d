"""Stage 5 of Ditto: a side-by-side report of evaluation runs (seed model, Ditto, others).

`build_report` reads each run directory of `ditto eval run` (collect.py, with the judge's
checks: reliability.py), finds the warnings that must open it (cautions.py), states each
model's difference from the first run (differences.py), draws the charts (charts.py), builds
the tables once (tables.py, judge_section.py), picks example dialogues (examples.py) and
writes report.md (markdown.py) and a self-contained report.html (html.py). The charts need
matplotlib: `pip install 'ditto-roleplay[report]'`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ditto.report.cautions import opening_warnings
from ditto.report.charts import CHART_FILES, bar_chart, judge_charts, radar_chart
from ditto.report.collect import collect_runs, stale_saved_scores
from ditto.report.differences import compare_runs
from ditto.report.examples import pick_examples
from ditto.report.html import render_html
from ditto.report.judge_section import judge_section
from ditto.report.markdown import render_markdown
from ditto.report.tables import category_table, score_table

__all__ = ["build_report"]


def build_report(
    run_dirs: list[Path], out_dir: Path, *, bootstrap: int = 1000, seed: int = 0, warnings: Sequence[str] = ()
) -> dict[str, Path]:
    """Write report.md, report.html, scores.png and radar.png into `out_dir` (and the judge's
    charts when a run has agreement.json's pairs); return their paths.

    Models appear in the order of `run_dirs`, the first being the baseline of the differences;
    `bootstrap` and `seed` set every interval as in `ditto.evaluate.scoring.score_records`.
    `warnings` open both reports, above the scores, so that no one reads the numbers without
    them (`ditto run` warns when the seed model judged itself or wrote its own eval set); a run
    whose judge is its own model adds one unless a given warning already says so.
    """
    runs = collect_runs([Path(d) for d in run_dirs], bootstrap=bootstrap, seed=seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = {
        "bars": bar_chart(runs, out_dir / CHART_FILES["bars"]),
        "radar": radar_chart(runs, out_dir / CHART_FILES["radar"]),
    }
    judge = judge_section(runs)
    judge.charts = judge_charts(runs, out_dir)
    score, categories = score_table(runs), category_table(runs)
    examples = pick_examples(runs)
    notes = [
        f"{run.directory}/scores.json disagrees with its judged.jsonl; this report uses judged.jsonl."
        for run in runs if stale_saved_scores(run)
    ]
    parts = (runs, score, categories, charts, examples, notes, opening_warnings(runs, warnings))
    comparisons = compare_runs(runs, bootstrap=bootstrap, seed=seed)
    markdown = out_dir / "report.md"
    markdown.write_text(render_markdown(*parts, comparisons, judge), encoding="utf-8")
    html = out_dir / "report.html"
    html.write_text(render_html(*parts, comparisons, judge), encoding="utf-8")
    return {"markdown": markdown, "html": html, **charts, **judge.charts}
