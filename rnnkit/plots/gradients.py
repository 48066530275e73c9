"""Figures of the vanishing-gradient lab: gradient flow, learning curves, exploding gradients.

Each function returns a matplotlib ``Figure``; save it with `rnnkit.io.save_figure`.
"""

from __future__ import annotations

from matplotlib.figure import Figure


def gradient_flow_figure(norms: dict[str, dict[str, list[float]]], title: str) -> Figure:
    """Gradient norm vs timestep on a log scale, one panel per phase, one line per cell.

    ``norms[phase][cell]`` lists ||d loss / d h_t|| for t = 1 .. T, e.g. phases
    ``"at initialisation"`` and ``"after 300 steps"``.
    """
    fig = Figure(figsize=(5.0 * len(norms), 3.8), layout="constrained")
    axes = fig.subplots(1, len(norms), sharey=True, squeeze=False)[0]
    for ax, (phase, by_cell) in zip(axes, norms.items(), strict=True):
        for cell, values in by_cell.items():
            ax.plot(range(1, len(values) + 1), values, label=cell)
        ax.set_yscale("log")
        ax.set_xlabel("timestep t")
        ax.set_title(phase)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("||dL / dh_t||")
    axes[-1].legend(loc="lower right")
    fig.suptitle(title)
    return fig


def learning_curves_figure(
    curves: dict[str, tuple[list[int], list[float]]],
    baseline: float,
    baseline_label: str,
    ylabel: str,
    title: str,
) -> Figure:
    """Test loss vs training step on a log scale, one line per cell, the baseline dashed.

    ``curves[cell]`` is ``(steps, losses)``.
    """
    fig = Figure(figsize=(8.0, 4.0), layout="constrained")
    ax = fig.subplots()
    for cell, (steps, values) in curves.items():
        ax.plot(steps, values, label=cell)
    ax.axhline(baseline, color="black", linestyle="--", linewidth=1, label=baseline_label)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: never on a curve
    return fig


def exploding_figure(
    runs: dict[str, dict[str, list[float]]], clip: float, title: str
) -> Figure:
    """Training loss and gradient norm (before clipping) vs step, with and without clipping.

    ``runs[name]`` holds ``loss`` and ``grad_norm`` lists, one value per step; the clipping
    threshold is drawn dashed on the gradient-norm panel.
    """
    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    loss_ax, grad_ax = fig.subplots(1, 2)
    for name, run in runs.items():
        steps = range(1, len(run["loss"]) + 1)
        loss_ax.plot(steps, run["loss"], label=name)
        grad_ax.plot(steps, run["grad_norm"], label=name)
    grad_ax.axhline(clip, color="black", linestyle="--", linewidth=1, label=f"clip at {clip:g}")
    for ax, label in ((loss_ax, "training loss (MSE)"), (grad_ax, "gradient norm")):
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig
