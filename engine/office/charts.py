"""The charts of a report, drawn with matplotlib to PNG (without a display: the Agg backend).

Values arrive as Decimals and are turned into floats here only to be drawn: a chart is a
picture, and every figure a reader can quote is printed in a table beside it. The PNG carries
no time stamp, so the same data draws the same bytes.

matplotlib is imported on the first chart only: it takes half a second, and most commands
never draw one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from engine.office.report_body import Chart

COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0")
DPI = 150


def _pyplot() -> Any:
    import matplotlib  # here: a slow import, only when a report draws

    matplotlib.use("Agg")
    from matplotlib import pyplot  # here: after choosing the backend

    return pyplot


def _png(figure: Any, title: str, width_cm: float) -> Chart:
    pyplot = _pyplot()
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    pyplot.close(figure)
    return Chart(title, buffer.getvalue(), width_cm)


def _figure(width_cm: float, height_cm: float) -> tuple[Any, Any]:
    figure, axes = _pyplot().subplots(figsize=(width_cm / 2.54, height_cm / 2.54))
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.tick_params(labelsize=7)
    return figure, axes


def bars(title: str, labels: Sequence[str], series: dict[str, Sequence[Decimal | int]],
         width_cm: float = 16.0, height_cm: float = 6.5) -> Chart:
    """Bars side by side for each label, one colour a series (revenue and expenses by month;
    receivables by age)."""
    figure, axes = _figure(width_cm, height_cm)
    count = max(len(series), 1)
    width = 0.8 / count
    for n, (name, values) in enumerate(series.items()):
        positions = [i + (n - (count - 1) / 2) * width for i in range(len(labels))]
        axes.bar(positions, [float(v) for v in values], width, label=name, color=COLOURS[n % len(COLOURS)])
    axes.set_xticks(range(len(labels)), labels)
    if len(series) > 1:
        axes.legend(fontsize=7, frameon=False)
    return _png(figure, title, width_cm)


def line(title: str, labels: Sequence[str], series: dict[str, Sequence[Decimal | int | None]],
         width_cm: float = 16.0, height_cm: float = 6.0) -> Chart:
    """A line a series over the labels (stock value at each month end)."""
    figure, axes = _figure(width_cm, height_cm)
    for n, (name, values) in enumerate(series.items()):
        axes.plot(range(len(labels)), [None if v is None else float(v) for v in values], marker="o",
                  markersize=3, label=name, color=COLOURS[n % len(COLOURS)])
    axes.set_xticks(range(len(labels)), labels)
    if len(series) > 1:
        axes.legend(fontsize=7, frameon=False)
    return _png(figure, title, width_cm)


def control(title: str, points: Sequence[Decimal], centre: Decimal, lower: Decimal | None, upper: Decimal | None,
            labels: Sequence[str] | None = None, width_cm: float = 16.0, height_cm: float = 6.0) -> Chart:
    """A control chart: the subgroups' means with the centre line and the control limits; a
    point outside the limits is drawn red."""
    figure, axes = _figure(width_cm, height_cm)
    xs = range(len(points))
    values = [float(p) for p in points]
    axes.plot(xs, values, marker="o", markersize=3, color=COLOURS[0], linewidth=1)
    axes.axhline(float(centre), color="#404040", linewidth=1)
    for limit in (lower, upper):
        if limit is not None:
            axes.axhline(float(limit), color="#c00000", linewidth=1, linestyle="--")
    outside = [(x, v) for x, v, p in zip(xs, values, points, strict=True)
               if (lower is not None and p < lower) or (upper is not None and p > upper)]
    if outside:
        axes.scatter(*zip(*outside, strict=True), color="#c00000", zorder=3, s=12)
    if labels:
        step = max(1, len(labels) // 12)
        axes.set_xticks(list(xs)[::step], list(labels)[::step])
    return _png(figure, title, width_cm)
