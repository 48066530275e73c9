"""Panel figures: fan charts of a few series' quantile forecasts, and how the model's
per-series skill over the baselines is spread."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

Chart = tuple[str, np.ndarray, np.ndarray, Sequence[float], np.ndarray | None]


def fan_grid(charts: Sequence[Chart], context: int = 120) -> Figure:
    """One fan chart per series, stacked: the last ``context`` observed values, the median
    forecast and the bands between symmetric quantiles (e.g. 0.1-0.9, 0.025-0.975), and the
    actual values when known.

    Each chart is (title, history (T,), quantiles (H, Q), levels (Q,), actual (H,) or None).
    """
    fig = Figure(figsize=(9, 2.8 * len(charts)))
    axes = np.atleast_1d(fig.subplots(len(charts), 1))
    for ax, (title, history, quantiles, levels, actual) in zip(axes, charts, strict=True):
        levels = list(levels)
        shown = history[-context:]
        past = np.arange(-len(shown) + 1, 1)
        ahead = np.arange(1, len(quantiles) + 1)
        ax.plot(past, shown, color="black", lw=1.2, label="history")
        for low in sorted(q for q in levels if q < 0.5):
            high = round(1 - low, 10)
            if high in levels:
                ax.fill_between(ahead, quantiles[:, levels.index(low)],
                                quantiles[:, levels.index(high)], color="tab:red",
                                alpha=0.15, lw=0, label=f"{high - low:.0%} interval")
        ax.plot(ahead, quantiles[:, levels.index(0.5)], color="tab:red", lw=1.5,
                label="median forecast")
        if actual is not None:
            ax.plot(ahead, actual, color="black", lw=1.0, ls="--", label="actual")
        ax.axvline(0.5, color="0.5", ls=":")
        ax.set_title(title, fontsize=9)
        ax.legend(loc="upper left", fontsize=7)
    axes[-1].set_xlabel("steps from the forecast origin")
    fig.tight_layout()
    return fig


def skill_histogram(table: pd.DataFrame, columns: Sequence[str]) -> Figure:
    """Histogram of the per-series sMAPE skill ``1 - sMAPE_model / sMAPE_baseline`` against
    each baseline (``table`` has ``smape`` and the ``columns`` ``smape_<baseline>``)."""
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    for column in columns:
        theirs = table[column].to_numpy()
        skill = 1 - table["smape"].to_numpy() / np.where(theirs > 0, theirs, np.nan)
        skill = skill[np.isfinite(skill)]
        ax.hist(np.clip(skill, -1, 1), bins=40, histtype="step", lw=1.3,
                label=f"vs {column.removeprefix('smape_')} (better on {np.mean(skill > 0):.0%})")
    ax.axvline(0, color="0.4", ls=":")
    ax.set_xlabel("per-series sMAPE skill (clipped to [-1, 1]; > 0: the model is better)")
    ax.set_ylabel("series")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
