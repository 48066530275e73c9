"""Named weight initialisers for recurrent cells: the first remedy for vanishing gradients.

Each function takes any module (a cell, a `Recurrent` layer, a whole model), changes the
parameters of every rnnkit cell inside it in place, and returns the module, so they chain:
``unit_forget_bias_(orthogonal_(layer))``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnnkit.cells.base import Cell
from rnnkit.cells.elman import ElmanCell


def _cells(module: nn.Module) -> list[Cell]:
    cells = [m for m in module.modules() if isinstance(m, Cell)]
    if not cells:
        raise ValueError(f"{type(module).__name__} contains no rnnkit cell to initialise")
    return cells


def torch_default_(module: nn.Module) -> nn.Module:
    """torch's default: every weight and bias uniform in [-1/sqrt(H), 1/sqrt(H)]."""
    for cell in _cells(module):
        cell.reset_parameters()
    return module


@torch.no_grad()
def orthogonal_(module: nn.Module, gain: float = 1.0) -> nn.Module:
    """Each gate's (H, H) block of ``weight_hh`` a random orthogonal matrix (Saxe et al. 2014).

    An orthogonal W_hh has every singular value 1, so repeated multiplication by it during
    backpropagation through time neither shrinks nor grows the gradient by itself.
    """
    for cell in _cells(module):
        for block in cell.weight_hh.chunk(cell.gate_count, 0):
            nn.init.orthogonal_(block, gain=gain)
    return module


@torch.no_grad()
def identity_(module: nn.Module, input_std: float = 1e-3) -> nn.Module:
    """IRNN initialisation (Le et al. 2015): ``weight_hh`` = I, zero biases, tiny input weights.

    Meant for relu Elman cells: with h_t = relu(h_{t-1} + W x_t) the state is copied forward
    unchanged until the input says otherwise, so gradients neither vanish nor explode at first.
    """
    for cell in _cells(module):
        if not isinstance(cell, ElmanCell):
            raise ValueError(
                f"identity_ initialises Elman cells (the IRNN); got {type(cell).__name__}"
            )
        cell.weight_hh.copy_(torch.eye(cell.hidden_size))
        nn.init.normal_(cell.weight_ih, std=input_std)
        if cell.bias:
            cell.bias_ih.zero_()
            cell.bias_hh.zero_()
    return module


@torch.no_grad()
def unit_forget_bias_(module: nn.Module, value: float = 1.0) -> nn.Module:
    """Forget-gate bias set to 1 so that the cell remembers by default (Jozefowicz et al. 2015).

    torch keeps two bias vectors: the forget block of ``bias_ih`` gets ``value`` and that of
    ``bias_hh`` gets 0, so their sum (what the gate sees) is ``value``.
    """
    for cell in _cells(module):
        if cell.forget_gate is None or not cell.bias:
            continue
        H = cell.hidden_size
        block = slice(cell.forget_gate * H, (cell.forget_gate + 1) * H)
        cell.bias_ih[block] = value
        cell.bias_hh[block] = 0.0
    return module


@torch.no_grad()
def keras_(module: nn.Module) -> nn.Module:
    """Keras's defaults: glorot-uniform input weights, orthogonal recurrent weights, zero biases
    with unit forget bias (as ``keras.layers.LSTM``; Keras's kernels are the transposes of
    torch's, and the limits are the same).
    """
    for cell in _cells(module):
        nn.init.xavier_uniform_(cell.weight_ih)
        nn.init.orthogonal_(cell.weight_hh)
        if cell.bias:
            cell.bias_ih.zero_()
            cell.bias_hh.zero_()
        for name, p in cell.named_parameters():
            if name.startswith("weight_c"):  # peephole vectors: glorot-uniform like a kernel
                bound = math.sqrt(6.0 / (1 + cell.hidden_size))
                nn.init.uniform_(p, -bound, bound)
    return unit_forget_bias_(module)


INITIALISERS = {
    "torch": torch_default_,
    "orthogonal": orthogonal_,
    "identity": identity_,
    "unit_forget_bias": unit_forget_bias_,
    "keras": keras_,
}
