"""The ridge readout: the only trained part of an echo state network, solved in closed form."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.errors import InputError


class Ridge(nn.Module):
    r"""A linear readout :math:`y = W z + c` fitted by ridge regression, in one linear solve.

    .. math::
        W, c = \arg\min_{W, c} \sum_t \lVert d_t - W z_t - c \rVert^2
               + \lambda \lVert W \rVert_F^2
        \quad\Longrightarrow\quad
        W^\top = (\bar Z^\top \bar Z + \lambda I)^{-1} \bar Z^\top \bar D, \qquad
        c = \bar d - W \bar z

    where :math:`\bar Z, \bar D` are the features and targets minus their means
    :math:`\bar z, \bar d` (the intercept :math:`c` is not penalised). Solved in float64 from the
    normal equations (Lukoševičius 2012, sec. 4.1; Jaeger's Wiener-Hopf solution at
    :math:`\lambda = 0`).

    Shapes: features z (..., F) -> outputs (..., D_out). Buffers: ``weight`` (D_out, F),
    ``bias`` (D_out,), ``fitted`` (a bool scalar, so a saved unfitted readout is recognised).

    Example:
        >>> z = torch.randn(100, 3, dtype=torch.float64)
        >>> d = z @ torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64) + 5  # (100, 1)
        >>> readout = Ridge(3, 1, ridge=0.0).fit(z, d)
        >>> [round(w, 6) for w in readout.weight[0].tolist()], round(readout.bias.item(), 6)
        ([1.0, 2.0, 3.0], 5.0)
    """

    def __init__(self, in_features: int, out_features: int, ridge: float = 1e-8) -> None:
        super().__init__()
        if not (math.isfinite(ridge) and ridge >= 0):
            raise InputError(f"ridge={ridge}: must be >= 0 (e.g. 1e-8-1e-4)")
        self.in_features = in_features
        self.out_features = out_features
        self.ridge = ridge
        self.register_buffer("weight", torch.zeros(out_features, in_features, dtype=torch.float64))
        self.register_buffer("bias", torch.zeros(out_features, dtype=torch.float64))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def fit(self, features: Tensor, targets: Tensor) -> Ridge:
        """Solve for ``weight`` and ``bias`` from features (..., F) and targets (..., D_out)."""
        z = features.to(self.weight).reshape(-1, self.in_features)  # (S, F)
        d = targets.to(self.weight).reshape(-1, self.out_features)  # (S, D_out)
        z_mean, d_mean = z.mean(0), d.mean(0)
        F = self.in_features
        # QR of [Z D] (centred): R's top-left block is Z's R, its top-right block is Q^T D;
        # then the SVD of the small R: as the SVD of Z, 2-3x faster when S >> F
        r = torch.linalg.qr(torch.cat([z - z_mean, d - d_mean], dim=1), mode="r")[1]
        u, sigma, vh = torch.linalg.svd(r[:F, :F], full_matrices=False)  # K = min(S, F)
        shrink = sigma / (sigma**2 + self.ridge)  # (K,): 1/sigma at ridge 0
        if self.ridge == 0:  # the pseudo-inverse: directions lost in round-off stay at zero
            cutoff = sigma.max() * torch.finfo(sigma.dtype).eps * max(z.shape)
            shrink = torch.where(sigma > cutoff, shrink, torch.zeros_like(shrink))
        solution = vh.T @ (shrink[:, None] * (u.T @ r[:F, F:]))  # (F, K) (K, D_out)
        self.weight.copy_(solution.T)
        self.bias.copy_(d_mean - solution.T @ z_mean)
        self.fitted.fill_(True)
        return self

    def forward(self, features: Tensor) -> Tensor:
        """Outputs :math:`W z + c`: (..., F) -> (..., D_out)."""
        return torch.nn.functional.linear(features, self.weight, self.bias)

    def extra_repr(self) -> str:
        """Constructor arguments, for ``print(module)``."""
        return f"{self.in_features}, {self.out_features}, ridge={self.ridge}"
