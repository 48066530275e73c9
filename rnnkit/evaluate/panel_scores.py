"""Scores of a panel forecast as the M4 competition computes them, with interval and quantile
scores beside them.

S series share one horizon h: ``actual`` and ``forecast`` are (S, h); ``insample`` holds the S
training parts (n_k,) that scale MASE and MSIS; ``m`` is the seasonal period. The per-series
scores are `rnnkit.evaluate.m4`'s; the panel's are their means, and OWA is M4's ratio of those
means to Naive2's (Makridakis, Spiliotis & Assimakopoulos 2020).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rnnkit.evaluate import m4
from rnnkit.evaluate.intervals import coverage

#: Interval -> its (lower, upper) quantile levels, scored when both are given.
INTERVALS: dict[str, tuple[float, float]] = {"80": (0.1, 0.9), "95": (0.025, 0.975)}


def quantile_loss(actual: np.ndarray, forecast: np.ndarray, q: float) -> float:
    """Twice the summed pinball loss of the level-``q`` quantile forecast, GluonTS'
    ``quantile_loss``:

    .. math:: \\mathrm{QL}_q = 2 \\sum_{s,t} \\left| (y_{s,t} - \\hat y^{(q)}_{s,t})
              \\left( \\mathbb{1}\\{y_{s,t} \\le \\hat y^{(q)}_{s,t}\\} - q \\right) \\right|

    ``actual`` and ``forecast`` of any one shape.

    Example:
        >>> quantile_loss(np.array([1.0, 3.0]), np.array([2.0, 2.0]), q=0.9)
        2.0
    """
    actual, forecast = np.asarray(actual, dtype=np.float64), np.asarray(forecast)
    return float(2 * np.sum(np.abs((actual - forecast) * ((actual <= forecast) - q))))


def weighted_quantile_loss(actual: np.ndarray, quantiles: dict[float, np.ndarray]) -> float:
    """GluonTS' ``mean_wQuantileLoss``, the usual estimate of the CRPS scaled by the data:

    .. math:: \\mathrm{wQL} = \\frac{1}{|Q|} \\sum_{q \\in Q}
              \\frac{\\mathrm{QL}_q}{\\sum_{s,t} |y_{s,t}|}

    over the levels ``Q`` of ``quantiles`` (level -> forecast shaped like ``actual``), with
    `quantile_loss` summed over every series and step. (Gasthaus et al. 2019; GluonTS
    ``Evaluator``.)

    Example:
        >>> weighted_quantile_loss(np.array([1.0, 3.0]),
        ...                        {0.1: np.array([0.0, 2.0]), 0.9: np.array([2.0, 2.0])})
        0.3
    """
    scale = np.sum(np.abs(actual))
    return float(np.mean([quantile_loss(actual, forecast, q) / scale
                          for q, forecast in quantiles.items()]))


def _check(actual: np.ndarray, name: str, value: np.ndarray) -> np.ndarray:
    """``value`` as float (S, h), after checking it is shaped like ``actual``."""
    value = np.asarray(value, dtype=np.float64)
    if value.shape != actual.shape:
        raise ValueError(f"{name} has shape {value.shape} but actual has shape {actual.shape}: "
                         "pass (S, h), one row per series over the same horizon")
    return value


def score_panel(
    actual: np.ndarray,
    forecast: np.ndarray,
    insample: Sequence[np.ndarray],
    m: int,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    quantiles: dict[float, np.ndarray] | None = None,
    naive2: np.ndarray | None = None,
    baseline: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Score a panel forecast as M4 does, with interval and quantile scores when given.

    Args:
        actual: (S, h) the test values of S series.
        forecast: (S, h) the point forecasts.
        insample: the S training parts (n_k,), which scale MASE and MSIS.
        m: the seasonal period (M4: 24 for Hourly, 1 for Weekly).
        lower, upper: (S, h) a 95% prediction interval; without them, the quantile forecasts
            at 0.025 and 0.975 are that interval when both are given.
        quantiles: level -> (S, h) quantile forecasts, e.g. {0.1: ..., 0.9: ...}.
        naive2: (S, h) Naive2's forecasts for OWA; None computes them with `m4.naive2`.
        baseline: (S, h) forecasts of a baseline to measure skill against, or None.

    Returns:
        (per-series DataFrame, overall dict). Per series k: ``smape`` and ``mase``
        (`m4.smape`, `m4.mase`); with a 95% interval ``msis`` (`m4.msis`, alpha = 0.05) and
        ``coverage_95``, the share of the h values inside it; with q0.1 and q0.9,
        ``coverage_80``; with quantiles, ``wql``, the series' `weighted_quantile_loss`; with a
        baseline, ``skill = 1 - MASE_k / MASE_baseline,k``, the share of the baseline's
        mean absolute error removed. Overall: the mean of every column over the series
        (NaN rows, such as a model's missing intervals, left out), and

        .. math:: \\mathrm{OWA} = \\frac{1}{2} \\left(
                  \\frac{\\overline{\\mathrm{sMAPE}}}{\\overline{\\mathrm{sMAPE}}_{N2}}
                  + \\frac{\\overline{\\mathrm{MASE}}}{\\overline{\\mathrm{MASE}}_{N2}} \\right)

        with ``naive2_smape`` and ``naive2_mase`` (N2: Naive2's); ``wql`` is then pooled over
        the whole panel (GluonTS' ``mean_wQuantileLoss``), and with a baseline ``skill`` is
        ``1 - mean MASE / mean MASE_baseline`` and ``beats_baseline`` the share of series
        with positive skill.

    Example:
        >>> insample = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 8.0, 10.0, 8.0])]
        >>> actual = np.array([[5.0, 6.0], [10.0, 8.0]])
        >>> per_series, overall = score_panel(actual, actual + 1, insample, m=1)
        >>> per_series["mase"].tolist(), round(overall["owa"], 3)
        ([1.0, 0.5], 0.7)
    """
    actual = np.asarray(actual, dtype=np.float64)
    if actual.ndim != 2:
        raise ValueError(f"actual has shape {actual.shape}: pass (S, h), one row per series")
    forecast = _check(actual, "forecast", forecast)
    if len(insample) != len(actual):
        raise ValueError(f"insample has {len(insample)} series but actual has {len(actual)}: "
                         "pass one training part per series, in the same order")
    h = actual.shape[1]
    quantiles = {float(q): _check(actual, f"quantiles[{q}]", f)
                 for q, f in (quantiles or {}).items()}
    bad = [q for q in quantiles if not 0 < q < 1]
    if bad:
        raise ValueError(f"quantile level {bad[0]} is not in (0, 1): key the quantile "
                         "forecasts by their level, e.g. 0.9")
    if (lower is None) != (upper is None):
        raise ValueError("lower and upper go together: pass both bounds of the 95% interval")
    if naive2 is None:
        naive2 = np.stack([m4.naive2(y, h, m) for y in insample])
    naive2 = _check(actual, "naive2", naive2)

    def mean_errors(prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([m4.smape(a, f) for a, f in zip(actual, prediction, strict=True)]),
                np.array([m4.mase(a, f, y, m)
                          for a, f, y in zip(actual, prediction, insample, strict=True)]))

    smape, mase = mean_errors(forecast)
    naive2_smape, naive2_mase = mean_errors(naive2)
    table = pd.DataFrame({"smape": smape, "mase": mase})
    overall = {"smape": float(smape.mean()), "mase": float(mase.mean()),
               "owa": m4.owa(smape, mase, naive2_smape, naive2_mase),
               "naive2_smape": float(naive2_smape.mean()),
               "naive2_mase": float(naive2_mase.mean())}
    intervals = {name: (quantiles.get(low), quantiles.get(high))
                 for name, (low, high) in INTERVALS.items()}
    if lower is not None:
        intervals["95"] = (lower, upper)
    for name, (low, up) in intervals.items():
        if low is None or up is None:
            continue
        low, up = _check(actual, "lower", low), _check(actual, "upper", up)
        if name == "95":
            table["msis"] = [m4.msis(a, lo, u, y, m, alpha=0.05)
                             for a, lo, u, y in zip(actual, low, up, insample, strict=True)]
        finite = np.isfinite(low).all(axis=1) & np.isfinite(up).all(axis=1)  # (S,)
        table[f"coverage_{name}"] = [coverage(a, lo, u) if ok else np.nan
                                     for a, lo, u, ok in zip(actual, low, up, finite, strict=True)]
    if quantiles:
        table["wql"] = [weighted_quantile_loss(row, {q: f[k] for q, f in quantiles.items()})
                        for k, row in enumerate(actual)]
    if baseline is not None:
        baseline_mase = mean_errors(_check(actual, "baseline", baseline))[1]
        table["skill"] = 1 - mase / baseline_mase
        overall["skill"] = float(1 - mase.mean() / baseline_mase.mean())
        overall["beats_baseline"] = float(np.mean(table["skill"] > 0))
    for column in table.columns.difference(["smape", "mase", "skill"]):
        overall[column] = float(table[column].mean())  # pandas' mean leaves NaN out
    if quantiles:
        finite = np.all([np.isfinite(f).all(axis=1) for f in quantiles.values()], axis=0)  # (S,)
        overall["wql"] = weighted_quantile_loss(actual[finite],
                                                {q: f[finite] for q, f in quantiles.items()})
    return table, overall
