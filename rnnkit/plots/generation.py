"""How a language model reads a text: the surprise of each token and the gates behind it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from rnnkit.plots.text import gate_heatmap


def surprisal_figure(tokens: Sequence[str], bits: np.ndarray,
                     gates: dict[str, np.ndarray]) -> Figure:
    """Top: -log2 p of each token given the ones before (the first token is not scored).
    Below, one heatmap per gate (name -> (1, T, H)) of the first layer at each token."""
    T = len(tokens)
    fig = Figure(figsize=(min(max(6.0, 0.3 * T + 2.5), 22.0), 2.4 + 1.9 * len(gates)))
    axes = fig.subplots(1 + len(gates), 1, sharex=True, squeeze=False,
                        height_ratios=[1.3] + [1.0] * len(gates))
    axes = axes[:, 0]
    steps = np.arange(1, T)
    axes[0].bar(steps, bits, color="tab:orange")
    axes[0].set_ylabel("bits")
    axes[0].set_title(f"surprise of each token given the ones before: mean "
                      f"{float(np.mean(bits)):.2f} bits")
    for ax, (name, values) in zip(axes[1:], gates.items(), strict=True):
        gate_heatmap(fig, ax, name, values, "token")
    shown = [repr(t)[1:-1] if t.isspace() or not t.isprintable() else t for t in tokens]
    axes[-1].set_xticks(np.arange(T), shown, rotation=0 if max(map(len, shown)) == 1 else 55,
                        fontsize=8)
    fig.tight_layout()
    return fig
