r"""Training windows sampled across the series of a panel, cut batch by batch.

A window of series k at origin o (the row index, within the series, of the last observed
value) covers rows ``o - pre - L + 1 .. o + H`` of that series: ``pre`` rows for the lagged
inputs, the lookback L and the horizon H. No window is ever materialised for the whole
panel: a batch of window numbers is turned into row indices and gathered from the panel's
values, so memory does not grow with the number of windows.

Every window is scaled by its own context (DeepAR's per-window scaling, Salinas et al. 2020):
``mean_abs`` divides by s = mean |y| over the L context rows (loc 0; s = 1 where that is 0);
``standard`` subtracts the context mean and divides by its standard deviation (instance
normalisation). The network sees z = (y - loc) / s and log s; forecasts are mapped back with
y = loc + s * z.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from rnnkit.data.panel import Panel

#: Per-window scaling (``--scaling``).
SCALINGS = ("mean_abs", "standard")


def window_scale(context: np.ndarray, scaling: str) -> tuple[np.ndarray, np.ndarray]:
    """(loc, scale), each (B,), of context values (B, L) under ``scaling``; NaN is ignored.

    Example:
        >>> loc, s = window_scale(np.array([[2.0, -4.0], [0.0, 0.0]]), "mean_abs")
        >>> loc.tolist(), s.tolist()
        ([0.0, 0.0], [3.0, 1.0])
    """
    if scaling == "mean_abs":
        scale = np.nanmean(np.abs(context), axis=1)
        loc = np.zeros_like(scale)
    elif scaling == "standard":
        loc, scale = np.nanmean(context, axis=1), np.nanstd(context, axis=1)
    else:
        raise ValueError(f"scaling {scaling!r}; expected one of {SCALINGS}")
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    return np.nan_to_num(loc), scale


@dataclass
class Layout:
    """What a window holds: ``pre`` rows for the lags, ``lookback`` context rows, ``horizon``
    rows ahead; which panel columns are covariates known only in the past (``past``, zeroed
    over the horizon) or also over the horizon (``future``), each standardised by
    ``mean``/``std``; the per-window ``scaling``; and the seasonal period ``season`` whose
    phase each window reports (for ES-RNN's seasonal indices)."""

    lookback: int
    horizon: int
    pre: int = 0
    past: tuple[int, ...] = ()  # panel column indices
    future: tuple[int, ...] = ()
    mean: np.ndarray | None = None  # (n_past + n_future,) of the covariates
    std: np.ndarray | None = None
    scaling: str = "mean_abs"
    season: int = 1
    calendar: Callable[[np.ndarray], np.ndarray] | None = None  # datetime64 rows -> (n, k)
    log_scale: tuple[float, float] = (0.0, 1.0)  # log s is fed standardised by these

    @property
    def width(self) -> int:
        """Rows per window: pre + lookback + horizon."""
        return self.pre + self.lookback + self.horizon

    @property
    def context(self) -> int:
        """Rows up to the origin: pre + lookback."""
        return self.pre + self.lookback


class PanelWindows(Dataset):
    """The windows of a panel at given origins, indexable by a list of window numbers.

    Args:
        panel: the series (target in column 0).
        layout: the window `Layout`.
        first: (S,) the first origin of each series; ``count`` (S,) how many consecutive
            origins from it (0: none). Window number i is the i-th of them in series order.
        series_codes: (S,) the series' index for the network's per-series parameters.
        static: (S, n) float32 static inputs (standardised numbers); ``categories`` (S, m)
            int64 codes of categorical static columns.

    ``dataset[[i, j, ...]]`` is one batch ``(x, y)``. x = (z (B, W), 0 where unknown (a
    network reads only the context's, except DeepAR's teacher forcing); covariates (B, W,
    n_cov); static (B, n); categories (B, m); series (B,); phase (B,); standardised log s
    (B,)). y (B, L + H, 3) = (z, scale, loc) over the context and horizon rows, z NaN where
    the panel has no value (past its end).
    """

    def __init__(self, panel: Panel, layout: Layout, first: np.ndarray, count: np.ndarray,
                 series_codes: np.ndarray, static: np.ndarray, categories: np.ndarray) -> None:
        self.panel, self.layout = panel, layout
        self.first = np.asarray(first, dtype=np.int64)
        self.count = np.maximum(np.asarray(count, dtype=np.int64), 0)
        self.cumulative = np.concatenate([[0], np.cumsum(self.count)])
        self.series_codes = np.asarray(series_codes, dtype=np.int64)
        self.static = np.asarray(static, dtype=np.float32).reshape(len(panel), -1)
        self.categories = np.asarray(categories, dtype=np.int64).reshape(len(panel), -1)
        times = panel.time
        self.stamps = None if times is None or layout.calendar is None else times.to_numpy()

    def __len__(self) -> int:
        return int(self.cumulative[-1])

    def locate(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(series, origin) of window numbers ``index``."""
        index = np.asarray(index, dtype=np.int64)
        k = np.searchsorted(self.cumulative, index, side="right") - 1
        return k, self.first[k] + index - self.cumulative[k]

    def __getitem__(self, index: list[int]) -> tuple[tuple[Tensor, ...], Tensor]:
        lay = self.layout
        k, origin = self.locate(np.asarray(index))
        start = origin - lay.context + 1  # within the series
        steps = np.arange(lay.width)
        local = start[:, None] + steps[None, :]  # (B, W)
        length = np.diff(self.panel.offsets)[k]
        inside = (local >= 0) & (local < length[:, None])
        rows = self.panel.offsets[k][:, None] + np.clip(local, 0, length[:, None] - 1)
        block = self.panel.values[rows]  # (B, W, C) float64, a copy of the batch only
        y = np.where(inside, block[..., 0], np.nan)
        loc, scale = window_scale(y[:, lay.pre : lay.context], lay.scaling)
        z = (y - loc[:, None]) / scale[:, None]
        covariates = self._covariates(block, inside, rows)
        target = np.stack([z[:, lay.pre :], np.broadcast_to(scale[:, None], z[:, lay.pre :].shape),
                           np.broadcast_to(loc[:, None], z[:, lay.pre :].shape)], axis=-1)
        x = (torch.from_numpy(np.nan_to_num(z).astype(np.float32)),
             torch.from_numpy(covariates),
             torch.from_numpy(self.static[k]),
             torch.from_numpy(self.categories[k]),
             torch.from_numpy(self.series_codes[k]),
             torch.from_numpy(start % lay.season),
             torch.from_numpy(((np.log(scale) - lay.log_scale[0]) / lay.log_scale[1]
                               ).astype(np.float32)))
        return x, torch.from_numpy(target.astype(np.float32))

    def _covariates(self, block: np.ndarray, inside: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(B, W, n_cov) float32: the standardised past and future covariates (past ones 0
        over the horizon), then the calendar features; 0 where a row is missing. Forecasts
        past the data's end are made on a panel extended by the future rows (their times and
        known-future covariates), so every row a window covers has its time."""
        lay = self.layout
        parts = []
        columns = [*lay.past, *lay.future]
        if columns:
            values = (block[..., columns] - lay.mean) / lay.std
            values[:, lay.context :, : len(lay.past)] = 0.0
            parts.append(np.where(inside[..., None], np.nan_to_num(values), 0.0))
        if self.stamps is not None:
            parts.append(lay.calendar(self.stamps[rows].ravel()).reshape(*rows.shape, -1))
        if not parts:
            return np.zeros((*rows.shape, 0), dtype=np.float32)
        return np.concatenate(parts, axis=-1).astype(np.float32)


def sampled_loader(data: PanelWindows, batch_size: int, windows_per_epoch: int, seed: int
                   ) -> DataLoader:
    """Batches of ``windows_per_epoch`` windows drawn uniformly with replacement each epoch
    (a generator seeded with ``seed``: the draws are reproducible and resumable)."""
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(data, replacement=True, num_samples=windows_per_epoch,
                            generator=generator)
    return DataLoader(data, sampler=BatchSampler(sampler, batch_size, drop_last=False),
                      batch_size=None)


def ordered_loader(data: PanelWindows, batch_size: int) -> DataLoader:
    """Every window once, in order (validation and forecasting)."""
    return DataLoader(data, sampler=BatchSampler(SequentialSampler(data), batch_size,
                                                 drop_last=False), batch_size=None)
