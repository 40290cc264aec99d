"""The report's charts, as PNG files: scores with their intervals, a radar of every model, and,
for runs whose judge was checked against people, the judge's verdicts against theirs.

Knowledge (a 1-10 score) and MT-Bench (1-10) are divided by 10 so that all axes run from 0
to 1 and bars of different metrics can share one scale; the axis labels say so. Figures are
drawn with matplotlib's object API (no pyplot), so nothing opens a window or keeps global
state, and without the Software stamp so the same runs give the same bytes. Run labels are
shown as plain text: a `$` is not mathtext and a leading `_` does not hide a legend entry.
matplotlib (the `report` extra) is imported only when a chart is drawn.

The judge-against-people charts draw agreement.json's per-turn pairs, one panel per run that
has them: a confusion matrix of consistency verdicts by candidate position (rows: people's
choice, as scikit-learn counts them; columns: the judge's), where agreement is the diagonal
and a judge that answers by position fills one column; and knowledge scores, judge against
people, as one circle per distinct pair whose area and number give how many turns it holds
(integer scores coincide, and jitter would make the same runs draw different bytes).
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
CHART_FILES = {"bars": "scores.png", "radar": "radar.png", "confusion": "judge_consistency.png",
               "knowledge": "judge_knowledge.png"}
CHART_TITLES = {"bars": "Scores with 95% intervals", "radar": "All scores on a 0-1 scale",
                "confusion": "Consistency: the judge's choice against people's, turns per cell",
                "knowledge": "Knowledge: the judge's score against people's, turns per point"}
PANEL_INCHES = 4.2
BUSIEST_POINT = 8  # turns at which a scatter point stops growing, so that one cannot cover the panel


LEGEND_CHARS = 60


def plain_label(label: str) -> str:
    """A run label as matplotlib text shown verbatim (an unescaped `$` starts mathtext, and
    `$x^$` in a model name would stop the report with a parse error), on one line and cut
    at LEGEND_CHARS so the legend leaves room for the chart; the tables show it whole."""
    label = " ".join(label.split())
    if len(label) > LEGEND_CHARS:
        label = label[: LEGEND_CHARS - 3] + "..."
    return label.replace("$", r"\$")


def new_figure(width: float, height: float) -> Figure:
    """A blank figure (inches); the one place the report imports matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise DittoError("the report's charts need matplotlib: pip install 'ditto-roleplay[report]'") from None
    return Figure(figsize=(width, height), dpi=100)


def save_png(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, format="png", metadata=PNG_METADATA)
    return path


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
    figure = new_figure(7.5, 4.2)
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
    axes.legend(bars, [plain_label(run.label) for run in runs], fontsize="small")
    return save_png(figure, path)


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
    figure = new_figure(6, 6.4)
    axes = figure.add_subplot(projection="polar")
    lines, names = [], []
    for run in runs:
        values = _radar_values(run, with_mtbench)
        missing = with_mtbench and (run.mtbench is None or run.mtbench.mean is None)
        names.append(plain_label(f"{run.label} (no MT-Bench)" if missing else run.label))
        lines += axes.plot(angles + angles[:1], values + values[:1], linewidth=1.5)
        axes.fill(angles + angles[:1], values + values[:1], alpha=0.15)
    axes.set_xticks(angles, labels=labels)
    axes.tick_params(axis="x", pad=10)
    axes.set_ylim(0, 1)
    axes.set_rlabel_position(180 / len(labels))  # radial numbers halfway between two axes, not on one
    axes.set_title("All scores on a 0-1 scale", pad=20)
    axes.legend(lines, names, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(3, len(runs)),
                fontsize="small")
    return save_png(figure, path)


def _panels(count: int, height: float = PANEL_INCHES) -> tuple[Figure, list]:
    figure = new_figure(PANEL_INCHES * count, height)
    return figure, [figure.add_subplot(1, count, index + 1) for index in range(count)]


def confusion_chart(runs: list[Run], path: Path) -> Path:
    """Per run: people's consistency choice (rows) against the judge's (columns), by position."""
    from sklearn.metrics import confusion_matrix

    figure, panels = _panels(len(runs))
    for run, axes in zip(runs, panels):
        pairs = np.array(run.agreement.pairs.consistency, dtype=np.int64).reshape(-1, 2)
        positions = list(range(max(2, int(pairs.max(initial=0)) + 1)))
        counts = confusion_matrix(pairs[:, 1], pairs[:, 0], labels=positions)
        axes.imshow(counts, cmap="Blues", vmin=0)
        for (row, column), count in np.ndenumerate(counts):
            dark = count > counts.max() / 2
            axes.text(column, row, str(count), ha="center", va="center", color="white" if dark else "black")
        axes.set_xticks(positions, labels=[str(p + 1) for p in positions])
        axes.set_yticks(positions, labels=[str(p + 1) for p in positions])
        axes.set_xlabel("judge's choice (candidate number)")
        axes.set_ylabel("people's choice (candidate number)")
        axes.set_title(f"{plain_label(run.label)}\n{len(pairs)} turns", fontsize="medium")
    return save_png(figure, path)


def knowledge_chart(runs: list[Run], path: Path) -> Path:
    """Per run: the judge's knowledge score (x) against people's (y), a circle per distinct pair."""
    figure, panels = _panels(len(runs))
    for run, axes in zip(runs, panels):
        pairs = np.array(run.agreement.pairs.knowledge, dtype=np.int64).reshape(-1, 2)
        points, counts = np.unique(pairs, axis=0, return_counts=True)
        axes.plot([1, 10], [1, 10], linestyle="--", color="grey", linewidth=1)  # where judge and people agree
        if len(points):
            area = 60 * counts * min(1.0, BUSIEST_POINT / counts.max())  # area by turns, the busiest point capped
            axes.scatter(points[:, 0], points[:, 1], s=area, alpha=0.5)
        for (x, y), count in zip(points, counts):
            if count > 1:
                axes.annotate(str(count), (x, y), ha="center", va="center", fontsize="small")
        axes.set_xlim(0.5, 10.5)
        axes.set_ylim(0.5, 10.5)
        axes.set_xticks(range(1, 11))
        axes.set_yticks(range(1, 11))
        axes.set_aspect("equal")
        axes.set_xlabel("judge's score (1-10)")
        axes.set_ylabel("people's score (1-10)")
        axes.set_title(f"{plain_label(run.label)}\n{len(pairs)} turns", fontsize="medium")
    return save_png(figure, path)


def judge_charts(runs: list[Run], folder: Path) -> dict[str, Path]:
    """The confusion matrix and the knowledge scatter of the runs whose agreement.json has pairs
    of that metric; a chart no run has pairs for is not drawn (and one left by an earlier
    report in `folder` is removed, so that it cannot pass for this one's)."""
    drawn = {}
    kinds = (("confusion", confusion_chart, "consistency"), ("knowledge", knowledge_chart, "knowledge"))
    for name, draw, metric in kinds:
        paired = [run for run in runs if run.agreement and run.agreement.pairs and getattr(run.agreement.pairs, metric)]
        path = folder / CHART_FILES[name]
        if paired:
            drawn[name] = draw(paired, path)
        else:
            path.unlink(missing_ok=True)
    return drawn
