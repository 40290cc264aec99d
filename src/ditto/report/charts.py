"""The report's two charts, as PNG files: scores with their intervals, and a radar of every model.

Knowledge (a 1-10 score) and MT-Bench (1-10) are divided by 10 so that all axes run from 0
to 1 and bars of different metrics can share one scale; the axis labels say so. Figures are
drawn with matplotlib's object API (no pyplot), so nothing opens a window or keeps global
state, and without the Software stamp so the same runs give the same bytes. Run labels are
shown as plain text: a `$` is not mathtext and a leading `_` does not hide a legend entry.
matplotlib (the `report` extra) is imported only when a chart is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ditto.errors import DittoError
from ditto.report.collect import Run

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# (metric, label, divisor): what the charts show on their common 0-1 scale.
CHART_METRICS = [
    ("consistency", "Consistency", 1.0),
    ("knowledge", "Knowledge / 10", 10.0),
    ("rejection", "Rejection", 1.0),
]
PNG_METADATA = {"Software": None}
# File names of the charts in the report folder, and the caption each is shown with.
CHART_FILES = {"bars": "scores.png", "radar": "radar.png"}
CHART_TITLES = {"bars": "Scores with 95% intervals", "radar": "All scores on a 0-1 scale"}


LEGEND_CHARS = 60


def _plain(label: str) -> str:
    """A run label as matplotlib text shown verbatim (an unescaped `$` starts mathtext, and
    `$x^$` in a model name would stop the report with a parse error), on one line and cut
    at LEGEND_CHARS so the legend leaves room for the chart; the tables show it whole."""
    label = " ".join(label.split())
    if len(label) > LEGEND_CHARS:
        label = label[: LEGEND_CHARS - 3] + "..."
    return label.replace("$", r"\$")


def _figure(width: float, height: float) -> Figure:
    """A blank figure (inches); the one place the report imports matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise DittoError("the report's charts need matplotlib: pip install 'ditto-roleplay[report]'") from None
    return Figure(figsize=(width, height), dpi=100)


def _mean_and_error(run: Run, metric: str, divisor: float) -> tuple[float, float, float]:
    """The mean on the 0-1 scale and its distances to the interval's ends (0 when unknown)."""
    mean = run.scores["all"][metric]
    if mean is None:
        return 0.0, 0.0, 0.0
    interval = run.scores["ci"].get("all", {}).get(metric)
    if interval is None:
        return mean / divisor, 0.0, 0.0
    # The mean is rounded to 2 decimals and the interval to 3, so an end may sit a hair inside.
    return mean / divisor, max(0.0, mean - interval[0]) / divisor, max(0.0, interval[1] - mean) / divisor


def bar_chart(runs: list[Run], path: Path) -> Path:
    """Grouped bars: one group per metric, one bar per model, 95% intervals as error bars."""
    figure = _figure(7.5, 4.2)
    axes = figure.add_subplot()
    positions = np.arange(len(CHART_METRICS))
    width = 0.8 / len(runs)
    bars = []
    for index, run in enumerate(runs):
        values = [_mean_and_error(run, metric, divisor) for metric, _, divisor in CHART_METRICS]
        offsets = positions + (index - (len(runs) - 1) / 2) * width
        bars.append(axes.bar(
            offsets, [v[0] for v in values], width,
            yerr=[[v[1] for v in values], [v[2] for v in values]], capsize=3,
        ))
    axes.set_xticks(positions, labels=[label for _, label, _ in CHART_METRICS])
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("mean, all turns (knowledge: 1-10 score / 10)")
    axes.set_title("WikiRoleEval, 95% bootstrap intervals over dialogues")
    # Handles and labels given together: matplotlib then keeps a label starting with "_".
    axes.legend(bars, [_plain(run.label) for run in runs], fontsize="small")
    figure.tight_layout()
    figure.savefig(path, format="png", metadata=PNG_METADATA)
    return path


def _radar_values(run: Run, with_mtbench: bool) -> list[float]:
    values = [(run.scores["all"][metric] or 0.0) / divisor for metric, _, divisor in CHART_METRICS]
    if with_mtbench:
        values.append((run.mtbench.mean or 0.0) / 10 if run.mtbench else 0.0)
    return values


def radar_chart(runs: list[Run], path: Path) -> Path:
    """One polygon per model over consistency, knowledge/10, rejection and MT-Bench/10.

    The MT-Bench axis is drawn only when some run has MT-Bench scores; a run without them sits
    at 0 there and says so in the legend.
    """
    with_mtbench = any(run.mtbench is not None and run.mtbench.mean is not None for run in runs)
    labels = [label for _, label, _ in CHART_METRICS] + (["MT-Bench / 10"] if with_mtbench else [])
    angles = np.linspace(0, 2 * np.pi, len(labels), endpoint=False).tolist()
    figure = _figure(6, 6.4)
    axes = figure.add_subplot(projection="polar")
    lines, names = [], []
    for run in runs:
        values = _radar_values(run, with_mtbench)
        missing = with_mtbench and (run.mtbench is None or run.mtbench.mean is None)
        names.append(_plain(f"{run.label} (no MT-Bench)" if missing else run.label))
        lines += axes.plot(angles + angles[:1], values + values[:1], linewidth=1.5)
        axes.fill(angles + angles[:1], values + values[:1], alpha=0.15)
    axes.set_xticks(angles, labels=labels)
    axes.tick_params(axis="x", pad=10)
    axes.set_ylim(0, 1)
    axes.set_rlabel_position(180 / len(labels))  # radial numbers halfway between two axes, not on one
    axes.set_title("All scores on a 0-1 scale", pad=20)
    axes.legend(lines, names, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(3, len(runs)),
                fontsize="small")
    figure.tight_layout()
    figure.savefig(path, format="png", metadata=PNG_METADATA)
    return path
