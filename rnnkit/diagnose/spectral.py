r"""Spectra of the recurrent matrices, and the bound on gradient flow they imply.

For a tanh RNN the gradient k steps back is the last one times a product of k step Jacobians
:math:`W_{hh}^T \mathrm{diag}(\tanh'(a_t))`, and :math:`|\tanh'| \le 1`, so

.. math::
    \|\partial L / \partial h_{T-k}\| \le \sigma_{max}(W_{hh})^k \, \|\partial L / \partial h_T\|

(Pascanu et al. 2013; the same holds for relu). With :math:`\sigma_{max} < 1` the gradient
must vanish; a spectral radius :math:`\rho > 1` is needed for it to explode.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.cells import CIFGLSTMCell, GRUCell, LSTMCell
from rnnkit.cells.base import Cell


def spectral_radius(matrix: Tensor) -> float:
    """Largest absolute eigenvalue of a square matrix (computed in float64)."""
    return torch.linalg.eigvals(matrix.detach().double().cpu()).abs().max().item()


def singular_values(matrix: Tensor) -> Tensor:
    """Singular values, largest first, as a float64 CPU tensor."""
    return torch.linalg.svdvals(matrix.detach().double().cpu())


def tanh_gradient_bound(weight_hh: Tensor, steps: int) -> Tensor:
    r"""(steps,) upper bound :math:`\sigma_{max}(W_{hh})^k` on the ratio of the gradient k
    steps back to the last one in a tanh (or relu) RNN, k = 0 .. steps - 1."""
    sigma = singular_values(weight_hh)[0]
    return sigma ** torch.arange(steps, dtype=torch.float64)


def _blocks(cell: Cell) -> list[tuple[str, Tensor]]:
    """The (H, H) recurrent matrices of a cell, named by gate ('' for an Elman cell)."""
    if isinstance(cell, CIFGLSTMCell):
        names = ["f", "g", "o"]
    elif isinstance(cell, LSTMCell):
        names = ["i", "f", "g", "o"]
    elif isinstance(cell, GRUCell):
        names = ["r", "z", "n"]
    else:
        names = [""]
    return list(zip(names, cell.weight_hh.chunk(len(names), 0), strict=True))


def recurrent_spectra(module: nn.Module) -> dict[str, dict[str, object]]:
    """Spectral radius and singular values of every recurrent matrix in ``module``.

    Keys are ``cells.l0`` for an Elman cell's W_hh, ``cells.l0.f`` for a gate's block of a
    gated cell (module names as in ``named_modules``); each value holds ``spectral_radius``,
    ``sigma_max`` and ``singular_values`` (a list, largest first).

    Example:
        >>> from rnnkit.layers import Recurrent
        >>> spectra = recurrent_spectra(Recurrent("irnn", 2, 8))
        >>> spectra["cells.l0"]["spectral_radius"], spectra["cells.l0"]["sigma_max"]
        (1.0, 1.0)
    """
    result: dict[str, dict[str, object]] = {}
    for name, cell in module.named_modules():
        if not isinstance(cell, Cell):
            continue
        for gate, matrix in _blocks(cell):
            sv = singular_values(matrix)
            result[f"{name}.{gate}" if gate else name] = {
                "spectral_radius": spectral_radius(matrix),
                "sigma_max": sv[0].item(),
                "singular_values": sv.tolist(),
            }
    return result
