r"""Distribution heads for probabilistic forecasts (DeepAR's likelihoods) and the pinball loss.

A network emits unconstrained numbers per step; a `Likelihood` maps them to a
``torch.distributions`` distribution of the value at that step. Networks work on scaled
values z = y / s, with s a positive scale per window (see `rnnkit.data.panel_windows`):

- ``gaussian``: z ~ Normal(mu, sigma), sigma = softplus(.);
- ``student_t``: z ~ StudentT(nu, mu, sigma), nu = 2 + softplus(.) (finite variance);
- ``negbin``: counts y ~ NegativeBinomial with mean mu = s * softplus(.) and shape
  alpha = softplus(.) / sqrt(s), DeepAR's scaling for counts (Salinas et al. 2020, eq. 3), so
  the distribution is of the unscaled counts and its samples are non-negative integers.

The negative log-likelihood is the mean over every scored step; for the continuous ones it is
that of z, which differs from that of y by log s, a constant that does not move the gradients.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor
from torch.distributions import Distribution, NegativeBinomial, Normal, StudentT
from torch.nn.functional import softplus

_EPS = 1e-6


class Likelihood:
    """A distribution family with ``n_params`` unconstrained parameters per step."""

    name: ClassVar[str]
    n_params: ClassVar[int]
    counts: ClassVar[bool] = False  # the values are counts: non-negative integers, unscaled

    def distribution(self, params: Tensor, scale: Tensor) -> Distribution:
        """The distribution of each step's value: ``params`` (..., n_params) from the network,
        ``scale`` broadcastable to (...); in scaled units unless ``counts``."""
        raise NotImplementedError

    def nll(self, params: Tensor, z: Tensor, scale: Tensor) -> Tensor:
        """Mean negative log-likelihood of scaled values ``z`` (...) (counts: of z * scale),
        in float32 with autocast off (mixed precision loses too much in log-densities)."""
        with torch.autocast(params.device.type, enabled=False):
            params, z, scale = params.float(), z.float(), scale.float()
            value = torch.round(z * scale) if self.counts else z
            return -self.distribution(params, scale).log_prob(value).mean()

    def sample(self, params: Tensor, scale: Tensor) -> Tensor:
        """One draw per step, in scaled units (counts are drawn unscaled, then divided), in
        float32 with autocast off."""
        with torch.autocast(params.device.type, enabled=False):
            params, scale = params.float(), scale.float()
            draw = self.distribution(params, scale).sample()
            return draw / scale if self.counts else draw


class Gaussian(Likelihood):
    """Normal(mu, sigma) of the scaled value."""

    name, n_params = "gaussian", 2

    def distribution(self, params: Tensor, scale: Tensor) -> Distribution:
        """Normal with mu = params[..., 0], sigma = softplus(params[..., 1])."""
        return Normal(params[..., 0], softplus(params[..., 1]) + _EPS)


class StudentT_(Likelihood):
    """Student's t of the scaled value, heavy-tailed; nu > 2."""

    name, n_params = "student_t", 3

    def distribution(self, params: Tensor, scale: Tensor) -> Distribution:
        """StudentT with mu = params[..., 0], sigma = softplus(params[..., 1]),
        nu = 2 + softplus(params[..., 2])."""
        return StudentT(2.0 + softplus(params[..., 2]), params[..., 0],
                        softplus(params[..., 1]) + _EPS)


class NegBinomial(Likelihood):
    """Negative binomial of the unscaled counts (mean mu, shape alpha; variance
    mu + alpha * mu^2)."""

    name, n_params, counts = "negbin", 2, True

    def distribution(self, params: Tensor, scale: Tensor) -> Distribution:
        """mu = s * softplus(params[..., 0]), alpha = softplus(params[..., 1]) / sqrt(s);
        torch's NegativeBinomial(total_count = 1 / alpha, logits = log(mu * alpha))."""
        mu = scale * softplus(params[..., 0]) + _EPS
        alpha = softplus(params[..., 1]) / torch.sqrt(scale) + _EPS
        return NegativeBinomial(total_count=1.0 / alpha, logits=torch.log(mu * alpha))


#: The likelihoods by name (``--likelihood``).
LIKELIHOODS: dict[str, type[Likelihood]] = {
    k.name: k for k in (Gaussian, StudentT_, NegBinomial)}


def pinball_loss(quantiles: Tensor, z: Tensor, levels: Tensor) -> Tensor:
    r"""Mean quantile (pinball) loss of forecasts ``quantiles`` (..., Q) at ``levels`` (Q,) for
    values ``z`` (...):

    .. math:: \rho_\tau(z - q) = \max(\tau (z - q), (\tau - 1)(z - q))

    Example:
        >>> q = torch.tensor([[1.0, 2.0, 3.0]])
        >>> round(float(pinball_loss(q, torch.tensor([2.0]), torch.tensor([0.1, 0.5, 0.9]))), 4)
        0.0667
    """
    error = z.unsqueeze(-1) - quantiles
    return torch.maximum(levels * error, (levels - 1) * error).mean()
