"""Prediction intervals by split conformal prediction (Vovk et al. 2005; Lei et al. 2018)."""

from __future__ import annotations

import math

import numpy as np


def conformal_halfwidth(residuals: np.ndarray, level: float) -> np.ndarray:
    """Half-widths q such that ``forecast +- q`` covers a fraction ``level`` of new points.

    ``residuals`` (N, ...) are errors on calibration windows held out from training; q is
    the k-th smallest absolute residual, k = ceil((N + 1) level), separately for every
    trailing index (e.g. each lead time and target): coverage >= level for exchangeable
    errors (split conformal: Lei et al. 2018; Angelopoulos & Bates 2021).

    With too few residuals (k > N, when N < level / (1 - level): N <= 8 at level 0.9), the
    exact answer is an infinite width; q is then the largest residual instead, a finite
    interval whose guaranteed coverage is only N / (N + 1) < level.

    Example:
        >>> float(conformal_halfwidth(np.arange(1.0, 101.0), 0.9))  # the 91st of 100
        91.0
    """
    if not 0 < level < 1:
        raise ValueError(f"interval level={level}; expected a value in (0, 1)")
    return _conformal_quantile(np.abs(residuals), level)


def _conformal_quantile(scores: np.ndarray, level: float) -> np.ndarray:
    """The k-th smallest of N calibration scores (N, ...) along axis 0, k = ceil((N + 1)
    level) (the largest when k > N), for every trailing index."""
    n = len(scores)
    if n == 0:
        raise ValueError("no calibration residuals: intervals need a validation part")
    k = math.ceil((n + 1) * level - 1e-9)  # - 1e-9: 0.55 * 100 is 55.000000000000007 in floats
    return np.sort(scores, axis=0)[min(k, n) - 1]


def cqr_margin(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray,
               level: float) -> np.ndarray:
    """Conformalized quantile regression (Romano, Patterson & Candes 2019): the margin Q such
    that ``[lower - Q, upper + Q]`` covers a fraction ``level`` of new points.

    On N calibration points (N, ...) the score is ``E = max(lower - y, y - upper)`` (negative
    inside the interval, so Q may also shrink an interval that is too wide) and Q its k-th
    smallest value, k = ceil((N + 1) level), for every trailing index (e.g. each lead time).

    Example:
        >>> y = np.arange(10.0)
        >>> float(cqr_margin(y, np.full(10, 2.0), np.full(10, 6.0), 0.8))  # 9th of 10
        2.0
    """
    if not 0 < level < 1:
        raise ValueError(f"interval level={level}; expected a value in (0, 1)")
    scores = np.maximum(np.asarray(lower) - actual, np.asarray(actual) - upper)
    return _conformal_quantile(scores, level)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside [lower, upper]."""
    return float(np.mean((actual >= lower) & (actual <= upper)))
