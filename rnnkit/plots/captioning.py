"""Where the captioner looked: the image, and for each word the attention over the CNN grid
laid over it (Xu et al. 2015, fig. 2/3)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def upsample(weights: np.ndarray, height: int, width: int) -> np.ndarray:
    """Grid weights (h, w) stretched to an image's (height, width) by nearest cells."""
    rows = (np.arange(height) * weights.shape[0]) // height
    cols = (np.arange(width) * weights.shape[1]) // width
    return weights[rows][:, cols]


def attention_figure(image: np.ndarray, words: Sequence[str], weights: np.ndarray,
                     title: str) -> Figure:
    """The image (H, W) grey or (H, W, 3) RGB in 0..255, then one panel per output word with
    its attention (T, h, w) over the grid drawn on the image (brighter: attended)."""
    panels = 1 + len(words)
    aspect = image.shape[1] / image.shape[0]
    columns = 1 if aspect >= 2 else min(4, panels)
    rows = -(-panels // columns)
    fig = Figure(figsize=(min(9.0, 2.6 * aspect) * columns / max(1, columns - 1 or 1),
                          (2.6 if aspect < 2 else 1.1 + 3.0 / aspect) * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    grey = image.ndim == 2
    for ax in axes.ravel():
        ax.axis("off")
    axes.ravel()[0].imshow(image, cmap="gray" if grey else None, vmin=0, vmax=255)
    axes.ravel()[0].set_title("image", fontsize=9)
    for k, (word, w) in enumerate(zip(words, weights, strict=False), start=1):
        ax = axes.ravel()[k]
        ax.imshow(image, cmap="gray" if grey else None, vmin=0, vmax=255)
        heat = upsample(w / max(float(w.max()), 1e-9), image.shape[0], image.shape[1])
        ax.imshow(heat, cmap="magma", alpha=0.55, vmin=0, vmax=1)
        ax.set_title(f"{word}  (max {float(w.max()):.2f})", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
