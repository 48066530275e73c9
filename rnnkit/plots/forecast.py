"""Forecast figures: the forecast beside the actual series and persistence; the fan chart of
a forecast past the data; the loss curves."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def forecast_figure(
    x: np.ndarray,
    actual: np.ndarray,
    test_x: np.ndarray,
    predictions: dict[str, np.ndarray],
    title: str,
    context: int = 120,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    level: float | None = None,
) -> Figure:
    """Actual values (the last ``context`` rows before the test period and the test period),
    with each named forecast over the test period, which is shaded.

    ``bounds`` (lower, upper), each (N,) like ``test_x``: the model's prediction interval at
    the test rows, drawn as a band named by its ``level`` (0.9: "90% interval").
    """
    fig = Figure(figsize=(9, 4))
    ax = fig.subplots()
    start = max(0, len(x) - len(test_x) - context)
    ax.plot(x[start:], actual[start:], color="black", lw=1.4, label="actual")
    styles = {"model": dict(color="tab:red", lw=1.6), "persistence": dict(color="tab:blue",
              lw=1.0, ls="--")}
    for name, values in predictions.items():
        ax.plot(test_x, values, label=name, **styles.get(name, dict(lw=1.0, ls=":")))
    if bounds is not None:
        _interval_band(ax, test_x, bounds, level)
    ax.axvspan(test_x[0], test_x[-1], color="0.9", zorder=0, label="test period")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    return fig


def fan_figure(
    history_x: np.ndarray,
    history_y: np.ndarray,
    future_x: np.ndarray,
    forecast: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray] | None,
    level: float | None,
    title: str,
    context: int = 120,
) -> Figure:
    """A fan chart: the last ``context`` actual values, then the forecast after them with
    its prediction interval as a band, a dotted line at the forecast origin.

    ``history_x``, ``history_y`` (T,); ``future_x``, ``forecast`` (n,); ``bounds`` (lower,
    upper), each (n,), NaN where the interval ends (past the model's horizon), or None
    without an interval; ``level`` names the band (0.9: "90% interval"). x may hold
    datetimes or step numbers (the history's ending at the origin, e.g. -T+1..0 then 1..n).
    """
    fig = Figure(figsize=(9, 4))
    ax = fig.subplots()
    start = max(0, len(history_x) - context)
    ax.plot(history_x[start:], history_y[start:], color="black", lw=1.4, label="actual")
    ax.plot(future_x, forecast, color="tab:red", lw=1.6, marker="o", ms=2.5, label="forecast")
    if bounds is not None:
        _interval_band(ax, future_x, bounds, level)
    ax.axvline(history_x[-1], color="0.5", ls=":", label="forecast origin")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    return fig


def _interval_band(ax: Axes, x: np.ndarray, bounds: tuple[np.ndarray, np.ndarray],
                   level: float | None) -> None:
    """The prediction interval (lower, upper) over ``x`` as a red band named by its level."""
    lower, upper = bounds
    if not len(lower) == len(upper) == len(x):
        raise ValueError(f"bounds have {len(lower)} lower and {len(upper)} upper values for "
                         f"{len(x)} x values; pass one of each per forecast")
    label = "prediction interval" if level is None else f"{level:.0%} interval"
    ax.fill_between(x, lower, upper, color="tab:red", alpha=0.2, lw=0, label=label)


def loss_figure(history: dict[str, list[float]], best_epoch: int | None,
                ylabel: str = "MSE (scaled)") -> Figure:
    """Training (and validation) loss per epoch, log scale, the kept epoch marked."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for name, values in history.items():
        if values:
            ax.plot(np.arange(1, len(values) + 1), values, label=name.replace("_", " "))
    if best_epoch:
        ax.axvline(best_epoch, color="0.5", ls=":", label=f"kept: epoch {best_epoch}")
    return _finish_loss_axes(fig, ax, ylabel)


def _finish_loss_axes(fig: Figure, ax: Axes, ylabel: str) -> Figure:
    """The loss figures' common axes: log-scale loss against the epoch, with a legend."""
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return fig


def members_loss_figure(histories: list[dict[str, list[float]]],
                        best_epochs: list[int | None],
                        ylabel: str = "MSE (scaled)") -> Figure:
    """`loss_figure` for networks trained in turn (an ensemble): one colour per member,
    training loss solid, validation loss dashed, each member's kept epoch a dot."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for k, (history, best) in enumerate(zip(histories, best_epochs, strict=True)):
        colour = f"C{k % 10}"
        train, val = history.get("train_loss") or [], history.get("val_loss") or []
        if train:
            ax.plot(np.arange(1, len(train) + 1), train, color=colour,
                    label=f"member {k} train")
        if val:
            ax.plot(np.arange(1, len(val) + 1), val, color=colour, ls="--",
                    label=f"member {k} val")
            if best:
                ax.plot([best], [val[best - 1]], "o", color=colour, ms=5)
    ax.set_title("dots: the epoch each member kept", fontsize=9)
    return _finish_loss_axes(fig, ax, ylabel)


def windows_figure(
    x: np.ndarray, y: np.ndarray, origins: np.ndarray, lookback: int, forecast: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray] | None, picks: int = 3, title: str = "",
) -> Figure:
    """A few test windows: the lookback, the actual future, the forecast and its interval.

    ``y`` (T,) the target; ``forecast`` and ``bounds`` (N, H) for ``origins`` (N,).
    """
    chosen = np.linspace(0, len(origins) - 1, picks).astype(int)
    fig = Figure(figsize=(4 * picks, 3.2))
    axes = fig.subplots(1, picks, squeeze=False)
    for ax, k in zip(axes[0], chosen, strict=True):
        o = origins[k]
        past = slice(max(0, o - lookback + 1), o + 1)
        future = slice(o + 1, o + 1 + forecast.shape[1])
        ax.plot(x[past], y[past], color="0.4", lw=1, label="lookback")
        ax.plot(x[future], y[future], color="black", lw=1.2, label="actual")
        ax.plot(x[future], forecast[k], color="tab:red", lw=1.4, label="forecast")
        if bounds is not None:
            ax.fill_between(x[future], bounds[0][k], bounds[1][k], color="tab:red", alpha=0.15,
                            label="interval")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    return fig


def per_step_figure(per_step: dict[str, dict[str, list[float]]]) -> Figure:
    """MSE by lead time for the model and persistence: error grows with the horizon."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for name, errors in per_step.items():
        ax.plot(np.arange(1, len(errors["mse"]) + 1), errors["mse"], label=name)
    ax.set_xlabel("lead time (steps ahead)")
    ax.set_ylabel("MSE")
    ax.legend(fontsize=8)
    return fig


def explain_figure(
    x: np.ndarray, window: np.ndarray, future_x: np.ndarray, forecast: np.ndarray,
    gates: dict[str, np.ndarray], flow: np.ndarray, saliency: np.ndarray, title: str,
) -> Figure:
    """The glass box on one forecast: the window and forecast; mean gate activity per step;
    how much of d forecast / d h_t reaches each step (per layer) and each input step.

    ``gates`` maps "layer gate" to (S,) means; ``flow`` (layers, S); ``saliency`` (L,).
    """
    fig = Figure(figsize=(9, 8.5))
    axes = fig.subplots(3, 1)
    ax = axes[0]
    ax.plot(x, window, color="black", lw=1.3, label="input window")
    ax.plot(future_x, forecast, color="tab:red", marker="o", ms=3, lw=1.5, label="forecast")
    ax.legend(fontsize=8)
    ax.set_title(title)
    ax = axes[1]
    steps = np.arange(1, flow.shape[1] + 1)
    for name, values in gates.items():
        ax.plot(steps, values, lw=1.2, label=name)
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean gate activation")
    ax.set_xlabel("recurrent step (oldest first)")
    ax.legend(fontsize=7, ncol=4)
    ax = axes[2]
    for layer, norms in enumerate(flow):
        ax.semilogy(steps, norms, lw=1.4, label=f"|d forecast / d h_t|, layer {layer}")
    ax.set_xlabel("recurrent step (oldest first)")
    twin = ax.twinx()
    twin.bar(np.linspace(1, flow.shape[1], len(saliency)), saliency, width=flow.shape[1] /
             max(len(saliency), 1) * 0.8, color="tab:gray", alpha=0.35,
             label="|d forecast / d input|")
    twin.set_yticks([])
    lines, labels = ax.get_legend_handles_labels()
    bars, bar_labels = twin.get_legend_handles_labels()
    ax.legend(lines + bars, labels + bar_labels, fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
