"""Prediction intervals by split conformal prediction (Vovk et al. 2005; Lei et al. 2018)."""

from __future__ import annotations

import math

import numpy as np


def conformal_halfwidth(residuals: np.ndarray, level: float) -> np.ndarray:
    """Half-widths q such that ``forecast +- q`` covers a fraction ``level`` of new points.

    ``residuals`` (N, ...) are absolute errors on calibration windows held out from training;
    q is their ``ceil((N + 1) level) / N`` empirical quantile, separately for every trailing
    index (e.g. each lead time and target), which guarantees coverage >= level for
    exchangeable errors.
    """
    if not 0 < level < 1:
        raise ValueError(f"interval level={level}; expected a value in (0, 1)")
    n = len(residuals)
    if n == 0:
        raise ValueError("no calibration residuals: intervals need a validation part")
    rank = min(1.0, math.ceil((n + 1) * level) / n)
    return np.quantile(np.abs(residuals), rank, axis=0, method="higher")


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside [lower, upper]."""
    return float(np.mean((actual >= lower) & (actual <= upper)))
