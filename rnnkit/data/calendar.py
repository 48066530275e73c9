"""Calendar features of timestamps (hour, weekday, month... as sin/cos pairs) and the seasonal
lags of a frequency: inputs a forecaster can compute for the horizon as well as the past.

Which features vary at which frequency follows GluonTS' ``time_features_from_frequency_str``
(Alexandrov et al. 2020); each is a point on a circle, so that hour 23 sits next to hour 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from rnnkit.data.series import infer_frequency
from rnnkit.errors import InputError

_HOUR, _DAY, _WEEK = pd.Timedelta(hours=1), pd.Timedelta(days=1), pd.Timedelta(weeks=1)
_MONTH = pd.Timedelta(days=365.2425 / 12)  # the mean Gregorian month


def _iso_weeks(time: pd.DatetimeIndex) -> np.ndarray:
    """Weeks (52 or 53) in the ISO year of each timestamp: the ISO week of its 28 December."""
    year = time.isocalendar().year.to_numpy(dtype=np.int64)
    december = pd.to_datetime(pd.DataFrame({"year": year, "month": 12, "day": 28}))
    return december.dt.isocalendar().week.to_numpy()


#: Each feature as (position from 0, period) of every timestamp.
_FEATURES: dict[str, Callable[[pd.DatetimeIndex], tuple[np.ndarray, np.ndarray | int]]] = {
    "minute": lambda t: (t.minute, 60),
    "hour": lambda t: (t.hour, 24),
    "day_of_week": lambda t: (t.day_of_week, 7),  # Monday 0
    "day_of_month": lambda t: (t.day - 1, t.days_in_month),
    "day_of_year": lambda t: (t.day_of_year - 1, 365 + t.is_leap_year),
    "week_of_year": lambda t: (t.isocalendar().week.to_numpy() - 1, _iso_weeks(t)),
    "month": lambda t: (t.month - 1, 12),
    "quarter": lambda t: (t.quarter - 1, 4),
}


def _step(freq: str) -> pd.Timedelta:
    """The length of one step of ``freq`` (28 days for a month: calendar steps vary)."""
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError as err:
        raise InputError(f"freq {freq!r} is not a pandas frequency such as 'h', 'D', 'W' or "
                         "'MS'") from err
    start = pd.Timestamp("2001-01-01")  # a Monday in January: B and W steps are whole
    return (start + 2 * offset) - (start + offset)


def _features_at(step: pd.Timedelta) -> list[str]:
    """The calendar features that vary from one step of this length to the next."""
    if step < _HOUR:
        return ["minute", "hour", "day_of_week"]
    if step < _DAY:
        return ["hour", "day_of_week", "day_of_year"]
    if step < _WEEK:
        return ["day_of_week", "day_of_month", "month"]
    if step < 4 * _WEEK:
        return ["week_of_year"]
    if step < 3 * _MONTH - 2 * _DAY:  # a quarter is 89 to 92 days
        return ["month"]
    if step < 12 * _MONTH - 2 * _DAY:
        return ["quarter"]
    return []


def calendar_features(time: pd.DatetimeIndex,
                      freq: str | None = None) -> tuple[np.ndarray, list[str]]:
    """The calendar features that vary at the data's frequency, as sin/cos pairs.

    A feature at position :math:`p` of its period :math:`P` (hour 0..23 of 24, Monday 0 of 7
    days, day 0..30 of a month's days...) is the pair

    .. math::
        \\sin(2 \\pi p / P), \\quad \\cos(2 \\pi p / P)

    Sub-hourly data gets minute, hour and day of week; hourly data hour, day of week and day
    of year; daily data day of week, day of month and month; weekly data the ISO week of the
    year; monthly data the month; quarterly data the quarter; yearly data none.

    Args:
        time: the timestamps (N,), e.g. `Panel.time`; time zones give local wall-clock values.
        freq: the data's frequency (``"h"``, ``"D"``, ``"W-SUN"``, ``"MS"``...); None infers
            it with `infer_frequency`, else takes the median step between timestamps.

    Returns:
        (features (N, 2k) float32 in [-1, 1], their k * 2 names ``"hour_sin"``, ``"hour_cos"``...).

    Example:
        >>> time = pd.date_range("2024-01-01", periods=3, freq="6h")  # a Monday
        >>> features, names = calendar_features(time)
        >>> names[:4]
        ['hour_sin', 'hour_cos', 'day_of_week_sin', 'day_of_week_cos']
        >>> features[:, :2].round(6).tolist()
        [[0.0, 1.0], [1.0, 0.0], [0.0, -1.0]]
    """
    if freq is not None:
        step = _step(freq)
    elif (inferred := infer_frequency(time)) is not None:
        step = _step(inferred)
    elif len(time) >= 2:
        step = pd.Timedelta(np.median(np.diff(np.sort(time.asi8))), unit=time.unit)
    else:
        raise InputError(f"calendar features of {len(time)} timestamp(s) need the data's "
                         "frequency: pass freq, e.g. freq='h'")
    names = _features_at(step)
    columns = []
    for name in names:
        position, period = _FEATURES[name](time)
        angle = 2 * np.pi * np.asarray(position, dtype=np.float64) / np.asarray(period)
        columns += [np.sin(angle), np.cos(angle)]
    features = np.stack(columns, axis=1) if columns else np.zeros((len(time), 0))
    return features.astype(np.float32), [f"{n}_{f}" for n in names for f in ("sin", "cos")]


def seasonal_lags(freq: str) -> list[int]:
    """The usual seasonal lags, in steps, of a frequency: inputs for lagged targets.

    Sub-daily: a day and a week (hourly ``[24, 168]``, 15 minutes ``[96, 672]``); business
    days: a week ``[5]``; days: a week ``[7]``; weeks: a year ``[52]``; months: a year
    ``[12]``; quarters ``[4]``; years none. Multiples step by that many (``"2h"``:
    ``[12, 84]``, ``"3MS"``: ``[4]``); a season they do not divide is left out.

    Args:
        freq: a pandas frequency, e.g. as `infer_frequency` gives it.

    Example:
        >>> seasonal_lags("h"), seasonal_lags("D"), seasonal_lags("W-SUN"), seasonal_lags("MS")
        ([24, 168], [7], [52], [12])
    """
    step = _step(freq)
    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, pd.offsets.BusinessDay):
        seasons = [5 / offset.n]
    elif step < _DAY:
        seasons = [_DAY / step, _WEEK / step]
    elif step < _WEEK:
        seasons = [_WEEK / step]
    elif step < 4 * _WEEK:
        seasons = [52 / (step / _WEEK)]
    else:
        months = round(step / _MONTH)
        seasons = [12 / months] if months < 12 else []
    return [int(s) for s in seasons if s > 1 and float(s).is_integer()]
