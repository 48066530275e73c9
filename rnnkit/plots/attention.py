"""The attention alignment of a translation: which source words each output word attended to."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def alignment_figure(source: Sequence[str], target: Sequence[str], weights: np.ndarray,
                     title: str = "") -> Figure:
    """A heatmap of attention weights (T_out, S): rows are output tokens (top to bottom),
    columns source tokens; each row sums to one (as in Bahdanau et al. 2015, fig. 3)."""
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (len(target), len(source)):
        raise ValueError(f"weights have shape {weights.shape}; expected "
                         f"({len(target)}, {len(source)}) = (target tokens, source tokens)")
    fig = Figure(figsize=(1.5 + 0.45 * len(source), 1.2 + 0.38 * len(target)))
    ax = fig.subplots()
    image = ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.xaxis.tick_top()
    ax.set_xticks(range(len(source)), source, rotation=60, ha="left")
    ax.set_yticks(range(len(target)), target)
    ax.set_ylabel("output")
    if title:
        ax.set_xlabel(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="attention weight")
    fig.tight_layout()
    return fig
