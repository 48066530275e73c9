"""Gradient flow through time: how much of d loss / d h_t survives back to every timestep."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnkit.layers import Trace


@dataclass
class GradientFlow:
    r"""Norms of :math:`\partial L / \partial h_t` for every layer, direction and step.

    ``norms`` is (L, D, T): entry (k, d, s) is the Frobenius norm, over the batch and the
    units, of the total derivative of the loss with respect to the hidden state of layer k,
    direction d, at processing step s (for the reverse direction step s reads position
    T - 1 - s). Total derivative: through the output at step s and through every later step.
    The norms are float64; a gradient below float32's range is 0 (run the model in float64 to
    measure decay past about 1e-38 per element).
    """

    norms: Tensor

    @property
    def first_last_ratio(self) -> Tensor:
        r"""(L, D): :math:`\|\partial L / \partial h_1\| / \|\partial L / \partial h_T\|`, the
        share of the gradient that survives the whole sequence (tiny: it vanished)."""
        return self.norms[..., 0] / self.norms[..., -1]


def gradient_flow(loss: Tensor, trace: Trace) -> GradientFlow:
    """Measure d loss / d h_t at every step of a forward pass run with ``trace=True``.

    Backpropagation through time multiplies the gradient by the step Jacobian
    ``W_hh^T diag(phi'(a_t))`` once per step back, so its norm falls (or grows) geometrically
    (Pascanu et al. 2013); the norms show how fast. Consumes the graph of ``loss``.

    Args:
        loss: a scalar computed from the outputs of that same forward pass.
        trace: the `Trace` it returned; its hidden states are still attached to the graph.

    Example:
        >>> from rnnkit.layers import Recurrent
        >>> layer = Recurrent("rnn", 2, 16)
        >>> out, _, trace = layer(torch.randn(8, 50, 2), trace=True)
        >>> flow = gradient_flow(out[:, -1].pow(2).mean(), trace)
        >>> tuple(flow.norms.shape), bool(flow.first_last_ratio < 1e-3)
        ((1, 1, 50), True)
    """
    if loss.dim() != 0:
        raise ValueError(f"loss has shape {tuple(loss.shape)}; expected a scalar")
    layers, directions = len(trace.layers), len(trace.layers[0])
    states = [h for layer in trace.layers for record in layer for h in record.h]
    grads = torch.autograd.grad(loss, states, allow_unused=True, materialize_grads=True)
    # in float64: squaring a float32 gradient of 1e-20 would underflow to a norm of 0
    norms = torch.stack([g.detach().double().norm() for g in grads])
    return GradientFlow(norms.reshape(layers, directions, -1).cpu())
