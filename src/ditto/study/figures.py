"""The studies' figures, drawn as the report's are (`report/charts.py`: matplotlib's object API,
no window, the same bytes for the same results): the paper's Figure 5 scatter, curves against
the number of training characters, and one panel per metric for a varied factor.

Every point carries its 95% interval as an error bar; a point without a score is left out
rather than drawn at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ditto.report.charts import new_figure, plain_label, save_png
from ditto.report.collect import Run

AXES = {"consistency": ("Consistency", (0.0, 1.0)), "knowledge": ("Knowledge", (1.0, 10.0)),
        "rejection": ("Rejection", (0.0, 1.0))}


@dataclass(frozen=True)
class Point:
    label: str
    mean: float | None
    interval: Sequence[float] | None = None

    @property
    def error(self) -> tuple[float, float]:
        """Distances from the mean to the interval's ends (0 where unknown or rounded inside)."""
        if self.mean is None or not self.interval:
            return 0.0, 0.0
        return max(0.0, self.mean - self.interval[0]), max(0.0, self.interval[1] - self.mean)


def run_point(run: Run, metric: str) -> Point:
    """A run's score on `metric` over all its turns, with its interval."""
    return Point(run.label, run.scores["all"][metric], run.scores["ci"].get("all", {}).get(metric))


def _padded(limits: tuple[float, float]) -> tuple[float, float]:
    low, high = limits
    pad = (high - low) * 0.05
    return low - pad, high + pad


def supervision_scatter(metric: str, pairs: list[tuple[str, Point, Point]], path: Path) -> Path:
    """The paper's Figure 5 for one metric: supervision performance (x) against imitation
    performance (y), one numbered point per seed <- supervisor (the key below the axes names
    them, so long model names never crowd the plot), the diagonal drawn: above it the
    fine-tuned seed does better than its supervisor did with the profile."""
    name, limits = AXES[metric]
    figure = new_figure(6.0, 6.0 + 0.25 * len(pairs))
    axes = figure.add_subplot()
    axes.plot(limits, limits, linestyle="--", color="#888", linewidth=1, label="imitation = supervision")
    for number, (label, supervision, imitation) in enumerate(pairs, 1):
        if supervision.mean is None or imitation.mean is None:
            continue
        xerr, yerr = supervision.error, imitation.error
        axes.errorbar([supervision.mean], [imitation.mean], xerr=[[xerr[0]], [xerr[1]]], yerr=[[yerr[0]], [yerr[1]]],
                      fmt="o", capsize=3, label=f"{number}: {plain_label(label)}")
        axes.annotate(str(number), (supervision.mean, imitation.mean), textcoords="offset points",
                      xytext=(4 + 7 * (number - 1), 4), fontsize=8)
    axes.set_xlim(*_padded(limits))
    axes.set_ylim(*_padded(limits))
    axes.set_aspect("equal", adjustable="box")
    axes.set_xlabel(f"{name}: supervision (supervisor with the profile)")
    axes.set_ylabel(f"{name}: imitation (seed after training)")
    axes.set_title(f"{name}: imitation against supervision")
    axes.legend(loc="upper left", bbox_to_anchor=(0.0, -0.12), fontsize=7, frameon=False)
    return save_png(figure, path)


def _points_with_errors(axes, points: list[tuple[float, Point]], label: str, line: bool) -> None:
    """Points (x, score) with their intervals as error bars, joined when `line`; scoreless
    points left out."""
    shown = [(x, p) for x, p in points if p.mean is not None]
    if not shown:
        return
    errors = [p.error for _, p in shown]
    yerr = [[e[0] for e in errors], [e[1] for e in errors]]
    axes.errorbar([x for x, _ in shown], [p.mean for _, p in shown], yerr=yerr,
                  fmt="o-" if line and len(shown) > 1 else "o", capsize=3, label=label)


def metric_curves(series: dict[str, dict[str, list[tuple[float, Point]]]], x_label: str, path: Path) -> Path:
    """One panel per metric of `series` (metric -> name -> points (x, score)), each series a
    line of points with error bars."""
    figure = new_figure(4.2 * len(series), 3.8)
    for index, (metric, lines) in enumerate(series.items(), 1):
        name, limits = AXES[metric]
        axes = figure.add_subplot(1, len(series), index)
        for label, points in lines.items():
            _points_with_errors(axes, points, plain_label(label), line=True)
        axes.set_ylim(*_padded(limits))
        axes.set_xlabel(x_label)
        axes.set_title(name)
        if index == 1:
            axes.legend(fontsize=8)
    return save_png(figure, path)


def factor_panels(factor: str, values: list[str], points: dict[str, list[Point]], path: Path,
                  baseline: dict[str, Point] | None = None) -> Path:
    """One panel per metric, the factor's values along x (in the order given), each value's
    score with its interval; `baseline` (the seed before training) as a dotted line."""
    figure = new_figure(4.2 * len(AXES), 3.8)
    for index, metric in enumerate(AXES, 1):
        name, limits = AXES[metric]
        axes = figure.add_subplot(1, len(AXES), index)
        _points_with_errors(axes, list(enumerate(points[metric])), "after training", line=False)
        if baseline and baseline[metric].mean is not None:
            axes.axhline(baseline[metric].mean, linestyle=":", color="#888", label="seed before training")
        axes.set_xticks(range(len(values)), [plain_label(v) for v in values], rotation=15, fontsize=8)
        axes.set_xlim(-0.5, len(values) - 0.5)
        axes.set_ylim(*_padded(limits))
        axes.set_xlabel(factor)
        axes.set_title(name)
        if index == 1:
            axes.legend(fontsize=8)
    return save_png(figure, path)


def share_bars(groups: list[str], shares: list[float | None], title: str, path: Path) -> Path:
    """One bar per group on a 0-1 scale (a group without a share is drawn empty)."""
    figure = new_figure(5.0, 3.5)
    axes = figure.add_subplot()
    axes.bar(range(len(groups)), [s or 0.0 for s in shares], color="#4a7bd0")
    axes.set_xticks(range(len(groups)), [plain_label(g) for g in groups], fontsize=8)
    axes.set_ylim(0, 1.05)
    axes.set_title(title)
    return save_png(figure, path)
