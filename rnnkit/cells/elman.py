"""The Elman RNN cell: the hidden layer fed back into itself."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.cells.base import Cell


class RNNState(NamedTuple):
    """State of an Elman cell: the hidden vector h (B, H)."""

    h: Tensor


class RNNGates(NamedTuple):
    """What an Elman cell computes inside a step: the pre-activation a_t (B, H)."""

    a: Tensor


class ElmanCell(Cell):
    r"""Elman (vanilla) RNN cell, as ``torch.nn.RNNCell``.

    .. math::
        a_t = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}, \qquad h_t = \phi(a_t)

    with :math:`\phi` = tanh (default) or relu. Backpropagation through time multiplies by
    :math:`W_{hh}^T \mathrm{diag}(\phi'(a_t))` once per step, which is why gradients vanish or
    explode over long sequences. relu with identity ``W_hh`` and zero biases is the IRNN
    (Le et al. 2015; see `rnnkit.init.identity_`).

    Shapes: x_t (B, H_in); h (B, H). Parameters: ``weight_ih`` (H, H_in), ``weight_hh`` (H, H),
    ``bias_ih`` (H,), ``bias_hh`` (H,).

    Example:
        >>> cell = ElmanCell(3, 5)
        >>> h, state = cell(torch.randn(2, 3))
        >>> tuple(h.shape)
        (2, 5)
    """

    gate_count = 1
    state_type = RNNState

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity={nonlinearity!r}; expected 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        self.fused_mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias)

    def step(self, xw: Tensor, state: RNNState) -> tuple[Tensor, RNNState, RNNGates]:
        """One step from xw = W_ih x_t + b_ih (B, H): returns (h_t, RNNState, RNNGates)."""
        a = xw + F.linear(state.h, self.weight_hh, self.bias_hh)
        h = torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)
        return h, RNNState(h), RNNGates(a)

    def extra_repr(self) -> str:
        """Constructor arguments, for ``print(module)``."""
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity!r}"
