"""How sure is the RMSE skill over persistence? A moving-block bootstrap interval (Künsch 1989)."""

from __future__ import annotations

import math

import numpy as np


def origin_sse(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Sum of squared errors of each forecast origin, over its lead times and targets.

    Args:
        actual, predicted: (N, H, n_targets) (or any (N, ...)) forecasts from N origins.

    Returns:
        (N,) per-origin sums; their totals give the RMSE, so the bootstrap resamples these.
    """
    error = (np.asarray(actual) - np.asarray(predicted)).reshape(len(actual), -1)  # (N, H n)
    return np.einsum("ij,ij->i", error, error, dtype=np.float64)  # no (N, H n) squares


def block_length(n_origins: int, horizon: int) -> int:
    """Block length ``b = max(ceil(N^(1/3)), H)`` for the moving-block bootstrap.

    N^(1/3) is the order of the block length that is optimal for bootstrap variance
    estimates (Hall, Horowitz & Jing 1995); forecasts from origins fewer than H apart share
    target rows, so a block spans at least H origins to keep that dependence inside it.

    Example:
        >>> block_length(1000, 24), block_length(1000, 1)
        (24, 10)
    """
    # - 1e-9: 27 ** (1 / 3) is 3.0000000000000004 in floats; the cube root of 27 is 3
    return max(math.ceil(n_origins ** (1 / 3) - 1e-9), horizon)


def skill_interval(
    model_sse: np.ndarray, persistence_sse: np.ndarray, block: int, level: float = 0.95,
    resamples: int = 2000, seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the RMSE skill ``1 - RMSE_model / RMSE_persistence``.

    Moving-block bootstrap over the forecast origins (Künsch 1989): each of ``resamples``
    resamples glues ``k = ceil(N / b)`` blocks of ``b = block`` consecutive origins, their
    starts drawn uniformly from 0..N-b with replacement
    (``default_rng(seed).integers(0, N - b + 1, (resamples, k))``), and cuts the result to N
    origins; the skill of a resample is ``1 - sqrt(sum model_sse / sum persistence_sse)``
    over its origins. The interval holds the central ``level`` of those skills. Block sums
    come from cumulative sums, so the cost is O(N + resamples * k), not O(resamples * N).

    Args:
        model_sse, persistence_sse: (N,) per-origin squared-error sums (`origin_sse`) of the
            model and of persistence, from the same origins in time order.
        block: b, consecutive origins per block (`block_length`).
        level: the interval's probability, 0.95 for a 95% interval.
        resamples: bootstrap resamples.
        seed: seed of the resampling, so the interval is reproducible.

    Returns:
        (lower, upper); (0, 0) when the errors are equal at every origin; (nan, nan) when
        undefined: fewer than 2 blocks of origins (N < 2b), or a resample on which
        persistence has no error.

    Example:
        >>> errors = np.array([1.0, 4.0, 2.0, 3.0, 1.0, 2.0])
        >>> skill_interval(errors / 4, errors, block=2)  # half the RMSE at every origin
        (0.5, 0.5)
    """
    model_sse = np.asarray(model_sse, dtype=np.float64)
    persistence_sse = np.asarray(persistence_sse, dtype=np.float64)
    n = len(model_sse)
    if n < 2 * block:
        return float("nan"), float("nan")
    k = math.ceil(n / block)
    lengths = np.full(k, block)
    lengths[-1] = n - (k - 1) * block  # the last block is cut so a resample has N origins
    starts = np.random.default_rng(seed).integers(0, n - block + 1, size=(resamples, k))
    ends = starts + lengths  # (resamples, k)
    model_cum = np.concatenate([[0.0], np.cumsum(model_sse)])
    persistence_cum = np.concatenate([[0.0], np.cumsum(persistence_sse)])
    model_sums = (model_cum[ends] - model_cum[starts]).sum(axis=1)  # (resamples,)
    persistence_sums = (persistence_cum[ends] - persistence_cum[starts]).sum(axis=1)
    if np.any(persistence_sums <= 0):
        return float("nan"), float("nan")
    skills = 1 - np.sqrt(model_sums / persistence_sums)
    lower, upper = np.quantile(skills, [(1 - level) / 2, (1 + level) / 2])
    return float(lower), float(upper)


def mean_interval(values: np.ndarray, level: float = 0.95, resamples: int = 2000,
                  seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of independent ``values`` (N,), e.g. the
    per-series sMAPE differences of two forecasters on a panel (series resampled with
    replacement, ``default_rng(seed)``); (nan, nan) for fewer than 2 values.

    Example:
        >>> mean_interval(np.full(10, 2.0))
        (2.0, 2.0)
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    means = values[draws].mean(axis=1)
    lower, upper = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lower), float(upper)
