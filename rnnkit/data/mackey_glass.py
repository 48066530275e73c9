"""The Mackey-Glass series: a chaotic delay differential equation, integrated accurately."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rnnkit.errors import InputError


def mackey_glass(
    length: int,
    tau: float = 17.0,
    *,
    a: float = 0.2,
    b: float = 0.1,
    n: float = 10.0,
    x0: float = 1.2,
    sample_step: float = 1.0,
    substeps: int = 10,
    seed: int | None = None,
) -> Tensor:
    r"""``length`` samples of the Mackey-Glass series (Mackey & Glass 1977), float64 (length,).

    .. math::
        \frac{dx}{dt} = \frac{a\, x(t - \tau)}{1 + x(t - \tau)^n} - b\, x(t)

    chaotic for :math:`\tau \ge 17` with a = 0.2, b = 0.1, n = 10. Sample k is
    :math:`x(k \cdot \text{sample\_step})`, from :math:`x(0) = x_0`.

    Method: classical RK4 with step :math:`h` = ``sample_step / substeps`` (default 0.1), which
    must divide :math:`\tau` so that the delayed values :math:`x(t - \tau)` and
    :math:`x(t - \tau + h)` are grid points kept in a history buffer; the delayed value at the
    half step, :math:`x(t - \tau + h/2)`, is the cubic Hermite interpolant of the two grid
    values and their derivatives (error :math:`O(h^4)`, matching RK4). The initial function on
    :math:`[-\tau, 0]` is the constant :math:`x_0`; with a ``seed``, each of its grid values
    gets an independent uniform perturbation in [-0.1, 0.1] (so seeds give different
    trajectories). Its derivative is 0, and the kink at t = 0 is honoured (the interpolant on
    :math:`[-h, 0]` uses the history's slope, the one on :math:`[0, h]` the solution's). With
    the default step the samples agree with a 10x finer integration to ~1e-9.

    The first few hundred samples carry the start-up transient: drop them for a stationary
    series (Jaeger 2001 drops 1000).

    Example:
        >>> series = mackey_glass(3000)[1000:]  # (2000,) on the attractor, tau = 17
        >>> 0.2 < float(series.min()) and float(series.max()) < 1.4
        True
    """
    if length < 1:
        raise InputError(f"length={length}: must be >= 1 (number of samples)")
    if not (math.isfinite(sample_step) and sample_step > 0):
        raise InputError(f"sample_step={sample_step}: must be > 0 (e.g. 1.0)")
    if substeps < 1:
        raise InputError(f"substeps={substeps}: must be >= 1 (RK4 steps per sample, e.g. 10)")
    if not (math.isfinite(x0) and x0 > 0):
        raise InputError(f"x0={x0}: must be > 0 (a concentration; e.g. 1.2)")
    h = sample_step / substeps
    m = round(tau / h) if math.isfinite(tau) else 0  # the delay in steps
    if m < 1 or abs(m * h - tau) > 1e-9 * max(tau, 1.0):
        raise InputError(
            f"tau={tau}: must be a positive multiple of the integration step "
            f"sample_step/substeps = {h:g}; change tau or substeps (e.g. tau=17, substeps=10)"
        )

    def g(x: float) -> float:
        return a * x / (1.0 + x**n)

    history = [x0] * (m + 1)  # x on the grid t = -tau .. 0
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
        noise = torch.rand(m + 1, generator=generator, dtype=torch.float64)
        history = [x0 + 0.2 * (float(e) - 0.5) for e in noise]
    # Grid point j of the lists is t = (j - m) h. slope_left[j] is x' at t_j used as the left
    # end of [t_j, t_j + h], slope_right[j] as the right end of [t_j - h, t_j]; they differ only
    # at t = 0, where the constant history (slope 0) meets the solution (slope f(0)).
    xs = history
    gs = [g(x) for x in xs]
    slope_left = [0.0] * m + [gs[0] - b * xs[m]]
    slope_right = [0.0] * (m + 1)
    samples = [xs[m]]
    x = xs[m]
    half, sixth = h / 2.0, h / 6.0
    for k in range(substeps * (length - 1)):  # step from t_k to t_{k+1}; x(t_k - tau) = xs[k]
        g_mid = g(0.5 * (xs[k] + xs[k + 1]) + h / 8.0 * (slope_left[k] - slope_right[k + 1]))
        k1 = gs[k] - b * x
        k2 = g_mid - b * (x + half * k1)
        k3 = g_mid - b * (x + half * k2)
        k4 = gs[k + 1] - b * (x + h * k3)
        x = x + sixth * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        slope = gs[k + 1] - b * x  # x'(t_{k+1}): its delayed value is x(t_{k+1} - tau) = xs[k+1]
        xs.append(x)
        gs.append(g(x))
        slope_left.append(slope)
        slope_right.append(slope)
        if (k + 1) % substeps == 0:
            samples.append(x)
    return torch.tensor(samples, dtype=torch.float64)
