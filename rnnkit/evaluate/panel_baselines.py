"""Per-series statistical baselines for a panel: seasonal naive, Naive2, Theta and ETS.

Every baseline forecasts each series from its own training part, as the M4 competition's
benchmarks do (M4-methods, ``Benchmarks and Evaluation.R``). Seasonal naive and Naive2 are
`rnnkit.evaluate.m4`'s; Theta and ETS are statsmodels' models, fitted to the series after M4's
seasonal adjustment (`m4.deseasonalise`: multiplicative classical decomposition when M4's 90%
autocorrelation test finds the series seasonal at lag ``m``) and multiplied back by the
indices of the last season, as M4 does for its Theta, SES, Holt and Damped benchmarks. A
seasonal series with values <= 0, which M4 never had, is adjusted additively instead
(`adjust`).

- ``theta``: statsmodels' `ThetaModel` with ``theta=2`` on the adjusted series (its own
  seasonal test and decomposition are switched off, since M4's differ: its test has no factor
  2 in Bartlett's band and no 3-season minimum). statsmodels writes the classical Theta method
  in Hyndman & Billah's (2003) form, half the fitted linear trend's slope added to SES of the
  series; M4's ``Theta.classic`` averages the trend line with SES of the theta line
  ``2 y - trend``, so the two differ only through the SES fit (smoothing weight and start).
- ``ets``: statsmodels' `ETSModel` on the adjusted series, every configuration of error
  {additive, multiplicative} x trend {none, additive, additive damped}, no seasonal state
  (ANN, AAN, AAdN, MNN, MAN, MAdN; multiplicative error only for a positive series), fitted
  by maximum likelihood and the one with the lowest AICc kept, as forecast::ets chooses
  (Hyndman et al. 2002, 2008). Why no seasonal state: fitting one with m = 24 takes 0.2 to
  1.7 s per configuration on an M4 Hourly series, against 0.01 s without, so M4's
  adjustment handles the season instead.

A series on which a model fails (an exception, a forecast that is not finite: too short, no
variance) gets the fallback forecast instead, Naive2 (`fallback`), and is counted.
statsmodels' warnings (convergence, parameters at their bounds) are silenced.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.seasonal import seasonal_decompose

from rnnkit.evaluate import m4

#: The baselines `baseline_forecasts` knows, in the order it computes them.
BASELINES: tuple[str, ...] = ("seasonal_naive", "naive2", "theta", "ets")

#: ETS's candidates (error, trend, damped), searched by AICc.
ETS_CONFIGS: tuple[tuple[str, str | None, bool], ...] = tuple(
    (error, trend, damped) for error, (trend, damped)
    in product(("add", "mul"), ((None, False), ("add", False), ("add", True)))
)

#: Interval levels of the ETS quantiles: 80% (q0.1, q0.9) and 95% (q0.025, q0.975).
INTERVAL_LEVELS: tuple[float, ...] = (0.8, 0.95)

# (point forecast (h,), {quantile level: (h,)}) of one series.
Forecast = tuple[np.ndarray, dict[float, np.ndarray]]


@dataclass
class BaselineForecasts:
    """What `baseline_forecasts` returns, for S series and horizon h.

    - ``forecasts``: name -> (S, h) point forecasts, finite for every series.
    - ``fallbacks``: name -> how many series got the fallback forecast (Naive2) instead.
    - ``quantiles``: name -> {level: (S, h)} for the models that give intervals (ETS:
      0.025, 0.1, 0.9, 0.975); NaN on the series that fell back.
    """

    forecasts: dict[str, np.ndarray]
    fallbacks: dict[str, int]
    quantiles: dict[str, dict[float, np.ndarray]] = field(default_factory=dict)


def adjust(insample: np.ndarray, h: int, m: int
           ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """(adjusted series (n,), the map of an adjusted forecast (h,) back to the data's units).

    M4's multiplicative adjustment (`m4.deseasonalise`); a series that M4's test finds
    seasonal but that has values <= 0 (M4 had none; sales and temperatures do) is adjusted
    additively instead, by the seasonal component of a classical additive decomposition.

    Example:
        >>> adjusted, back = adjust(np.tile([-1.0, 1.0], 12), h=2, m=2)
        >>> adjusted[:3].round(6).tolist(), back(np.zeros(2)).round(6).tolist()
        ([0.0, 0.0, 0.0], [-1.0, 1.0])
    """
    insample = np.asarray(insample, dtype=np.float64)
    try:
        adjusted, indices = m4.deseasonalise(insample, h, m)
        return adjusted, lambda forecast: forecast * indices
    except ValueError:  # seasonal with a value <= 0
        seasonal = seasonal_decompose(insample, model="additive", period=m).seasonal
        ahead = np.resize(seasonal[-m:], h)
        return insample - seasonal, lambda forecast: forecast + ahead


def fallback(insample: np.ndarray, h: int, m: int) -> np.ndarray:
    """Naive2 (h,): the last value of the series adjusted by `adjust`, mapped back (M4's
    Naive2 wherever M4's rule applies)."""
    adjusted, back = adjust(insample, h, m)
    return back(np.full(h, float(adjusted[-1])))


def theta(insample: np.ndarray, h: int, m: int) -> np.ndarray:
    """M4's Theta benchmark as statsmodels allows: `ThetaModel` (theta = 2) on the series
    adjusted by `adjust` (M4's adjustment), its forecast (h,) mapped back.

    Example:
        >>> y = 10 + 0.5 * np.arange(40.0) + np.tile([0.0, 1.0, 0.0, -1.0], 10)
        >>> bool(np.all(np.diff(theta(y, h=4, m=1)) > 0))
        True
    """
    adjusted, back = adjust(insample, h, m)
    if len(adjusted) < 3 or np.ptp(adjusted) == 0:
        # statsmodels' trend regression (add_trend) drops its constant on a constant series
        raise ValueError(f"theta needs at least 3 values that are not all equal; the series "
                         f"has {len(adjusted)} values from {adjusted.min():g} to "
                         f"{adjusted.max():g}")
    result = ThetaModel(adjusted, deseasonalize=False).fit()
    return back(np.asarray(result.forecast(h, theta=2)))


def ets_name(error: str, trend: str | None, damped: bool) -> str:
    """forecast::ets' name of a configuration, e.g. ``("mul", "add", True)`` -> ``"MAdN"``."""
    return error[0].upper() + (trend[0].upper() if trend else "N") + ("d" if damped else "") + "N"


def ets(insample: np.ndarray, h: int, m: int) -> tuple[np.ndarray, dict[float, np.ndarray], str]:
    """ETS chosen by AICc among `ETS_CONFIGS` on the series adjusted by `adjust`.

    Returns (forecast (h,), {quantile level: (h,)} at 0.025, 0.1, 0.9 and 0.975, the chosen
    configuration's name such as ``"AAdN"``); the forecast and its quantiles are mapped
    back by `adjust`. Intervals are statsmodels': analytic for additive errors,
    simulated for multiplicative ones.

    Example:
        >>> y = 10 + 0.5 * np.arange(40.0) + np.tile([0.0, 1.0, 0.0, -1.0], 10)
        >>> forecast, quantiles, name = ets(y, h=4, m=1)
        >>> bool(np.all(quantiles[0.025] < forecast) and np.all(forecast < quantiles[0.975]))
        True
    """
    adjusted, back = adjust(insample, h, m)
    y = pd.Series(adjusted)  # ETSResults.get_prediction needs an index
    best, best_aicc, best_name = None, np.inf, ""
    for error, trend, damped in ETS_CONFIGS:
        if error == "mul" and np.any(adjusted <= 0):
            continue
        try:
            result = ETSModel(y, error=error, trend=trend, damped_trend=damped).fit(disp=False)
        except Exception:  # a configuration that cannot be fitted is not a candidate
            continue
        if np.isfinite(result.aicc) and result.aicc < best_aicc:
            best, best_aicc, best_name = result, result.aicc, ets_name(error, trend, damped)
    if best is None:
        raise ValueError("no ETS configuration could be fitted")
    prediction = best.get_prediction(start=len(y), end=len(y) + h - 1)
    quantiles = {}
    for level in INTERVAL_LEVELS:
        frame = prediction.summary_frame(alpha=1 - level)
        quantiles[round((1 - level) / 2, 4)] = back(frame["pi_lower"].to_numpy())
        quantiles[round((1 + level) / 2, 4)] = back(frame["pi_upper"].to_numpy())
    forecast = back(np.asarray(prediction.predicted_mean))
    return forecast, dict(sorted(quantiles.items())), best_name


def _point(model: Callable[[np.ndarray, int, int], np.ndarray]
           ) -> Callable[[np.ndarray, int, int], Forecast]:
    """A point forecaster as one that returns (forecast, no quantiles)."""
    return lambda insample, h, m: (model(insample, h, m), {})


MODELS: dict[str, Callable[[np.ndarray, int, int], Forecast]] = {
    "seasonal_naive": _point(m4.seasonal_naive),
    "naive2": _point(fallback),
    "theta": _point(theta),
    "ets": lambda insample, h, m: ets(insample, h, m)[:2],
}


def baseline_forecasts(
    insample: Sequence[np.ndarray], h: int, m: int, names: Sequence[str] = BASELINES,
) -> BaselineForecasts:
    """Forecast every series' next ``h`` values with each baseline in ``names``.

    Args:
        insample: S training parts, each (n_k,), of any lengths.
        h: the horizon, the same for every series.
        m: the seasonal period (M4: 24 for Hourly, 1 for Weekly; 1 when none).
        names: which of `BASELINES` to compute.

    Returns:
        `BaselineForecasts`: (S, h) point forecasts per name, the count of series that fell
        back to Naive2 per name, and ETS's quantiles.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> series = [100 + np.arange(60.0) + rng.normal(size=60) for _ in range(3)] + [[5.0]]
        >>> result = baseline_forecasts(series, h=6, m=1, names=("naive2", "theta"))
        >>> result.forecasts["theta"].shape, result.fallbacks
        ((4, 6), {'naive2': 0, 'theta': 1})
    """
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(BASELINES)}")
    if h < 1 or m < 1:
        raise ValueError(f"h={h} and m={m} must be >= 1: pass the horizon and the seasonal "
                         "period (1 for none)")
    series = [np.asarray(y, dtype=np.float64) for y in insample]
    empty = next((k for k, y in enumerate(series) if y.ndim != 1 or len(y) == 0), None)
    if empty is not None:
        raise ValueError(f"insample[{empty}] has shape {series[empty].shape}: every series "
                         "needs at least one value, as a 1-d array")
    result = BaselineForecasts({}, {})
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name in names:
            points, quantiles, fallbacks = [], [], 0
            for y in series:
                try:
                    point, levels = MODELS[name](y, h, m)
                    if not np.all(np.isfinite(point)):
                        raise ValueError("the forecast is not finite")
                except Exception:  # statsmodels fails in many ways; each is counted
                    point, levels, fallbacks = fallback(y, h, m), {}, fallbacks + 1
                points.append(point)
                quantiles.append(levels)
            result.forecasts[name] = np.stack(points)  # (S, h)
            result.fallbacks[name] = fallbacks
            levels = sorted({q for per_series in quantiles for q in per_series})
            if levels:
                nan = np.full(h, np.nan)
                result.quantiles[name] = {q: np.stack([per_series.get(q, nan)
                                                       for per_series in quantiles])
                                          for q in levels}
    return result
