"""The gated recurrent unit (Cho et al. 2014), in torch's formulation."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.cells.base import Cell


class GRUState(NamedTuple):
    """State of a GRU: the hidden vector h (B, H)."""

    h: Tensor


class GRUGates(NamedTuple):
    """Gate activations of one GRU step, each (B, H): reset r, update z, candidate n."""

    r: Tensor
    z: Tensor
    n: Tensor


class GRUCell(Cell):
    r"""GRU cell, equal to ``torch.nn.GRUCell`` (the reset gate acts after the recurrent matmul).

    .. math::
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Shapes: x_t (B, H_in); h (B, H). ``weight_ih`` (3H, H_in) and ``weight_hh`` (3H, H) stack
    the gates in the order r, z, n, as torch does.

    Example:
        >>> h, state = GRUCell(3, 5)(torch.randn(2, 3))
        >>> tuple(state.h.shape)
        (2, 5)
    """

    gate_count = 3
    state_type = GRUState
    fused_mode = "GRU"

    def step(self, xw: Tensor, state: GRUState) -> tuple[Tensor, GRUState, GRUGates]:
        """One step from xw = W_ih x_t + b_ih (B, 3H): returns (h_t, GRUState, GRUGates).

        Any leading dimensions broadcast (xw (..., 3H) against h (..., H)): many inputs can
        share one state without copying it, as in SegRNN's parallel decoding."""
        h_prev = state.h
        hw = F.linear(h_prev, self.weight_hh, self.bias_hh)  # (..., 3H)
        x_r, x_z, x_n = xw.chunk(3, -1)
        h_r, h_z, h_n = hw.chunk(3, -1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = (1 - z) * n + z * h_prev
        return h, GRUState(h), GRUGates(r, z, n)
