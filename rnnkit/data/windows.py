"""Sliding windows over a series: (lookback inputs -> horizon targets), as views, no copies."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import InputError


def check_length(rows: int, lookback: int, horizon: int, what: str) -> None:
    """At least one window must fit: ``lookback + horizon`` rows."""
    if rows < lookback + horizon:
        raise InputError(
            f"lookback={lookback} with horizon={horizon} needs at least {lookback + horizon} rows;"
            f" {what} has {rows}; lower --lookback or give more data"
        )


def windows(
    values: Tensor, lookback: int, horizon: int, n_targets: int, origins: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Input and target windows of a (T, C) series whose first ``n_targets`` columns are targets.

    Window k, with forecast origin ``o = origins[k]`` (the index of the last observed row),
    is ``x = values[o-L+1 : o+1]`` (L, C) and ``y = values[o+1 : o+1+H, :n_targets]`` (H, n).
    Without ``origins`` every origin that fits is used (stride 1). Built with ``unfold``, so
    the windows are a view of ``values`` (memory does not grow with lookback) when the origins
    are consecutive, as for training; other selections copy only the selected windows.

    Returns:
        x (N, L, C) and y (N, H, n_targets).
    """
    T = values.shape[0]
    check_length(T, lookback, horizon, "the series")
    x_all = values[: T - horizon].unfold(0, lookback, 1).transpose(1, 2)  # (T-H-L+1, L, C)
    y_all = values[lookback:, :n_targets].unfold(0, horizon, 1).transpose(1, 2)  # (.., H, n)
    if origins is None:
        return x_all, y_all
    index = torch.as_tensor(origins) - (lookback - 1)
    if len(index) and (index.min() < 0 or index.max() >= x_all.shape[0]):
        raise InputError(
            f"forecast origins must lie in [{lookback - 1}, {T - horizon - 1}] for lookback="
            f"{lookback}, horizon={horizon} and {T} rows"
        )
    return _select(x_all, index), _select(y_all, index)


def input_windows(values: Tensor, lookback: int, origins: Tensor) -> Tensor:
    """The input windows ``values[o-L+1 : o+1]`` (N, L, C) of a (T, C) series, one per origin
    ``o`` in ``origins`` (the last row may be one: forecasting needs no targets). A view of
    ``values`` when the origins are consecutive; other selections copy the selected windows.
    """
    T = values.shape[0]
    check_length(T, lookback, 0, "the series")
    index = torch.as_tensor(origins) - (lookback - 1)
    if len(index) and (index.min() < 0 or index.max() > T - lookback):
        raise InputError(f"forecast origins must lie in [{lookback - 1}, {T - 1}] for "
                         f"lookback={lookback} and {T} rows")
    return _select(values.unfold(0, lookback, 1).transpose(1, 2), index)  # (N, L, C)


def consecutive(index: Tensor) -> bool:
    """Whether ``index`` is non-empty and counts up by one: ``k, k+1, ..., k+n-1``."""
    return bool(len(index)) and torch.equal(
        index, torch.arange(int(index[0]), int(index[0]) + len(index)))


def _select(all_windows: Tensor, index: Tensor) -> Tensor:
    """``all_windows[index]``: a slice (a view) when the indices are consecutive."""
    if consecutive(index):
        first = int(index[0])
        return all_windows[first : first + len(index)]
    return all_windows[index]


def origins_between(first_target: int, stop: int, horizon: int, lookback: int) -> Tensor:
    """Origins whose targets lie in rows ``[first_target, stop)`` and whose input fits.

    Every window whose horizon ends inside the range is kept (stride 1, none dropped).
    """
    start = max(first_target - 1, lookback - 1)
    last = stop - horizon - 1
    if last < start:
        return torch.empty(0, dtype=torch.long)
    return torch.arange(start, last + 1)
