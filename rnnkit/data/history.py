"""The recent history of a series, kept as JSON, and how newer rows continue it.

A forecast run keeps the last rows it has seen (training and test) so that it can forecast
from where its data ends; rows read later either continue that history, stand alone when
they are enough, or are refused with what is missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.series import Series
from rnnkit.errors import InputError


def history_to_dict(series: Series, rows: int, frequency: str | None) -> dict[str, Any]:
    """The last ``rows`` rows of ``series`` as JSON: its columns, timestamps (ISO text, or
    None), values and the ``frequency`` of its time column (None: not regular)."""
    tail = series.slice(max(0, len(series) - rows))
    return {
        "source": series.source,
        "targets": tail.targets,
        "features": tail.features,
        "time": None if tail.time is None else [t.isoformat() for t in tail.time],
        "values": tail.values.tolist(),
        "frequency": frequency,
    }


def history_from_dict(data: Any, where: str) -> tuple[Series, str | None]:
    """The series and frequency that `history_to_dict` wrote; malformed data is an
    `InputError` naming ``where``."""
    try:
        time = None if data["time"] is None else pd.DatetimeIndex(data["time"])
        series = Series(np.asarray(data["values"], dtype=np.float64), list(data["targets"]),
                        list(data["features"]), time, f"the run's data ({data['source']})")
        frequency = data["frequency"]
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{where} is malformed ({err}); the run folder is damaged") from err
    return series, frequency


def continue_history(history: Series, new: Series, lookback: int,
                     frequency: str | None) -> Series:
    """The rows to forecast from when ``new`` rows arrive after a run's ``history``.

    With timestamps: rows of ``new`` that the history already holds must agree with it; the
    rest must start right after the history's end (its next timestamp at ``frequency``) and
    are appended. Without a continuation (a gap, another column layout, no timestamps),
    ``new`` alone is used when it has at least ``lookback`` rows. Anything else is an
    `InputError` that says how many rows are needed and from where.
    """
    if new.columns != history.columns:
        raise InputError(f"{new.source} has columns {new.columns}; the run was trained on "
                         f"{history.columns}")
    if new.time is None or history.time is None:
        if len(new) >= lookback:
            return new
        raise InputError(f"{new.source} has {len(new)} rows and no time column to check that "
                         f"it continues the run's data; a forecast needs the last {lookback} "
                         f"rows (lookback={lookback}): give at least {lookback} rows")
    last = history.time[-1]
    after = new.time > last
    known = new.slice(0, int((~after).sum()))
    if len(known) and not _agrees(history, known):
        if len(new) >= lookback:
            return new
        raise InputError(
            f"{new.source} overlaps the run's data (which ends at {_day(last)}) with other "
            f"values; give rows from {_next(last, frequency)} on, or at least {lookback} rows "
            f"to forecast from that file alone (lookback={lookback})")
    later = new.slice(len(known))
    expected = _next(last, frequency)
    if len(later) and frequency is not None and later.time[0] != pd.Timestamp(expected):
        if len(new) >= lookback:
            return new
        raise InputError(
            f"{new.source} starts at {_day(later.time[0])}, leaving a gap after the run's data "
            f"(which ends at {_day(last)}; the next row is due {expected}); give the rows in "
            f"between, or at least {lookback} rows to forecast from that file alone "
            f"(lookback={lookback})")
    if not len(later):
        end = history.time.get_loc(new.time[-1]) + 1 if len(new) else len(history)
        return history.slice(0, end)
    return history.concat(later)


def _agrees(history: Series, known: Series) -> bool:
    """Whether every row of ``known`` is in ``history`` with the same values."""
    index = history.time.get_indexer(known.time)
    if (index < 0).any():
        return False
    return bool(np.allclose(history.values[index], known.values, rtol=1e-9, atol=0.0,
                            equal_nan=True))


def _next(last: pd.Timestamp, frequency: str | None) -> str:
    """The timestamp after ``last`` at ``frequency``, for messages ('the next one' if none)."""
    if frequency is None:
        return f"the row after {_day(last)}"
    return _day(pd.date_range(last, periods=2, freq=frequency)[1])


def _day(stamp: pd.Timestamp) -> str:
    """A timestamp for people: the date alone at midnight."""
    return str(pd.Timestamp(stamp)).removesuffix(" 00:00:00")
