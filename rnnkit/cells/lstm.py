"""The LSTM cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000)
and its variants: peephole connections and the coupled input-forget gate."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.cells.base import Cell


class LSTMState(NamedTuple):
    """State of an LSTM: hidden vector h and cell state c, each (B, H)."""

    h: Tensor
    c: Tensor


class LSTMGates(NamedTuple):
    """Gate activations of one LSTM step, each (B, H).

    i: input gate, f: forget gate, g: tanh candidate, o: output gate.
    """

    i: Tensor
    f: Tensor
    g: Tensor
    o: Tensor


class LSTMCell(Cell):
    r"""LSTM cell, equal to ``torch.nn.LSTMCell``.

    Inputs (x_t, h_{t-1}, C_{t-1}), outputs (h_t, C_t):

    .. math::
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})
            && \text{forget gate: what to erase from } C_{t-1} \\
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})
            && \text{input gate: how much of the candidate to write} \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})
            && \text{candidate values} \\
        C_t &= f_t \odot C_{t-1} + i_t \odot g_t
            && \text{cell state update} \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})
            && \text{output gate} \\
        h_t &= o_t \odot \tanh(C_t)

    The additive update of C_t is what lets gradients flow across many steps: dC_t/dC_{t-1} = f_t.

    Shapes: x_t (B, H_in); h, c (B, H). ``weight_ih`` (4H, H_in) and ``weight_hh`` (4H, H) stack
    the gates in torch's order i, f, g, o, so weights copy to and from ``torch.nn.LSTM`` unchanged.

    Example:
        >>> h, (h, c) = LSTMCell(3, 5)(torch.randn(2, 3))
        >>> tuple(c.shape)
        (2, 5)
    """

    gate_count = 4
    state_type = LSTMState
    fused_mode = "LSTM"
    forget_gate = 1

    def step(self, xw: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState, LSTMGates]:
        """One step from xw = W_ih x_t + b_ih (B, 4H): returns (h_t, LSTMState, LSTMGates)."""
        h_prev, c_prev = state
        gates = xw + F.linear(h_prev, self.weight_hh, self.bias_hh)  # (B, 4H)
        i, f, g, o = gates.chunk(4, 1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c_prev + i * g
        h = o * torch.tanh(c)
        return h, LSTMState(h, c), LSTMGates(i, f, g, o)


class PeepholeLSTMCell(LSTMCell):
    r"""LSTM with peephole connections (Gers & Schmidhuber 2000): the gates see the cell state.

    .. math::
        i_t &= \sigma(W_{ii} x_t + W_{hi} h_{t-1} + w_{ci} \odot C_{t-1} + b_i) \\
        f_t &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + w_{cf} \odot C_{t-1} + b_f) \\
        C_t &= f_t \odot C_{t-1} + i_t \odot \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g) \\
        o_t &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + w_{co} \odot C_t + b_o), \quad
        h_t = o_t \odot \tanh(C_t)

    Extra parameters ``weight_ci``, ``weight_cf``, ``weight_co`` (H,) are diagonal peephole
    weights; the rest is laid out as in `LSTMCell`. No fused kernel exists: runs as a loop.
    """

    fused_mode = None

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias)
        self.weight_ci = nn.Parameter(torch.empty(hidden_size))
        self.weight_cf = nn.Parameter(torch.empty(hidden_size))
        self.weight_co = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def step(self, xw: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState, LSTMGates]:
        """One step from xw = W_ih x_t + b_ih (B, 4H): returns (h_t, LSTMState, LSTMGates)."""
        h_prev, c_prev = state
        gates = xw + F.linear(h_prev, self.weight_hh, self.bias_hh)  # (B, 4H)
        i, f, g, o = gates.chunk(4, 1)
        i = torch.sigmoid(i + self.weight_ci * c_prev)
        f = torch.sigmoid(f + self.weight_cf * c_prev)
        g = torch.tanh(g)
        c = f * c_prev + i * g
        o = torch.sigmoid(o + self.weight_co * c)
        h = o * torch.tanh(c)
        return h, LSTMState(h, c), LSTMGates(i, f, g, o)


class CIFGLSTMCell(LSTMCell):
    r"""LSTM with a coupled input-forget gate (CIFG; Greff et al. 2017): i_t = 1 - f_t.

    .. math::
        f_t &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + b_f), \qquad i_t = 1 - f_t \\
        C_t &= f_t \odot C_{t-1} + (1 - f_t) \odot \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g) \\
        h_t &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + b_o) \odot \tanh(C_t)

    The cell writes exactly as much as it forgets, with a quarter fewer parameters:
    ``weight_ih`` (3H, H_in) and ``weight_hh`` (3H, H) stack the gates in the order f, g, o.
    No fused kernel exists: runs as a loop.
    """

    gate_count = 3
    fused_mode = None
    forget_gate = 0

    def step(self, xw: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState, LSTMGates]:
        """One step from xw = W_ih x_t + b_ih (B, 3H): returns (h_t, LSTMState, LSTMGates)."""
        h_prev, c_prev = state
        gates = xw + F.linear(h_prev, self.weight_hh, self.bias_hh)  # (B, 3H)
        f, g, o = gates.chunk(3, 1)
        f, g, o = torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        i = 1 - f
        c = f * c_prev + i * g
        h = o * torch.tanh(c)
        return h, LSTMState(h, c), LSTMGates(i, f, g, o)
