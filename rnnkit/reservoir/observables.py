"""Diagnostics of reservoirs and forecasts as plain functions (after reservoirpy's observables)."""

from __future__ import annotations

import torch
from torch import Tensor


def spectral_radius(weight: Tensor) -> float:
    r"""The largest eigenvalue magnitude :math:`\rho(W) = \max_i |\lambda_i(W)|` of a square matrix.

    Computed exactly from all eigenvalues (float64, on the CPU): ``weight`` (N, N).
    The echo-state regime of a tanh reservoir starts from :math:`\rho(W) < 1` (Jaeger 2001).

    Example:
        >>> spectral_radius(torch.tensor([[0.0, 2.0], [0.5, 0.0]]))
        1.0
    """
    values = torch.linalg.eigvals(weight.detach().to("cpu", torch.float64))
    return float(values.abs().max())


def nrmse(prediction: Tensor, target: Tensor, variance: float | None = None) -> float:
    r"""Normalised root mean squared error :math:`\sqrt{\langle (y - d)^2 \rangle / \sigma^2}`.

    ``prediction`` and ``target`` have the same shape (any); :math:`\sigma^2` is ``variance``
    (the variance of the whole signal, as in Jaeger & Haas 2004), else the variance of
    ``target``. 0 is perfect; 1 is no better than predicting the mean.

    Example:
        >>> nrmse(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 3.0]), variance=1.0)
        0.7071067811865476
    """
    prediction = prediction.detach().to(torch.float64)
    target = target.detach().to(prediction)
    if variance is None:
        variance = float(target.var(unbiased=False))
    return float(((prediction - target) ** 2).mean() / variance) ** 0.5
