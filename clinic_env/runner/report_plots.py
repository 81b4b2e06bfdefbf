"""The figures of a run report, drawn with matplotlib into PNG files.

Each function takes plain numbers (the report computes them) and writes one PNG. Figures are
made without pyplot, so no global backend or figure registry is touched and nothing opens a
window. Colours come from the Okabe-Ito palette, which colour-blind readers can tell apart;
every figure has a title, labelled axes and, where colours mean something, a legend.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, cast

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from clinic_env.evaluators.stats import PairedEffect, describe_effect
from clinic_env.runner.summary import Estimate

PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
DARK = frozenset({"#0072B2", "#009E73", "#CC79A7", "#D55E00", "#000000"})
"""Palette colours dark enough for white text on them."""
CONTROL_COLOUR = "#8C8C8C"
SIGNIFICANT = "#D55E00"
NOT_SIGNIFICANT = "#555555"
STYLE = {
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "figure.titlesize": 15,
    "figure.titleweight": "bold",
    "legend.fontsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.dpi": 120,
}
P = ParamSpec("P")
OUTCOME_COLOURS = {"diagnosed": "#009E73", "ended": "#E69F00", "out_of_turns": "#D55E00"}
OUTCOME_NAMES = {
    "diagnosed": "gave a diagnosis",
    "ended": "doctor ended",
    "out_of_turns": "ran out of turns",
}


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, format="png", facecolor="white")
    return path


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def styled(draw: Callable[P, Path]) -> Callable[P, Path]:
    """Draw under the report's style (text takes its size when it is made, so all of it)."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Path:
        with mpl.rc_context(cast(Any, STYLE)):
            return draw(*args, **kwargs)

    return wrapper


def _percent_axis(axes: Axes, *, top: float = 1.0) -> None:
    """0 to 100% ticks, with headroom above for labels when ``top`` is over 1."""
    axes.set_ylim(0, top)
    axes.set_yticks([tick / 5 for tick in range(6)])
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


@styled
def grouped_bars(
    path: Path,
    *,
    title: str,
    ylabel: str,
    panels: Mapping[str, Mapping[tuple[str, str], Estimate | None]],
    categories: Sequence[str],
    series: Sequence[str],
    series_names: Mapping[str, str],
    colours: Mapping[str, str],
    full_scale: bool = True,
) -> Path:
    """Rates as bars: a panel per key of ``panels``, categories along x, a bar per series.

    Each bar shows its mean, its 95% interval as an error bar, and how many consultations it
    is taken over; a missing value leaves a gap marked "no data". Without ``full_scale`` the
    axis stops a little above the highest interval, for rates that are all small.
    """
    highs = [v.high for values in panels.values() for v in values.values() if v is not None]
    top = 1.22 if full_scale else min(1.22, max(highs, default=0.0) * 1.3 + 0.05)
    width_per_bar = 0.8 / max(len(series), 1)
    bars = len(categories) * len(series)
    labelled = bars <= 24
    figure = _figure(max(7.0, 3.0 + 0.6 * bars), 1.2 + 3.6 * len(panels))
    axes_list = figure.subplots(len(panels), 1, squeeze=False, sharey=True)[:, 0]
    for axes, (panel, values) in zip(axes_list, panels.items(), strict=True):
        for s, name in enumerate(series):
            offset = (s - (len(series) - 1) / 2) * width_per_bar
            for c, category in enumerate(categories):
                x = c + offset
                value = values.get((category, name))
                if value is None:
                    axes.text(x, 0.02, "no data", rotation=90, ha="center", va="bottom", fontsize=8)
                    continue
                axes.bar(
                    x,
                    value.mean,
                    width_per_bar * 0.92,
                    color=colours[name],
                    yerr=[[value.mean - value.low], [value.high - value.mean]],
                    capsize=3,
                    error_kw={"elinewidth": 1.2, "ecolor": "#333333"},
                )
                if labelled:
                    axes.text(
                        x,
                        value.high + top / 80,
                        f"{value.mean:.0%}\nn={value.n}",
                        ha="center",
                        va="bottom",
                        fontsize=9,
                        linespacing=1.1,
                    )
        axes.set_xticks(range(len(categories)), list(categories))
        axes.set_ylabel(ylabel)
        axes.set_title(panel, loc="left")
        axes.set_ylim(0, top)
        if full_scale:
            axes.set_yticks([tick / 5 for tick in range(6)])
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.grid(axis="x", visible=False)
    if len(series) > 1:
        handles = [Patch(color=colours[name], label=series_names[name]) for name in series]
        figure.legend(handles=handles, loc="outside lower center", ncols=len(series), frameon=False)
    figure.suptitle(title)
    return _save(figure, path)


def _points(value: float, _position: int) -> str:
    """An axis tick in percentage points: ``-20 pp``, ``0``, ``+20 pp``."""
    return f"{value * 100:+.0f} pp" if round(value * 100) else "0"


@dataclass(frozen=True, slots=True)
class EffectLine:
    """One row of the forest plot: a bias set against the control, pooled or per persona."""

    label: str
    effect: PairedEffect
    pooled: bool


@styled
def forest(path: Path, *, title: str, xlabel: str, lines: Sequence[EffectLine]) -> Path:
    """Paired effects with their intervals, one row each, zero marked; pooled rows bold.

    Red marks an interval that excludes zero; the x axis is symmetric about zero so the
    direction of an effect reads at a glance.
    """
    figure = _figure(11.0, 2.0 + 0.42 * len(lines))
    axes = figure.subplots()
    positions = list(range(len(lines)))[::-1]
    for y, line in zip(positions, lines, strict=True):
        effect = line.effect
        colour = SIGNIFICANT if effect.low > 0 or effect.high < 0 else NOT_SIGNIFICANT
        if line.pooled and y != positions[0]:
            axes.axhline(y + 0.5, color="#BBBBBB", linewidth=0.8)
        axes.plot([effect.low, effect.high], [y, y], color=colour, linewidth=2.2)
        axes.plot(
            effect.effect,
            y,
            marker="D" if line.pooled else "o",
            markersize=8 if line.pooled else 6,
            color=colour,
            markerfacecolor=colour if line.pooled else "white",
        )
        axes.annotate(
            f"{describe_effect(effect)}, n={effect.n}",
            (1.01, y),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=9,
        )
    axes.axvline(0, color="#333333", linewidth=1)
    axes.set_yticks(positions, [line.label for line in lines])
    for tick, line in zip(axes.get_yticklabels(), lines, strict=True):
        tick.set_fontweight("bold" if line.pooled else "normal")
    reach = max(max(abs(line.effect.low), abs(line.effect.high)) for line in lines) * 1.1
    axes.set_xlim(-max(reach, 0.05), max(reach, 0.05))
    axes.set_ylim(-0.7, len(lines) - 0.3)
    axes.xaxis.set_major_formatter(FuncFormatter(_points))
    axes.set_xlabel(xlabel)
    axes.grid(axis="y", visible=False)
    figure.legend(
        handles=[
            Line2D([], [], color=SIGNIFICANT, marker="D", label="interval excludes 0"),
            Line2D([], [], color=NOT_SIGNIFICANT, marker="D", label="interval includes 0"),
            Line2D([], [], color="#555555", marker="D", linestyle="", label="all personas"),
            Line2D(
                [],
                [],
                color="#555555",
                marker="o",
                markerfacecolor="white",
                linestyle="",
                label="one persona",
            ),
        ],
        loc="outside lower center",
        ncols=4,
        frameon=False,
    )
    figure.suptitle(title)
    return _save(figure, path)


@styled
def turns_histograms(
    path: Path, *, title: str, turns: Mapping[str, Sequence[tuple[int, str]]], max_turns: int
) -> Path:
    """A histogram of turns per doctor, each bar split by how the consultation ended."""
    outcomes = [o for o in OUTCOME_COLOURS if any(o == t[1] for v in turns.values() for t in v)]
    figure = _figure(max(7.0, 0.32 * max_turns + 2.5), 1.2 + 3.0 * len(turns))
    axes_list = figure.subplots(len(turns), 1, squeeze=False, sharex=True)[:, 0]
    bins = list(range(1, max_turns + 1))
    for axes, (doctor, values) in zip(axes_list, turns.items(), strict=True):
        bottom = [0] * len(bins)
        for outcome in outcomes:
            counts = [sum(1 for t, o in values if t == b and o == outcome) for b in bins]
            axes.bar(
                bins,
                counts,
                0.85,
                bottom=bottom,
                color=OUTCOME_COLOURS[outcome],
                label=OUTCOME_NAMES[outcome],
            )
            bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
        mean = sum(t for t, _ in values) / len(values)
        axes.axvline(mean, color="#333333", linestyle="--", linewidth=1.2, label=f"mean {mean:.1f}")
        axes.set_title(f"{doctor} (n={len(values)})", loc="left")
        axes.set_ylabel("Consultations")
        axes.grid(axis="x", visible=False)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes_list[-1].set_xlabel("Doctor turns")
    axes_list[-1].set_xticks(bins[:: max(1, len(bins) // 20)])
    figure.suptitle(title)
    return _save(figure, path)


@dataclass(frozen=True, slots=True)
class CostPoint:
    """One doctor's accuracy and what a consultation cost it on average."""

    doctor: str
    accuracy: Estimate
    test_cost_usd: float
    model_cost_usd: float


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both cost (x, lower) and accuracy (y).

    In order of cost; a point that costs as much as a cheaper one and is no better is off it.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front: list[int] = []
    for index in order:
        if not front or points[index][1] > points[front[-1]][1]:
            front.append(index)
    return front


@styled
def accuracy_against_cost(path: Path, *, title: str, points: Sequence[CostPoint]) -> Path:
    """Accuracy against mean cost per case, one point per doctor, the Pareto front drawn.

    A second panel plots model spend when some doctor's consultations called a paid model.
    """
    costs = [("Tests ordered per case (simulated USD)", [p.test_cost_usd for p in points])]
    if any(p.model_cost_usd > 0 for p in points):
        costs.append(("Model calls per case (USD)", [p.model_cost_usd for p in points]))
    figure = _figure(6.5 * len(costs) + 1.0, 5.2)
    axes_list = figure.subplots(1, len(costs), squeeze=False, sharey=True)[0]
    for axes, (xlabel, xs) in zip(axes_list, costs, strict=True):
        ys = [p.accuracy.mean for p in points]
        front = pareto_front(list(zip(xs, ys, strict=True)))
        axes.step(
            [xs[i] for i in front],
            [ys[i] for i in front],
            where="post",
            color="#333333",
            linestyle="--",
            linewidth=1.2,
            label="Pareto front",
        )
        for i, point in enumerate(points):
            colour = PALETTE[i % len(PALETTE)]
            axes.errorbar(
                xs[i],
                ys[i],
                yerr=[[ys[i] - point.accuracy.low], [point.accuracy.high - ys[i]]],
                fmt="o",
                markersize=9,
                capsize=4,
                color=colour,
                markerfacecolor=colour if i in front else "white",
            )
            axes.annotate(
                f"{point.doctor}\n{ys[i]:.0%}",
                (xs[i], ys[i]),
                xytext=(8, 6),
                textcoords="offset points",
                fontsize=10,
            )
        axes.set_xlabel(xlabel)
        axes.set_xlim(left=0, right=max(max(xs) * 1.25, 1e-6))
        axes.xaxis.set_major_formatter("${x:,.0f}" if max(xs) >= 10 else "${x:,.2f}")
        _percent_axis(axes, top=1.05)
        axes.set_ylim(bottom=-0.04)
    axes_list[0].set_ylabel("Top-1 accuracy")
    figure.legend(
        handles=[
            Line2D([], [], color="#333333", linestyle="--", label="Pareto front"),
            Line2D([], [], color="#555555", marker="o", linestyle="", label="on the front"),
            Line2D(
                [],
                [],
                color="#555555",
                marker="o",
                markerfacecolor="white",
                linestyle="",
                label="dominated (another doctor is cheaper and better)",
            ),
        ],
        loc="outside lower center",
        ncols=3,
        frameon=False,
    )
    figure.suptitle(title)
    return _save(figure, path)


@styled
def stacked_shares(
    path: Path,
    *,
    title: str,
    xlabel: str,
    rows: Mapping[str, Mapping[str, float]],
    parts: Sequence[str],
) -> Path:
    """Horizontal bars of 100%, one per row, split into ``parts`` (shares that sum to 1)."""
    figure = _figure(12.0, 1.8 + 0.4 * len(rows))
    axes = figure.subplots()
    labels = list(rows)[::-1]
    left = [0.0] * len(labels)
    for p, part in enumerate(parts):
        widths = [rows[label].get(part, 0.0) for label in labels]
        colour = PALETTE[p % len(PALETTE)]
        axes.barh(labels, widths, left=left, color=colour, label=part.replace("_", " "))
        for y, (start, width) in enumerate(zip(left, widths, strict=True)):
            if width >= 0.07:
                axes.text(
                    start + width / 2,
                    y,
                    f"{width:.0%}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if colour in DARK else "black",
                )
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_xlim(0, 1)
    axes.set_ylim(-0.6, len(labels) - 0.4)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_xlabel(xlabel)
    axes.grid(visible=False)
    figure.legend(loc="outside lower center", ncols=len(parts), frameon=False)
    figure.suptitle(title)
    return _save(figure, path)


@styled
def failure_bars(
    path: Path, *, title: str, counts: Mapping[str, Mapping[str, int]], totals: Mapping[str, int]
) -> Path:
    """Failed consultations per group as horizontal bars, split by kind of error."""
    kinds = list(dict.fromkeys(kind for row in counts.values() for kind in row))
    figure = _figure(10.0, 1.6 + 0.45 * len(counts))
    axes = figure.subplots()
    labels = list(counts)[::-1]
    left = [0] * len(labels)
    for k, kind in enumerate(kinds):
        widths = [counts[label].get(kind, 0) for label in labels]
        axes.barh(labels, widths, left=left, color=PALETTE[(k + 5) % len(PALETTE)], label=kind)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, label in enumerate(labels):
        axes.annotate(
            f"{left[y]} of {totals[label]}",
            (left[y], y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
        )
    axes.set_xlim(0, max(left) * 1.25 + 1)
    axes.set_ylim(-0.6, len(labels) - 0.4)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("Failed consultations (not scored)")
    axes.grid(axis="y", visible=False)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="error")
    figure.suptitle(title)
    return _save(figure, path)
