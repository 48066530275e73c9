"""Naive forecasts that every model must be shown beside: persistence, seasonal naive, drift, mean.

Each takes the full series ``y`` (T, n) and forecast origins (N,) (index of the last observed
row), and returns (N, H, n) forecasts of rows ``origin+1 .. origin+H`` that use only
``y[: origin + 1]``.
"""

from __future__ import annotations

import re

import numpy as np


def persistence(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Tomorrow = today: the last observed value, repeated over the horizon."""
    return np.repeat(y[origins][:, None, :], horizon, axis=1)


def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """The value one season earlier: row ``t`` is forecast by the last observed row ``t - k m``."""
    steps = np.arange(1, horizon + 1)
    back = period * np.ceil(steps / period).astype(int)  # smallest multiple of m reaching back
    rows = origins[:, None] + steps[None, :] - back[None, :]
    return y[np.clip(rows, 0, None)]


def drift(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The line through the first and the last observation, extended (Hyndman & Athanasopoulos)."""
    last = y[origins]  # (N, n)
    slope = np.where(origins[:, None] > 0, (last - y[0]) / np.maximum(origins, 1)[:, None], 0.0)
    steps = np.arange(1, horizon + 1)[None, :, None]
    return last[:, None, :] + steps * slope[:, None, :]


def mean(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The mean of all observations so far."""
    running = np.cumsum(y, axis=0) / np.arange(1, len(y) + 1)[:, None]
    return np.repeat(running[origins][:, None, :], horizon, axis=1)


#: Seasonal period of each calendar frequency (pandas offset names): a day of hours, a week
#: of days, a year of weeks, months or quarters. Business days and minutes have none here:
#: the autocorrelation decides.
PERIODS = {"h": 24, "D": 7, "W": 52, "ME": 12, "MS": 12, "M": 12, "QE": 4, "QS": 4, "Q": 4}


def infer_period(y: np.ndarray, time: object = None, max_lag: int = 400) -> int | None:
    """A seasonal period from the timestamps' frequency, else from the autocorrelation.

    Frequencies: hourly 24, daily 7, weekly 52, monthly 12, quarterly 4. Otherwise the first
    autocorrelation peak of ``y`` (T,) with a quadratic trend removed that rises above 0.3
    and at least 0.3 above the trough before it (and within 90% of the highest such peak),
    up to ``max_lag``; None when there is no clear season (e.g. stock prices).
    """
    import pandas as pd

    from rnnkit.data.series import infer_frequency

    if isinstance(time, pd.DatetimeIndex) and len(time) >= 3:
        freq = infer_frequency(time[:500])
        # the offset's name without its multiple or anchor: "W-SAT" -> "W", "15min" -> "min"
        base = re.match(r"\d*([A-Za-z]+)", freq).group(1) if freq else None
        if base in PERIODS:
            return PERIODS[base]
    values = np.asarray(y, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    steps = np.arange(len(values))
    max_lag = min(max_lag, len(values) // 3)
    if max_lag < 3:
        return None
    detrended = values - np.polyval(np.polyfit(steps, values, 2), steps)
    if not np.any(detrended):
        return None
    spectrum = np.fft.rfft(detrended, n=2 * len(detrended))
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 1]
    acf = acf / acf[0]
    # a season is a peak that rises well above the trough before it (random walks only wiggle)
    peaks = [
        k for k in range(2, max_lag)
        if acf[k] > acf[k - 1] and acf[k] >= acf[k + 1] and acf[k] > 0.3
        and acf[k] - acf[1:k].min() > 0.3
    ]
    if not peaks:
        return None
    best = max(acf[k] for k in peaks)
    return next(k for k in peaks if acf[k] >= 0.9 * best)  # the season, not its multiples


def all_baselines(
    y: np.ndarray, origins: np.ndarray, horizon: int, period: int | None
) -> dict[str, np.ndarray]:
    """Every baseline that applies, by name (seasonal naive only with a period)."""
    result = {
        "persistence": persistence(y, origins, horizon),
        "drift": drift(y, origins, horizon),
        "mean": mean(y, origins, horizon),
    }
    if period:
        result[f"seasonal_naive_{period}"] = seasonal_naive(y, origins, horizon, period)
    return result
