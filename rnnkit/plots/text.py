"""Text classification figures: the judgement forming word by word with the gates behind it;
the training curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def gate_heatmap(fig: Figure, ax: Axes, name: str, values: np.ndarray, step: str) -> None:
    """Draw one gate's activity (D, T, H) on ``ax``: every unit (rows; forward units above
    the backward ones) at every ``step`` (columns: "word", "character"), and the mean over
    units as a white line on the colour bar's scale."""
    D, T, H = values.shape
    image = np.concatenate([values[d].T for d in range(D)])  # (D*H, T)
    sigmoid = image.min() >= 0 and image.max() <= 1
    shown = ax.imshow(image, aspect="auto", interpolation="nearest", cmap="viridis",
                      vmin=0 if sigmoid else None, vmax=1 if sigmoid else None,
                      extent=(-0.5, T - 0.5, D * H, 0))
    if D == 2:
        ax.axhline(H, color="white", lw=1.0)
    ax.set_ylabel("units\n(fwd | bwd)" if D == 2 else "units", fontsize=8)
    ax.set_title(f"{name} of the first layer at each {step} (white line: mean over units)",
                 fontsize=9)
    fig.colorbar(shown, ax=ax, pad=0.01, fraction=0.03)
    mean = ax.twinx()
    mean.plot(np.arange(T), image.mean(0), color="white", lw=1.6, marker="o", ms=2.5)
    mean.set_ylim(*((0, 1) if sigmoid else (image.min(), image.max())))
    mean.set_yticks([])  # the line shares the colour bar's scale


def explain_figure(tokens: Sequence[str], probs: np.ndarray, classes: Sequence[str],
                   predicted: int, gates: dict[str, np.ndarray],
                   unknown: Sequence[bool]) -> Figure:
    """Top: each class's probability after each word (the prefix read alone), the predicted
    class drawn bold. Below, one heatmap per gate (name -> (D, T, H)): the activity of every
    unit (rows; forward units above the backward ones) at every word (columns).
    Words the vocabulary does not know are marked ``*`` (they were read as ``<unk>``).
    """
    T = len(tokens)
    fig = Figure(figsize=(min(max(6.0, 0.42 * T + 2.5), 22.0), 2.4 + 1.9 * len(gates)))
    axes = fig.subplots(1 + len(gates), 1, sharex=True, squeeze=False,
                        height_ratios=[1.3] + [1.0] * len(gates))
    axes = axes[:, 0]
    steps = np.arange(T)
    for k, name in enumerate(classes):
        bold = k == predicted
        axes[0].plot(steps, probs[:, k], marker="o" if bold else None, ms=3,
                     lw=2.0 if bold else 0.9, alpha=1.0 if bold else 0.6, label=f"P({name})")
    axes[0].axhline(1 / len(classes), color="0.6", ls=":", lw=0.8)
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("probability")
    axes[0].set_title(f"prediction {classes[predicted]!s} "
                      f"(p = {probs[-1, predicted]:.2f}): the judgement after each word")
    axes[0].legend(fontsize=7, loc="best", ncol=min(len(classes), 4))
    for ax, (name, values) in zip(axes[1:], gates.items(), strict=True):
        gate_heatmap(fig, ax, name, values, "word")
    labels = [f"{w}*" if u else w for w, u in zip(tokens, unknown, strict=True)]
    axes[-1].set_xticks(steps, labels, rotation=55, ha="right", fontsize=8)
    fig.tight_layout()
    return fig


def training_figure(history: dict[str, list[float]], best_epoch: int | None,
                    score_label: str = "dev accuracy") -> Figure:
    """Cross-entropy per epoch (training and dev) and the monitored dev score (``score_label``),
    the kept epoch marked."""
    fig = Figure(figsize=(9, 3.3))
    loss_ax, score_ax = fig.subplots(1, 2)
    for name in ("train_loss", "val_loss"):
        values = history.get(name) or []
        if values:
            loss_ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3,
                         label="train" if name == "train_loss" else "dev")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy")
    scores = history.get("val_score") or []
    score_ax.plot(np.arange(1, len(scores) + 1), scores, marker="o", ms=3, color="tab:green")
    score_ax.set_xlabel("epoch")
    score_ax.set_ylabel(score_label)
    for ax in (loss_ax, score_ax):
        if best_epoch:
            ax.axvline(best_epoch, color="0.5", ls=":", label=f"kept: epoch {best_epoch}")
    loss_ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
