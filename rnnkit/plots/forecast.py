"""Forecast figures: the forecast beside the actual series and persistence; the loss curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def forecast_figure(
    x: np.ndarray,
    actual: np.ndarray,
    test_x: np.ndarray,
    predictions: dict[str, np.ndarray],
    title: str,
    context: int = 120,
) -> Figure:
    """Actual values (the last ``context`` rows before the test period and the test period),
    with each named forecast over the test period, which is shaded."""
    fig, ax = plt.subplots(figsize=(9, 4))
    start = max(0, len(x) - len(test_x) - context)
    ax.plot(x[start:], actual[start:], color="black", lw=1.4, label="actual")
    styles = {"model": dict(color="tab:red", lw=1.6), "persistence": dict(color="tab:blue",
              lw=1.0, ls="--")}
    for name, values in predictions.items():
        ax.plot(test_x, values, label=name, **styles.get(name, dict(lw=1.0, ls=":")))
    ax.axvspan(test_x[0], test_x[-1], color="0.9", zorder=0, label="test period")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    return fig


def loss_figure(history: dict[str, list[float]], best_epoch: int | None) -> Figure:
    """Training (and validation) loss per epoch, log scale, the kept epoch marked."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in history.items():
        if values:
            ax.plot(np.arange(1, len(values) + 1), values, label=name.replace("_", " "))
    if best_epoch:
        ax.axvline(best_epoch, color="0.5", ls=":", label=f"kept: epoch {best_epoch}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled)")
    ax.legend(fontsize=8)
    return fig
