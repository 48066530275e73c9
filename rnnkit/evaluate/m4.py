"""The M4 competition's scores and its Naive2 benchmark, as the competition defined them.

Makridakis, Spiliotis & Assimakopoulos, "The M4 Competition: 100,000 time series and 61
forecasting methods", International Journal of Forecasting 36(1), 2020; the definitions follow
the competition's own R code (github.com/Mcompetitions/M4-methods, ``Benchmarks and
Evaluation.R``). Every score is of one series: ``actual`` and ``forecast`` are (h,), the
horizon; ``insample`` is the series' training part (n,); ``m`` the seasonal period (M4: 24 for
Hourly, 1 for Weekly). A method's score on a frequency is the mean over its series, and `owa`
compares those means with Naive2's.
"""

from __future__ import annotations

import numpy as np
from statsmodels.tsa.seasonal import seasonal_decompose
from statsmodels.tsa.stattools import acf

from rnnkit.evaluate import metrics

# M4's 90% one-sided critical value, as the competition rounded it.
CRITICAL_VALUE = 1.645


def _horizon(actual: np.ndarray, forecast: np.ndarray, name: str = "forecast") -> np.ndarray:
    """``actual`` as float, after checking that ``forecast`` covers the same horizon."""
    actual = np.asarray(actual, dtype=np.float64)
    if actual.ndim != 1 or np.shape(forecast) != actual.shape:
        raise ValueError(f"{name} has shape {np.shape(forecast)} but actual has shape "
                         f"{actual.shape}: pass one series, both (h,) over the same horizon")
    return actual


def naive_scale(insample: np.ndarray, m: int) -> float:
    """MASE's denominator: the in-sample mean absolute error of the seasonal naive forecast,

    .. math:: \\frac{1}{n - m} \\sum_{t=m+1}^{n} |y_t - y_{t-m}|

    over the training part ``insample`` (n,), with ``m`` the seasonal period (1: persistence).

    Example:
        >>> naive_scale(np.array([1.0, 3.0, 2.0, 6.0]), m=2)
        2.0
    """
    insample = np.asarray(insample, dtype=np.float64)
    if m < 1 or len(insample) <= m:
        raise ValueError(f"m={m} needs 1 <= m < len(insample); insample has {len(insample)} "
                         "values: pass the series' whole training part and its period")
    return float(np.mean(np.abs(insample[m:] - insample[:-m])))


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error of one series, in percent (0 to 200):

    .. math:: \\mathrm{sMAPE} = \\frac{200}{h} \\sum_{t=1}^{h} \\frac{|y_t - f_t|}{|y_t| + |f_t|}

    ``actual`` and ``forecast`` are (h,); a point where both are 0 counts 0 (M4's series are
    positive). (Makridakis, Spiliotis & Assimakopoulos 2020.)

    Example:
        >>> round(smape(np.array([100.0, 200.0]), np.array([110.0, 180.0])), 3)
        10.025
    """
    return metrics.smape(_horizon(actual, forecast), forecast)


def mase(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, m: int) -> float:
    """Mean absolute scaled error of one series:

    .. math:: \\mathrm{MASE} = \\frac{\\frac{1}{h} \\sum_{t=n+1}^{n+h} |y_t - f_t|}
              {\\frac{1}{n-m} \\sum_{t=m+1}^{n} |y_t - y_{t-m}|}

    ``actual`` and ``forecast`` are (h,), ``insample`` the training part (n,), ``m`` the period
    (M4: 24 for Hourly, 1 for Weekly). (Makridakis, Spiliotis & Assimakopoulos 2020.)

    Example:
        >>> mase(np.array([5.0, 7.0]), np.array([6.0, 6.0]), np.array([1.0, 3.0, 2.0, 6.0]), m=2)
        0.5
    """
    actual = _horizon(actual, forecast)
    return float(np.mean(np.abs(actual - forecast)) / naive_scale(insample, m))


def msis(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, insample: np.ndarray, m: int,
    alpha: float = 0.05,
) -> float:
    """Mean scaled interval score of one series' (1 - alpha) prediction interval:

    .. math:: \\mathrm{MSIS} = \\frac{\\frac{1}{h} \\sum_{t=n+1}^{n+h} (U_t - L_t)
              + \\frac{2}{\\alpha}(L_t - y_t) 1\\{y_t < L_t\\}
              + \\frac{2}{\\alpha}(y_t - U_t) 1\\{y_t > U_t\\}}
              {\\frac{1}{n-m} \\sum_{t=m+1}^{n} |y_t - y_{t-m}|}

    the interval's width plus a penalty of 2/alpha per unit it misses by, scaled like MASE.
    ``actual``, ``lower`` and ``upper`` are (h,); M4 scored 95% intervals (alpha = 0.05).
    (Makridakis, Spiliotis & Assimakopoulos 2020; Gneiting & Raftery 2007.)

    Example:
        >>> msis(np.array([5.0, 9.0]), np.array([4.0, 4.0]), np.array([6.0, 8.0]),
        ...      np.array([1.0, 3.0, 2.0, 6.0]), m=2, alpha=0.5)
        2.5
    """
    actual = _horizon(actual, lower, "lower")
    _horizon(actual, upper, "upper")
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    below, above = (lower - actual) * (actual < lower), (actual - upper) * (actual > upper)
    penalty = (2 / alpha) * (below + above)
    return float(np.mean(upper - lower + penalty) / naive_scale(insample, m))


def owa(
    smape_model: np.ndarray, mase_model: np.ndarray, smape_naive2: np.ndarray,
    mase_naive2: np.ndarray,
) -> float:
    """Overall weighted average of a method over a set of series, M4's ranking score:

    .. math:: \\mathrm{OWA} = \\frac{1}{2} \\left(
              \\frac{\\overline{\\mathrm{sMAPE}}}{\\overline{\\mathrm{sMAPE}}_{\\mathrm{Naive2}}}
              + \\frac{\\overline{\\mathrm{MASE}}}{\\overline{\\mathrm{MASE}}_{\\mathrm{Naive2}}}
              \\right)

    where each bar is the mean over the series: the ratio is of the means, not the mean of
    per-series ratios. Each argument holds one score per series (or already its mean). 1 is
    Naive2's own score; below 1 beats it. (Makridakis, Spiliotis & Assimakopoulos 2020.)

    Example:
        >>> owa(np.array([10.0, 20.0]), np.array([1.0, 2.0]), np.array([20.0, 40.0]),
        ...     np.array([1.0, 2.0]))
        0.75
    """
    return float(0.5 * (np.mean(smape_model) / np.mean(smape_naive2)
                        + np.mean(mase_model) / np.mean(mase_naive2)))


def seasonal_naive(insample: np.ndarray, h: int, m: int) -> np.ndarray:
    """The last observed season repeated: step ``k`` of the horizon is ``y[n - m + (k-1) % m]``.

    ``insample`` is (n,); returns (h,). ``m = 1`` is the naive (last value) forecast.

    Example:
        >>> seasonal_naive(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), h=3, m=2)
        array([4., 5., 4.])
    """
    insample = np.asarray(insample, dtype=np.float64)
    if h < 1 or m < 1 or len(insample) < m:
        raise ValueError(f"h={h} and m={m} must be >= 1 with m <= len(insample) "
                         f"({len(insample)}): pass the horizon and the seasonal period")
    return np.resize(insample[-m:], h)


def seasonality_test(insample: np.ndarray, m: int) -> bool:
    """M4's 90% autocorrelation test for seasonality at lag ``m``: seasonal when

    .. math:: |r_m| > 1.645 \\sqrt{\\frac{1 + 2 \\sum_{k=1}^{m-1} r_k^2}{n}}

    with ``r_k`` the sample autocorrelations of ``insample`` (n,) (Bartlett's band). False when
    ``m = 1`` or the series has fewer than ``3 m`` values, as in M4.

    Example:
        >>> seasonality_test(np.tile([1.0, 5.0, 3.0, 2.0], 10), m=4)
        True
    """
    insample = np.asarray(insample, dtype=np.float64)
    if m <= 1 or len(insample) < 3 * m:
        return False
    r = acf(insample, nlags=m)
    # Written out because statsmodels' band (acf(..., alpha=0.1)) uses z = 1.64485, not M4's 1.645.
    bound = CRITICAL_VALUE * np.sqrt((1 + 2 * np.sum(r[1:m] ** 2)) / len(insample))
    return bool(abs(r[m]) > bound)


def deseasonalise(insample: np.ndarray, h: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """M4's seasonal adjustment, as its benchmarks apply it before Naive2, SES, Holt and Theta:
    (adjusted series (n,), indices to multiply the adjusted forecast by (h,)).

    When `seasonality_test` finds ``insample`` (n,) seasonal at lag ``m``, it is divided by the
    seasonal indices ``s`` of a classical multiplicative decomposition (centred moving-average
    trend; each phase's mean ratio, normalised to average 1) and step ``k`` of the horizon is
    multiplied back by ``s_{n - m + 1 + (k-1) mod m}``, the index of its phase in the last
    season. Otherwise the series is returned as it is, with indices of 1. A seasonal series must
    be positive. (M4-methods, ``Benchmarks and Evaluation.R``: ``decompose(type =
    "multiplicative")``, ``SIout``.)

    Example:
        >>> adjusted, indices = deseasonalise(np.tile([1.0, 3.0], 6), h=3, m=2)
        >>> adjusted.tolist()[:4], indices.tolist()
        ([2.0, 2.0, 2.0, 2.0], [0.5, 1.5, 0.5])
    """
    insample = np.asarray(insample, dtype=np.float64)
    if h < 1:
        raise ValueError(f"h={h} must be >= 1: pass the forecast horizon")
    if not seasonality_test(insample, m):
        return insample, np.ones(h)
    if np.any(insample <= 0):
        raise ValueError(f"the series is seasonal at m={m} but has a value <= 0 "
                         f"({insample.min():g}): M4's multiplicative adjustment needs positive "
                         "values")
    indices = seasonal_decompose(insample, model="multiplicative", period=m).seasonal  # (n,)
    return insample / indices, np.resize(indices[-m:], h)


def naive2(insample: np.ndarray, h: int, m: int) -> np.ndarray:
    """M4's Naive2 benchmark: the naive forecast of the seasonally adjusted series.

    The series is adjusted by `deseasonalise` (when M4's test finds it seasonal at lag
    ``m``), its last adjusted value is repeated and multiplied back by the indices ``s`` of the
    coming phases:

    .. math:: f_{n+k} = \\frac{y_n}{s_n} \\, s_{n - m + 1 + (k-1) \\bmod m}

    Otherwise it is the naive forecast ``y_n``. ``insample`` (n,) must be positive when
    seasonal; returns (h,). (Makridakis, Spiliotis & Assimakopoulos 2020.)

    Example:
        >>> naive2(np.tile([1.0, 2.0], 6), h=3, m=2)
        array([1., 2., 1.])
    """
    adjusted, indices = deseasonalise(insample, h, m)
    return adjusted[-1] * indices
