"""Instance normalisation of each input window, undone on the forecast (RevIN, Kim et al. 2022)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

MODES = ("last", "revin", "none")


class InstanceNorm(nn.Module):
    r"""Normalise each window by its own statistics; restore them on the output.

    - ``"last"``: :math:`\tilde x_t = x_t - x_L` (the window's last row); the forecast is
      added to :math:`x_L`, so a zero output is the persistence forecast (SegRNN's choice).
    - ``"revin"``: :math:`\tilde x_t = \gamma (x_t - \mu) / \sigma + \beta` per window and
      channel, with a learnable affine (:math:`\gamma, \beta`) undone on the output.
    - ``"none"``: identity.

    Shapes: x (B, L, C); outputs (B, H, C') for the first C' channels.
    """

    def __init__(self, mode: str, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"normalize={mode!r}; expected one of {MODES}")
        self.mode = mode
        self.eps = eps
        if mode == "revin":
            self.weight = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        """(B, L, C) -> normalised windows and the statistics `restore` needs."""
        if self.mode == "last":
            last = x[:, -1:, :]
            return x - last, (last,)
        if self.mode == "revin":
            mean = x.mean(dim=1, keepdim=True)
            std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps)
            return (x - mean) / std * self.weight + self.bias, (mean, std)
        return x, ()

    def restore(self, y: Tensor, stats: tuple[Tensor, ...]) -> Tensor:
        """Undo the normalisation on forecasts y (B, H, C') of the first C' channels."""
        c = y.shape[-1]
        if self.mode == "last":
            return y + stats[0][..., :c]
        if self.mode == "revin":
            mean, std = stats
            y = (y - self.bias[:c]) / (self.weight[:c] + self.eps * self.eps)
            return y * std[..., :c] + mean[..., :c]
        return y
