"""SegRNN (Lin et al. 2023): segment-wise recurrence and parallel multi-step decoding."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.cells import GRUState
from rnnkit.layers import Recurrent, Trace


class SegRNN(nn.Module):
    r"""Segment-wise GRU encoder with parallel multi-step forecasting (PMF) decoding.

    Each channel is forecast independently with shared weights. The lookback of length L is
    cut into N = L / w segments of w steps; each segment is embedded,
    :math:`e_n = \mathrm{ReLU}(W_e s_n)`, and one GRU runs over the N embeddings (N steps
    instead of L: gradients cross few steps). The M = H / w output segments are decoded in
    parallel: the same GRU takes one step from the final state h_N with input
    :math:`[p_m; c_k]` (a learned position embedding of output segment m and channel
    embedding of channel k), and :math:`\hat y_m = W_o\,\mathrm{drop}(h'_m)` (w values).

    The recurrence is rnnkit's `Recurrent` ("gru"), so its gates can be traced.

    Shapes: x (B, L, C) -> (B, H, C). L and H must be multiples of ``segment_length``.
    """

    def __init__(self, lookback: int, horizon: int, channels: int, segment_length: int = 48,
                 hidden_size: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        if lookback % segment_length or horizon % segment_length:
            raise ValueError(
                f"segment_length={segment_length} must divide lookback={lookback} and "
                f"horizon={horizon}; pick e.g. {_common_divisor(lookback, horizon)}"
            )
        if hidden_size % 2:
            raise ValueError(f"hidden_size={hidden_size} must be even (position + channel halves)")
        self.w = segment_length
        self.n_in, self.n_out = lookback // segment_length, horizon // segment_length
        self.embed = nn.Sequential(nn.Linear(segment_length, hidden_size), nn.ReLU())
        self.rnn = Recurrent("gru", hidden_size, hidden_size)
        self.position = nn.Parameter(torch.randn(self.n_out, hidden_size // 2))
        self.channel = nn.Parameter(torch.randn(channels, hidden_size // 2))
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, segment_length)

    def forward(self, x: Tensor, trace: bool = False) -> Tensor | tuple[Tensor, Trace]:
        """(B, L, C) windows (already normalised) -> (B, H, C) forecasts; with ``trace``
        also the `Trace` of the encoder over the N segments (rows ordered batch, channel)."""
        B, L, C = x.shape
        d = self.position.shape[1] * 2
        segments = x.permute(0, 2, 1).reshape(B * C, self.n_in, self.w)  # (B*C, N, w)
        encoded = self.rnn(self.embed(segments), trace=trace)
        queries = torch.cat([
            self.position[None, :, :].expand(C, -1, -1),  # (C, M, d/2)
            self.channel[:, None, :].expand(-1, self.n_out, -1),  # (C, M, d/2)
        ], dim=-1)  # (C, M, d)
        # one GRU step from h_N per output segment, with the C*M distinct inputs projected
        # once and h_N once per series, broadcast against each other: (B, C, M, d), the
        # same numbers as stepping B*C*M copies of (query, h_N), for far fewer products
        cell = self.rnn.cells["l0"]
        h = encoded[1].reshape(B, C, 1, d)
        out, _, _ = cell.step(cell.project(queries)[None], GRUState(h))
        y = self.out(self.drop(out))  # (B, C, M, w)
        y = y.reshape(B, C, self.n_out * self.w).permute(0, 2, 1)
        return (y, encoded[2]) if trace else y


def _common_divisor(a: int, b: int) -> int:
    import math

    g = math.gcd(a, b)
    return max((k for k in (48, 24, 12, 8, 6, 4, 2, 1) if g % k == 0), default=1)
