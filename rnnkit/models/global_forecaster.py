"""One recurrent forecaster trained across every series of a panel, with quantiles.

`GlobalForecaster` follows the estimator contract (check, fit, predict, state, from_state)
on a `rnnkit.data.panel.Panel`: windows are drawn across all series (never materialised),
each scaled by its own context, and one network (`rnnkit.models.global_nets`: MQ-RNN,
DeepAR or ES-RNN) learns from all of them. Forecasts come with quantiles: MQ-RNN and
ES-RNN emit them directly (pinball loss), DeepAR by sampling paths from its likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from rnnkit.checks import check_fractions
from rnnkit.data.panel import Panel
from rnnkit.data.panel_windows import (
    SCALINGS,
    Layout,
    PanelWindows,
    ordered_loader,
    sampled_loader,
    window_scale,
)
from rnnkit.data.series import infer_frequency
from rnnkit.errors import InputError
from rnnkit.evaluate.intervals import cqr_margin
from rnnkit.io.weights import load_checked
from rnnkit.layers import CELLS
from rnnkit.models.estimator import Estimator
from rnnkit.models.global_nets import ESRNN, MQRNN, DeepAR, _Inputs
from rnnkit.models.likelihoods import LIKELIHOODS, pinball_loss
from rnnkit.train.device import resolve_device
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.settings import TrainSettings

#: The global models (``--model``) and what each is.
MODELS = {
    "mqrnn": "MQ-RNN (direct quantiles)",
    "deepar": "DeepAR (autoregressive, sampled)",
    "esrnn": "ES-RNN (learned smoothing + RNN)",
}


@dataclass
class GlobalConfig:
    """The global network and its data handling (everything needed to rebuild it)."""

    model: str = "mqrnn"  # one of MODELS
    cell: str = "lstm"  # a name in rnnkit.layers.CELLS
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.0  # between recurrent layers
    lookback: int = 60  # context rows each window reads
    horizon: int = 1  # rows forecast from each origin
    quantiles: tuple[float, ...] = (0.025, 0.1, 0.5, 0.9, 0.975)  # 0.5 is always included
    likelihood: str = "gaussian"  # DeepAR: gaussian, student_t or negbin (counts)
    samples: int = 200  # DeepAR: sample paths per forecast
    scaling: str = "mean_abs"  # per-window scaling: mean_abs (DeepAR) or standard
    lags: tuple[int, ...] = ()  # lagged targets as inputs, e.g. (24, 168) for hourly data
    season: int = 1  # seasonal period (ES-RNN's seasonality; MASE's m)
    series_embedding: int = 0  # width of a learned per-series vector (0: none)
    calendar: bool = True  # calendar features from the time column, when there is one
    windows_per_epoch: int = 0  # windows drawn per epoch (0: 32 per series, at least 4096)
    recent: int | None = None  # draw training windows only from each series' last rows
    conformal: bool = False  # calibrate the intervals across series (split-conformal, CQR)

    def __post_init__(self) -> None:
        self.quantiles = tuple(sorted({float(q) for q in self.quantiles} | {0.5}))
        self.lags = tuple(int(lag) for lag in self.lags)

    @property
    def pre(self) -> int:
        """Rows before the lookback that the lags read."""
        return max(self.lags, default=0)

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        if self.model not in MODELS:
            raise InputError(f"--model {self.model!r} is not a panel model; choose one of "
                             f"{sorted(MODELS)}")
        if self.cell not in CELLS:
            raise InputError(f"--cell {self.cell!r} is not known; choose one of {sorted(CELLS)}")
        for name in ("hidden_size", "num_layers", "lookback", "horizon", "samples", "season"):
            if getattr(self, name) < 1:
                raise InputError(f"{name}={getattr(self, name)}; expected at least 1")
        check_fractions(self, ("dropout",))
        if any(not 0 < q < 1 for q in self.quantiles):
            raise InputError(f"--quantiles {list(self.quantiles)}: each must be in (0, 1)")
        if self.likelihood not in LIKELIHOODS:
            raise InputError(f"--likelihood {self.likelihood!r}; choose one of "
                             f"{sorted(LIKELIHOODS)}")
        if self.scaling not in SCALINGS:
            raise InputError(f"--scaling {self.scaling!r}; choose one of {SCALINGS}")
        if any(lag < 1 for lag in self.lags):
            raise InputError(f"--lags {list(self.lags)}: each lag must be at least 1")
        if self.model in ("esrnn",) and self.scaling != "mean_abs":
            raise InputError("--model esrnn smooths positive values: use --scaling mean_abs")
        if self.likelihood == "negbin" and self.scaling != "mean_abs":
            raise InputError("--likelihood negbin models counts: use --scaling mean_abs")
        if self.windows_per_epoch < 0 or (self.recent is not None and self.recent < 1):
            raise InputError("--windows-per-epoch must be >= 0 and --recent >= 1")


#: Training settings of the global forecaster.
TRAINING = TrainSettings(epochs=40, batch_size=128, lr=1e-3, clip=1.0, patience=8)

#: What a model option means only for some models: option -> the models it applies to.
ONLY_FOR = {"likelihood": ("deepar",), "samples": ("deepar",)}


@dataclass
class Learned:
    """What fitting learns from the data, apart from the weights: the series, the columns
    and how the covariates were standardised."""

    ids: list[str]
    target: str
    past: list[str] = field(default_factory=list)
    future: list[str] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)  # of past + future covariates
    std: list[float] = field(default_factory=list)
    static: list[str] = field(default_factory=list)  # numeric static columns
    static_mean: list[float] = field(default_factory=list)
    static_std: list[float] = field(default_factory=list)
    levels: dict[str, list[str]] = field(default_factory=dict)  # categorical static columns
    calendar: str | None = None  # the data's frequency when calendar features are used
    n_calendar: int = 0
    log_scale: tuple[float, float] = (0.0, 1.0)  # mean and std of log s over the series
    # with ``conformal``: per lower quantile level of each symmetric pair, the CQR margin per
    # horizon step, in units of the window scale s
    margins: dict[str, list[float]] = field(default_factory=dict)

    @property
    def n_covariates(self) -> int:
        """Covariate inputs per step: past, future, calendar."""
        return len(self.past) + len(self.future) + self.n_calendar


@dataclass
class PanelForecast:
    """Forecasts of every series from its last row: ``point`` (S, H) (the median), and
    ``quantiles`` (S, H, Q) at ``levels``, in the data's units; ``times`` (S, H) datetime64
    or None; ``skipped``: the ids of series too short to forecast."""

    ids: list[str]
    point: np.ndarray
    quantiles: np.ndarray
    levels: tuple[float, ...]
    times: np.ndarray | None
    skipped: list[str]

    def frame(self, id_column: str = "id", time_column: str = "time") -> pd.DataFrame:
        """Long table: id, time (or step), forecast, one ``q<level>`` column per quantile."""
        S, H = self.point.shape
        table = pd.DataFrame({id_column: np.repeat(self.ids, H)})
        if self.times is not None:
            table[time_column] = self.times.reshape(-1)
        else:
            table["step"] = np.tile(np.arange(1, H + 1), S)
        table["forecast"] = self.point.reshape(-1)
        for j, level in enumerate(self.levels):
            table[f"q{level:g}"] = self.quantiles[..., j].reshape(-1)
        return table


def _frequency(panel: Panel) -> str | None:
    """The panel's time step as a pandas offset alias, from its longest series."""
    if panel.time is None:
        return None
    k = int(np.argmax(panel.lengths))
    stamps = panel.time[panel.offsets[k] : panel.offsets[k + 1]]
    return infer_frequency(stamps)


def _static_inputs(panel: Panel, learned: Learned) -> tuple[np.ndarray, np.ndarray]:
    """(numeric (S, n) standardised, categorical codes (S, m)) of the panel's static columns,
    coded by the training levels; an unknown level is an `InputError`."""
    names, values, own_levels = panel.static_names, panel.static, panel.static_levels
    numeric = np.zeros((len(panel), len(learned.static)))
    for j, name in enumerate(learned.static):
        numeric[:, j] = (values[:, names.index(name)] - learned.static_mean[j]) / \
            learned.static_std[j]
    codes = np.zeros((len(panel), len(learned.levels)), dtype=np.int64)
    for j, (name, levels) in enumerate(learned.levels.items()):
        own = own_levels[name]
        index = {level: i for i, level in enumerate(levels)}
        column = values[:, names.index(name)].astype(np.int64)
        unknown = sorted({own[c] for c in column} - set(index))
        if unknown:
            raise InputError(f"static column {name!r} has levels {unknown[:5]} that the model "
                             f"was not trained on (it knows {levels[:10]})")
        codes[:, j] = [index[own[c]] for c in column]
    return numeric, codes


class GlobalForecaster(Estimator):
    """A global recurrent forecaster for a panel of series (see the module docstring).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> t = np.arange(120)
        >>> values = np.concatenate([10 + k + np.sin(2 * np.pi * t / 12) for k in range(3)])
        >>> panel = Panel(values[:, None], [0, 120, 240, 360], ["a", "b", "c"], ["y"])
        >>> fc = GlobalForecaster(GlobalConfig(lookback=24, horizon=6, hidden_size=16),
        ...                       TrainSettings(epochs=3, batch_size=64))
        >>> _ = fc.fit(panel, progress=False)
        >>> made = fc.predict(panel)
        >>> made.point.shape, made.quantiles.shape
        ((3, 6), (3, 6, 5))
    """

    SETTINGS = (("model", GlobalConfig, "config"), ("train", TrainSettings, "train_config"))
    NAME = "global forecaster"
    learned: Learned | None = None  # the data's columns and statistics
    net: nn.Module | None = None
    device = torch.device("cpu")
    _index: dict[str, int]  # series id -> its row of the per-series parameters

    def __init__(self, config: GlobalConfig | None = None,
                 train: TrainSettings | None = None) -> None:
        super().__init__(config or GlobalConfig(), train or replace(TRAINING))

    # ---- checking ---------------------------------------------------------------------------

    def _lengths_needed(self) -> tuple[int, int]:
        """(rows a series needs to be trained on, rows it needs to be forecast)."""
        c = self.config
        return c.pre + c.lookback + 2 * c.horizon, c.pre + c.lookback

    def _check_panel(self, panel: Panel) -> None:
        if len(panel.targets) != 1:
            raise InputError(f"a panel forecaster forecasts one target per series; "
                             f"{panel.source} has {panel.targets}: choose one with --target")
        if self.config.model == "esrnn":
            low = np.nanmin(panel.values[:, 0]) if len(panel.values) else 1.0
            if low <= 0:
                raise InputError(f"--model esrnn needs positive values (multiplicative "
                                 f"smoothing); {panel.source} has {low:g}. Use --model mqrnn")

    def check(self, panel: Panel, valid: None = None) -> str:
        """Check the settings against ``panel`` and say what will be trained: the model,
        the series kept and skipped (too short), the windows; changes nothing."""
        c = self.config
        c.validate()
        self.train_config.validate()
        self._check_panel(panel)
        train_rows, _ = self._lengths_needed()
        kept = panel.lengths >= train_rows
        if not kept.any():
            raise InputError(
                f"no series of {panel.source} has the {train_rows} rows a training window "
                f"and a validation window need (lags {c.pre} + lookback {c.lookback} + 2 x "
                f"horizon {c.horizon}); the longest has {panel.lengths.max()}: use a shorter "
                "--lookback or --horizon")
        windows = int(self._train_counts(panel)[1].sum())
        skipped = int((~kept).sum())
        return (f"forecast: {MODELS[c.model]}, {c.cell} {c.num_layers}x{c.hidden_size}, "
                f"across {int(kept.sum())} series of {panel.source}"
                f"{f' ({skipped} skipped: shorter than {train_rows} rows)' if skipped else ''}"
                f"; {windows} training windows, {int(kept.sum())} validation windows")

    def _train_counts(self, panel: Panel) -> tuple[np.ndarray, np.ndarray]:
        """(first origin, number of origins) per series of the training windows: each ends
        before the series' last horizon rows, which validate."""
        c = self.config
        usable = panel.lengths - c.horizon  # the validation rows are not trained on
        first = np.full(len(panel), c.pre + c.lookback - 1, dtype=np.int64)
        last = usable - c.horizon - 1  # the last origin whose horizon ends in the usable rows
        if c.recent is not None:
            first = np.maximum(first, last - c.recent + 1)
        count = np.where(panel.lengths >= self._lengths_needed()[0], last - first + 1, 0)
        return first, np.maximum(count, 0)

    # ---- fitting ----------------------------------------------------------------------------

    def _learn(self, panel: Panel) -> Learned:
        """Columns, covariate statistics and levels from the training rows."""
        past, future = list(panel.past), list(panel.future)
        names = [*past, *future]
        columns = [panel.columns.index(n) for n in names]
        values = panel.values[:, columns]
        mean = np.nanmean(values, axis=0) if names else np.zeros(0)
        std = np.nanstd(values, axis=0) if names else np.zeros(0)
        static_names, static, own_levels = panel.static_names, panel.static, panel.static_levels
        numeric = [n for n in static_names if n not in own_levels]
        where = [static_names.index(n) for n in numeric]
        frequency = _frequency(panel) if self.config.calendar else None
        n_calendar = 0
        if frequency is not None:
            n_calendar = self._calendar(frequency)(panel.time[:2].to_numpy()).shape[1]
        ends = panel.offsets[1:]
        context = [panel.values[max(start, end - self.config.lookback) : end, 0]
                   for start, end in zip(panel.offsets[:-1], ends, strict=True)]
        logs = np.log([window_scale(c[None, :], self.config.scaling)[1][0] for c in context])
        return Learned(
            log_scale=(float(logs.mean()), float(logs.std()) or 1.0),
            ids=list(panel.ids), target=panel.targets[0], past=past, future=future,
            mean=np.nan_to_num(mean).tolist(), std=np.where(std > 0, std, 1.0).tolist(),
            static=numeric, static_mean=static[:, where].mean(0).tolist() if where else [],
            static_std=np.where(static[:, where].std(0) > 0, static[:, where].std(0), 1.0
                                ).tolist() if where else [],
            levels={n: list(own_levels[n]) for n in static_names if n in own_levels},
            calendar=frequency, n_calendar=n_calendar)

    @staticmethod
    def _calendar(frequency: str) -> Callable[[np.ndarray], np.ndarray]:
        from rnnkit.data.calendar import calendar_features

        return lambda stamps: calendar_features(pd.DatetimeIndex(stamps), frequency)[0]

    def _layout(self, panel: Panel) -> Layout:
        c, learned = self.config, self.learned
        index = {name: j for j, name in enumerate(panel.columns)}
        for name in [*learned.past, *learned.future]:
            if name not in index:
                raise InputError(f"{panel.source} has no column {name!r}, which the model "
                                 "was trained with")
        return Layout(c.lookback, c.horizon, c.pre,
                      past=tuple(index[n] for n in learned.past),
                      future=tuple(index[n] for n in learned.future),
                      mean=np.asarray(learned.mean), std=np.asarray(learned.std),
                      scaling=c.scaling, season=c.season, log_scale=learned.log_scale,
                      calendar=None if learned.calendar is None else
                      self._calendar(learned.calendar))

    def _windows(self, panel: Panel, first: np.ndarray, count: np.ndarray) -> PanelWindows:
        codes = np.array([self._code(i) for i in panel.ids], dtype=np.int64)
        static, categories = _static_inputs(panel, self.learned)
        return PanelWindows(panel, self._layout(panel), first, count, codes, static,
                            categories)

    def _code(self, series_id: str) -> int:
        """The series' index for per-series parameters (0 for a series not trained on,
        where the model has none; ES-RNN and series embeddings refuse those in predict)."""
        return self._index.get(series_id, 0)

    def build(self) -> nn.Module:
        """A fresh network for the config and the learned data dimensions."""
        c, learned = self.config, self.learned
        n_future = len(learned.future) + learned.n_calendar
        lags = tuple(lag - 1 for lag in c.lags) if c.model == "deepar" else c.lags
        inputs = _Inputs(lags, learned.n_covariates, len(learned.static),
                         tuple(len(v) for v in learned.levels.values()), len(learned.ids),
                         c.series_embedding)
        common = (c.cell, c.hidden_size, c.num_layers, c.dropout, c.lookback, c.horizon, c.pre)
        if c.model == "deepar":
            return DeepAR(*common, c.likelihood, inputs)
        if c.model == "esrnn":
            return ESRNN(*common, len(c.quantiles), inputs, len(learned.ids), c.season)
        return MQRNN(*common, len(c.quantiles), inputs, n_future)

    def loss(self) -> Callable[[Tensor, Tensor], Tensor]:
        """The training loss ``(network output, y)`` of the model (y: see `PanelWindows`)."""
        c = self.config
        if c.model == "deepar":
            likelihood = LIKELIHOODS[c.likelihood]()
            return lambda params, y: likelihood.nll(params, y[:, 1:, 0], y[:, 1:, 1])
        levels = torch.tensor(c.quantiles)
        return lambda q, y: pinball_loss(q, y[:, -c.horizon :, 0], levels.to(q.device))

    def fit(self, panel: Panel, valid: None = None, *, progress: bool = True,
            checkpoint_dir: Path | None = None, resume: bool = False,
            parallel: Parallel | None = None, log_dir: Path | None = None) -> FitResult:
        """Train on ``panel``: windows drawn across the series, the last horizon rows of each
        series held out to validate (and choose the epoch). The keywords are every
        estimator's (see `rnnkit.train.fit.fit`)."""
        self.check(panel)
        c, t = self.config, self.train_config
        self.learned = self._learn(panel)
        self._index = {i: k for k, i in enumerate(self.learned.ids)}
        torch.manual_seed(t.seed)
        self.net = self.build()
        first, count = self._train_counts(panel)
        train = self._windows(panel, first, count)
        per_epoch = c.windows_per_epoch or max(4096, 32 * int((count > 0).sum()))
        train_loader = sampled_loader(train, t.batch_size, per_epoch, t.seed)
        origin = panel.lengths - c.horizon - 1
        has = (origin >= c.pre + c.lookback - 1) & (count > 0)
        val = self._windows(panel, origin, has.astype(np.int64))
        result = fit(self.net, self.loss(), train_loader, ordered_loader(val, 512), t,
                     progress=progress, checkpoint_dir=checkpoint_dir, resume=resume,
                     parallel=parallel, log_dir=log_dir)
        self.device = next(self.net.parameters()).device
        if c.conformal:
            self._calibrate(panel)
        return result

    def _pairs(self) -> list[tuple[float, float]]:
        """The symmetric (lower, upper) quantile levels, e.g. (0.1, 0.9)."""
        levels = self.config.quantiles
        return [(q, round(1 - q, 10)) for q in levels if q < 0.5 and round(1 - q, 10) in levels]

    def _calibrate(self, panel: Panel) -> None:
        """Split-conformal margins across series (conformalized quantile regression) from the
        forecasts of every series' last horizon rows, the validation rows that also chose
        the epoch; each series' errors are measured in its window scale s."""
        H = self.config.horizon
        train, valid = panel.split_last(H)
        made = self.predict(train, valid if self.learned.future else None, calibrated=False)
        rows = [train.ids.index(i) for i in made.ids]
        actual = np.stack([valid.series(k).target_values[:, 0] for k in rows])
        context = np.stack([train.series(k).target_values[-self.config.lookback :, 0]
                            for k in rows])
        loc, scale = window_scale(context, self.config.scaling)
        z = (made.quantiles - loc[:, None, None]) / scale[:, None, None]
        y = (actual - loc[:, None]) / scale[:, None]
        levels = list(self.config.quantiles)
        self.learned.margins = {
            f"{low:g}": cqr_margin(y, z[..., levels.index(low)], z[..., levels.index(high)],
                                   high - low).tolist()
            for low, high in self._pairs()}

    # ---- forecasting ------------------------------------------------------------------------

    def _extend(self, panel: Panel, future: Panel | None) -> Panel:
        """``panel`` with ``horizon`` rows appended to every series: target unknown (NaN),
        past covariates unknown, known-future covariates from ``future``, times one step
        apart at the data's frequency."""
        c, learned = self.config, self.learned
        H, S = c.horizon, len(panel)
        if learned.future and future is None:
            raise InputError(
                f"the model was trained with known-future covariates {learned.future}: give "
                f"their values over the {H} forecast rows of every series (rows after each "
                "series' last observed row, with the target left empty)")
        extra = np.full((S, H, panel.values.shape[1]), np.nan)
        if future is not None:
            index = {i: k for k, i in enumerate(future.ids)}
            for k, series_id in enumerate(panel.ids):
                if series_id not in index:
                    raise InputError(f"no future rows for series {series_id!r}")
                j = index[series_id]
                rows = future.values[future.offsets[j] : future.offsets[j + 1]]
                if len(rows) < H:
                    raise InputError(
                        f"series {series_id!r} has {len(rows)} future rows; the horizon "
                        f"needs {H}: one row per forecast step after its last observed row")
                for name in learned.future:
                    extra[k, :, panel.columns.index(name)] = \
                        rows[:H, future.columns.index(name)]
        lengths = panel.lengths
        values = np.concatenate([np.concatenate([panel.values[panel.offsets[k] :
                                                              panel.offsets[k + 1]], extra[k]])
                                 for k in range(S)]) if S else panel.values
        time = None
        if panel.time is not None:
            frequency = learned.calendar or _frequency(panel)
            if frequency is not None:
                stamps = []
                for k in range(S):
                    own = panel.time[panel.offsets[k] : panel.offsets[k + 1]]
                    ahead = pd.date_range(own[-1], periods=H + 1, freq=frequency)[1:]
                    stamps.append(own.append(ahead))
                time = stamps[0].append(stamps[1:]) if S else None
        return replace(panel, values=values, offsets=np.concatenate([[0], np.cumsum(lengths + H)]),
                       time=time)

    @torch.no_grad()
    def predict(self, panel: Panel, future: Panel | None = None,
                calibrated: bool = True) -> PanelForecast:
        """Forecast the ``horizon`` rows after the end of every series of ``panel`` (series
        shorter than the lags and lookback are skipped and listed); ``future`` holds the
        known-future covariates over those rows when the model uses any. With conformal
        margins (``conformal``), each symmetric interval is widened (or narrowed) by its
        margin times the window's scale, unless ``calibrated`` is False."""
        self.check_trained()
        self._check_panel(panel)
        c = self.config
        if c.model == "esrnn" or c.series_embedding:
            unknown = [i for i in panel.ids if i not in self._index]
            if unknown:
                raise InputError(
                    f"series {unknown[:5]} were not in training; --model {c.model}"
                    f"{' with --series-embedding' if c.series_embedding else ''} learns "
                    "parameters per series, so it forecasts only the series it was trained on")
        _, needed = self._lengths_needed()
        ok = panel.lengths >= needed
        skipped = [i for i, good in zip(panel.ids, ok, strict=True) if not good]
        extended = self._extend(panel, future)
        data = self._windows(extended, panel.lengths - 1, ok.astype(np.int64))
        quantiles = []
        net = self.net.eval()
        levels = torch.tensor(c.quantiles, dtype=torch.float64)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.train_config.seed)
            for x, y in ordered_loader(data, 256):
                x = tuple(part.to(self.device) for part in x)
                scale, loc = y[:, -1:, 1].double(), y[:, -1:, 2].double()
                if c.model == "deepar":
                    paths = net.sample(*x, n=c.samples, scale=y[:, -1, 1].to(self.device)
                                       ).cpu().double()  # (B, n, H)
                    counts = net.likelihood.counts  # a quantile of counts is a count
                    q = torch.quantile(paths, levels, dim=1,
                                       interpolation="nearest" if counts else "linear")
                    q = q.permute(1, 2, 0)
                else:
                    counts, q = False, net(*x).cpu().double()
                if calibrated and self.learned.margins:
                    q = self._widen(q)
                q = loc[..., None] + scale[..., None] * q
                if counts:
                    q = torch.round(q)  # undo float error from the scaling
                quantiles.append(q)
        k = np.flatnonzero(ok)
        q = torch.cat(quantiles).numpy() if quantiles else np.zeros((0, c.horizon,
                                                                      len(c.quantiles)))
        if extended.time is not None:
            ends = extended.offsets[1:][k]
            times = np.stack([extended.time[e - c.horizon : e].to_numpy() for e in ends]) \
                if len(k) else None
        else:
            times = None
        return PanelForecast([panel.ids[j] for j in k], q[..., c.quantiles.index(0.5)], q,
                             c.quantiles, times, skipped)

    def _widen(self, q: Tensor) -> Tensor:
        """Scaled quantiles (B, H, Q) with the conformal margins applied, re-sorted."""
        levels = list(self.config.quantiles)
        q = q.clone()
        for low, high in self._pairs():
            margin = torch.tensor(self.learned.margins[f"{low:g}"], dtype=q.dtype)
            q[..., levels.index(low)] -= margin
            q[..., levels.index(high)] += margin
        return torch.sort(q, dim=-1).values

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything but the weights, JSON-ready: the run's config.json entries."""
        return {**self.settings(), "learned": asdict(self.learned)}

    @classmethod
    def from_state(cls, state: dict[str, Any], weights: dict[str, Tensor],
                   where: str) -> GlobalForecaster:
        """Rebuild from `state` and a weights dict (from safetensors); mismatches are
        refused."""
        forecaster = cls.from_settings(state, where)
        try:
            forecaster.learned = Learned(**state["learned"])
        except (KeyError, TypeError) as err:
            raise InputError(f"{where}: missing or malformed entry 'learned' ({err})") from err
        forecaster._index = {i: k for k, i in enumerate(forecaster.learned.ids)}
        forecaster.config.validate()
        forecaster.net = load_checked(forecaster.build(), weights, where)
        forecaster.device = resolve_device(forecaster.train_config.device)
        forecaster.net.to(forecaster.device)
        return forecaster
