"""What every cell shares: parameter creation and the contract the `Recurrent` layer relies on.

A cell computes one time step. To keep the time loop cheap, the input projection
``W_ih x_t + b_ih`` does not depend on the state, so the layer computes it for all timesteps
at once (`project`) and then calls `step` once per timestep with that projection.
``forward(x_t, state)`` is exactly ``step(project(x_t), state)`` minus the gates.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class Cell(nn.Module):
    """Base class of the rnnkit cells.

    Subclasses set ``gate_count`` (rows of ``weight_ih`` per hidden unit: 1 for Elman, 3 for
    GRU and CIFG, 4 for LSTM), ``state_type`` (a NamedTuple of the state) and implement `step`.
    Parameters follow ``torch.nn.RNNCell/LSTMCell/GRUCell``: ``weight_ih`` (G*H, H_in),
    ``weight_hh`` (G*H, H), ``bias_ih`` and ``bias_hh`` (G*H,), initialised like torch
    (uniform in +-1/sqrt(H)).
    """

    gate_count: int = 1
    state_type: type = NamedTuple
    #: Name of the torch fused kernel that computes this cell exactly (None: explicit loop only).
    fused_mode: str | None = None
    #: Index of the forget gate's block in the stacked weights (LSTM family), else None.
    forget_gate: int | None = None

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"input_size={input_size} and hidden_size={hidden_size} must both be >= 1"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        rows = self.gate_count * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Torch's default: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)]."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def project(self, x: Tensor) -> Tensor:
        """Input projection ``W_ih x + b_ih`` for any leading shape: (..., H_in) -> (..., G*H)."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def zero_state(self, batch_size: int, like: Tensor) -> Any:
        """The all-zeros state for a batch, on ``like``'s device and dtype."""
        zeros = like.new_zeros(batch_size, self.hidden_size)
        return self.state_type(*([zeros] * len(self.state_type._fields)))

    def step(self, xw: Tensor, state: Any) -> tuple[Tensor, Any, Any]:
        """One timestep from the input projection: returns ``(h_t, state_t, gates_t)``."""
        raise NotImplementedError

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """One timestep: x (B, H_in) and the previous state (zeros when None) -> (h_t, state_t)."""
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(
                f"x has shape {tuple(x.shape)}; expected (batch, {self.input_size})"
            )
        if state is None:
            state = self.zero_state(x.shape[0], x)
        h, state, _ = self.step(self.project(x), state)
        return h, state

    def extra_repr(self) -> str:
        """Constructor arguments, for ``print(module)``."""
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"
