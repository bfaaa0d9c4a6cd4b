"""A PNG of one series with its scores, the threshold and the labelled windows, for a person
to inspect what a detector did. matplotlib is imported lazily (it is slow to import).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_fleet_tradeoff", "plot_scored_series"]


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (imported late: it is slow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path | str) -> Path:
    """Lay out, write ``fig`` as a PNG at ``path`` (folders made as needed) and close it."""
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def plot_scored_series(
    path: Path | str,
    timestamps_ns: np.ndarray,
    values: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    windows: Sequence[tuple[int, int]] = (),
    band: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    title: str = "",
) -> Path:
    """Write the plot to ``path`` (PNG) and return it.

    Top panel: values, the expected value and band (``expected, lower, upper``; the usual
    range) when given, labelled windows shaded, alarms marked; its y axis fits the values,
    not the band. Bottom panel: scores and the threshold.
    """
    plt = _pyplot()

    times = np.asarray(timestamps_ns, dtype="datetime64[ns]")
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(14, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    top.plot(times, values, lw=0.7, color="tab:blue", label="value")
    if band is not None:
        expected, lower, upper = band
        top.plot(times, expected, lw=0.7, color="tab:green", label="expected")
        top.fill_between(times, lower, upper, color="tab:green", alpha=0.15, label="usual range")
    hot = np.flatnonzero(np.asarray(scores) >= threshold)
    top.scatter(times[hot], np.asarray(values)[hot], s=10, color="tab:red", zorder=3, label="alarm")
    for start, end in windows:
        for axis in (top, bottom):
            axis.axvspan(times[start], times[end], color="tab:red", alpha=0.12)
    bottom.plot(times, scores, lw=0.7, color="tab:orange", label="score")
    bottom.axhline(threshold, color="tab:purple", lw=0.8, ls="--", label="threshold")
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
        top.set_ylim(low - pad, high + pad)
    bottom.set_ylim(0, 1.02)
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)
    bottom.legend(loc="upper left", fontsize=8)
    return _save(plt, fig, path)


def plot_fleet_tradeoff(
    path: Path | str, results: Sequence[Any], default: float | None = None, title: str = ""
) -> Path:
    """Write recall against false alarms per 10k normal points, one dot per threshold.

    ``results`` are :class:`~backend.evaluation.fleet.FleetEvaluation` from a sweep; each
    dot is labelled with its threshold and the engine's ``default`` is ringed, so one sees
    what a stricter or looser threshold would buy.
    """
    plt = _pyplot()

    rates = [r.false_alarms_per_10k for r in results]
    recalls = [r.recall for r in results]
    fig, axis = plt.subplots(figsize=(7, 5))
    axis.plot(rates, recalls, marker="o", lw=1.0, color="tab:blue")
    for result, x, y in zip(results, rates, recalls, strict=True):
        axis.annotate(
            f"{result.threshold:.2f}",
            (x, y),
            textcoords="offset points",
            xytext=(5, -10),
            fontsize=8,
        )
        if default is not None and result.threshold == default:
            axis.scatter(
                [x],
                [y],
                s=160,
                facecolors="none",
                edgecolors="tab:red",
                label=f"default threshold {default:.2f}",
            )
    axis.set_xlabel("false alarms per 10,000 normal points")
    axis.set_ylabel("event recall")
    axis.set_ylim(0, 1.02)
    axis.set_xlim(left=0)
    axis.grid(alpha=0.3)
    axis.set_title(title or "Recall against false alarms, by threshold")
    if default is not None:
        axis.legend(loc="lower right", fontsize=8)
    return _save(plt, fig, path)
