"""Many-to-one / many-to-many forecasting: a recurrent encoder and a direct multi-step head."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from rnnkit import init as rinit
from rnnkit.checks import check_fractions
from rnnkit.configs import split_settings
from rnnkit.data.scalers import Scaler
from rnnkit.data.series import Series
from rnnkit.data.windows import check_length, consecutive, input_windows, origins_between, windows
from rnnkit.errors import InputError
from rnnkit.evaluate.intervals import conformal_halfwidth
from rnnkit.io.weights import load_checked
from rnnkit.layers import CELLS
from rnnkit.models.ensemble import Ensemble, one_or_ensemble
from rnnkit.models.estimator import Estimator
from rnnkit.models.forecast_nets import esn_config, forecast_network
from rnnkit.models.normalization import MODES as NORM_MODES
from rnnkit.reservoir import ESN
from rnnkit.train.checkpoint import has_checkpoint, member_folder
from rnnkit.train.device import resolve_device
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.loader import tensor_loader
from rnnkit.train.settings import TrainSettings


@dataclass
class ForecasterConfig:
    """The network, its data handling and its objective (everything needed to rebuild it).

    ``n_targets`` and ``n_features`` are the network's data dimensions: a `Forecaster` leaves
    its own config as given and keeps a copy with the data's dimensions (``network``), learned
    at fit time.
    """

    model: str = "rnn"  # "rnn": recurrent encoder + linear head; "segrnn": SegRNN (GRU)
    cell: str = "lstm"  # a name in rnnkit.layers.CELLS, or "esn" (model "rnn")
    hidden_size: int = 64  # units per recurrent layer
    num_layers: int = 2  # stacked recurrent layers
    dropout: float = 0.0  # between recurrent layers
    output_dropout: float = 0.0  # on the last layer's output (Keras: Dropout after each LSTM)
    lookback: int = 60  # past rows in each input window
    horizon: int = 1  # future rows predicted at once (direct multi-step)
    normalize: str = "last"  # "last": the change from the last value; "revin"; "none": level
    channel_independent: bool = False  # one shared model applied to each channel alone
    segment_length: int = 48  # SegRNN's segment length w (divides lookback and horizon)
    spectral_radius: float = 0.9  # ESN (cell "esn"; hidden_size = reservoir units)
    leak_rate: float = 1.0  # ESN leak rate in (0, 1]
    ridge: float = 1e-6  # ESN readout ridge
    washout: int = 100  # ESN: first training steps left out of the readout fit
    reservoir_seed: int = 0  # ESN: a Forecaster uses its training seed
    scaler: str = "standard"  # "standard", "minmax" or "identity", fit on training rows only
    init: str = "torch"  # weight initialiser: a name in rnnkit.init.INITIALISERS
    ensemble: int = 1  # networks trained in turn (seeds seed, seed+1, ...), forecasts averaged
    loss: str = "mse"  # training loss: "mse" or "mae" (SegRNN trains with MAE)
    val_fraction: float = 0.1  # last share of the training rows held out for validation
    interval: float | None = 0.9  # split-conformal interval level from validation residuals
    n_targets: int = 1  # data dimensions (see above)
    n_features: int = 0

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        if self.cell not in CELLS and self.cell != "esn":
            raise InputError(f"--cell {self.cell!r} is not known; choose one of "
                             f"{sorted([*CELLS, 'esn'])}")
        if self.cell == "esn":
            if self.n_features and self.horizon > 1:
                raise InputError(
                    f"--cell esn forecasts several steps by feeding its output back, which "
                    f"needs every input column to be a target; drop the features or use "
                    f"--horizon 1 (got horizon={self.horizon})"
                )
            ESN(esn_config(self))  # raises InputError naming a bad reservoir setting
            if self.ensemble > 1:
                raise InputError(f"--ensemble {self.ensemble}: an echo state network is fitted "
                                 "in closed form, so its members would all be alike; use "
                                 "--ensemble 1 with --cell esn")
        for name in ("hidden_size", "num_layers", "lookback", "horizon", "n_targets", "ensemble"):
            if getattr(self, name) < 1:
                raise InputError(f"{name}={getattr(self, name)}; expected at least 1")
        check_fractions(self, ("dropout", "output_dropout"))
        if self.normalize not in NORM_MODES:
            raise InputError(f"normalize={self.normalize!r}; expected one of {NORM_MODES}")
        if self.model not in ("rnn", "segrnn"):
            raise InputError(f"--model {self.model!r} is not known; choose 'rnn' or 'segrnn'")
        if self.model == "segrnn" and (self.lookback % self.segment_length
                                       or self.horizon % self.segment_length):
            raise InputError(
                f"segrnn needs --segment-length ({self.segment_length}) to divide lookback="
                f"{self.lookback} and horizon={self.horizon}"
            )
        if self.scaler not in Scaler.KINDS:
            raise InputError(f"scaler={self.scaler!r}; expected one of {Scaler.KINDS}")
        if self.init not in rinit.INITIALISERS:
            raise InputError(f"init={self.init!r}; expected one of {sorted(rinit.INITIALISERS)}")
        if self.loss not in LOSSES:
            raise InputError(f"--loss {self.loss!r}; expected one of {sorted(LOSSES)}")
        if not 0 <= self.val_fraction < 1:
            raise InputError(f"--val-fraction {self.val_fraction}; expected a value in [0, 1)")
        if self.interval is not None and not 0 < self.interval < 1:
            raise InputError(f"--interval {self.interval}; expected a level in (0, 1)")


LOSSES = {"mse": nn.functional.mse_loss, "mae": nn.functional.l1_loss}


#: Training settings of the default forecaster.
TRAINING = TrainSettings(epochs=60, batch_size=32, lr=1e-3, clip=1.0, patience=10)

#: The LTSF protocol on ETTh1 (see DATA_PRESETS) with SegRNN (d = 512, dropout 0.5, batch
#: 256): what its multivariate and univariate presets share.
ETTH1_SEGRNN = ForecasterConfig(model="segrnn", horizon=96, hidden_size=512, output_dropout=0.5,
                                normalize="last", scaler="standard")
ETTH1_TRAINING = TrainSettings(batch_size=256, clip=None)

#: Named settings: the forecaster's config and its training settings. ``default``: the
#: defaults. ``seed``: the tutorial exactly, 4 stacked LSTM(50) each followed by Dropout(0.2),
#: Dense(1), min-max scaling, Keras initialisation, Adam 1e-3, MSE, 100 epochs, batch 32, no
#: validation, no early stopping, no clipping.
PRESETS: dict[str, tuple[ForecasterConfig, TrainSettings]] = {
    "default": (ForecasterConfig(), TRAINING),
    # ETTh1 multivariate as Lin et al. ran it at L = 96 (segments of 24, MSE loss, lr 1e-3
    # kept for four epochs, then x0.8 per epoch), stopped after at most 12 epochs (patience
    # 4) instead of 30 (10). Univariate with segments of 48, MAE loss and the rate halved
    # after every epoch, at most 8 epochs (README, ETTh1 section; the univariate rate was
    # chosen on validation loss)
    "etth1-m": (
        replace(ETTH1_SEGRNN, lookback=96, segment_length=24, loss="mse"),
        replace(ETTH1_TRAINING, epochs=12, lr=1e-3, patience=4, lr_schedule="decay"),
    ),
    "etth1-s": (
        replace(ETTH1_SEGRNN, lookback=336, segment_length=48, loss="mae"),
        replace(ETTH1_TRAINING, epochs=8, lr=3e-4, patience=3, lr_schedule="halving"),
    ),
    "seed": (
        ForecasterConfig(cell="lstm", hidden_size=50, num_layers=4, dropout=0.2,
                         output_dropout=0.2, lookback=60, horizon=1, normalize="none",
                         scaler="minmax", init="keras", val_fraction=0.0),
        TrainSettings(epochs=100, batch_size=32, lr=1e-3, clip=None, patience=None),
    ),
}

#: Settings that mean nothing to a model, refused when given for it: an echo state network is
#: a fixed reservoir with a closed-form readout (no layers, dropout, epochs or optimiser);
#: SegRNN is a one-layer GRU of its own; segments belong to SegRNN alone.
NOT_FOR = {
    "esn": ("num_layers", "dropout", "output_dropout", "normalize", "channel_independent",
            "segment_length", "init", "ensemble", "loss", "epochs", "batch_size", "lr",
            "weight_decay", "clip", "patience", "lr_schedule", "ema", "max_minutes",
            "precision"),  # a closed-form ridge readout: float32 throughout
    "segrnn": ("cell", "num_layers", "dropout", "channel_independent", "init",
               "spectral_radius", "leak_rate", "ridge", "washout"),
    "rnn": ("segment_length", "spectral_radius", "leak_rate", "ridge", "washout"),
}


#: Data settings that come with a preset (used where the user gives none).
DATA_PRESETS: dict[str, dict[str, Any]] = {
    "etth1-m": dict(target=["all"], split=[8640, 2880, 2880]),
    "etth1-s": dict(target=["OT"], split=[8640, 2880, 2880]),
}

#: Command-line names of the settings whose option is named otherwise.
OPTION_NAMES = {"num_layers": "layers"}


class Backtest(NamedTuple):
    """Forecasts (N, H, n_targets) from ``origins`` (N,), with the scale they were made with
    (shift, scale: (n,), or (N, 1, n) when each origin had its own) and the interval
    half-widths ((H, n) or (N, H, n); None without intervals)."""

    origins: np.ndarray
    forecasts: np.ndarray
    shift: np.ndarray
    scale: np.ndarray
    halfwidth: np.ndarray | None


def describe(c: ForecasterConfig) -> str:
    """The network in a few words, e.g. ``2xLSTM(64)`` or ``SegRNN(GRU 512, segments of 24)``."""
    if c.cell == "esn":
        return f"ESN({c.hidden_size} units, closed-form readout)"
    if c.model == "segrnn":
        return f"SegRNN(GRU {c.hidden_size}, segments of {c.segment_length})"
    return f"{c.num_layers}x{c.cell.upper()}({c.hidden_size})"


def build_network(config: ForecasterConfig) -> nn.Module:
    """One `forecast_network`, or an `Ensemble` of ``config.ensemble`` of them whose forecasts
    are averaged."""
    return one_or_ensemble(lambda: forecast_network(config), config.ensemble, combine="mean")


class Forecaster(Estimator):
    """A forecasting estimator: ``fit`` on a `Series`, then forecast from any origin.

    The estimator contract (every estimator has it): `check` (validate, say what will be
    trained; changes nothing), `fit`, `predict`, `state` and `from_state`. ``config`` and
    ``train`` are never changed by `fit`; what is learned from the data is state: the scaler
    (fit on the training rows only), the columns, the network with the data's dimensions
    (``network``) and the interval half-widths.

    Example:
        >>> from rnnkit.data.datasets import co2
        >>> series = co2().slice(0, 300)
        >>> fc = Forecaster(ForecasterConfig(lookback=20, hidden_size=8, num_layers=1),
        ...                 TrainSettings(epochs=2))
        >>> fc.check(series)  # doctest: +ELLIPSIS
        'forecast: 1xLSTM(8) on 250 training windows, 30 validation windows of statsmodels co2...'
        >>> fit = fc.fit(series, progress=False)
        >>> fc.predict(series, horizon=3).shape
        (3, 1)
    """

    SETTINGS = (("model", ForecasterConfig, "config"), ("train", TrainSettings, "train_config"))
    NAME = "forecaster"
    # learned by `fit` or `from_state`
    network: ForecasterConfig | None = None  # config with the data's dimensions
    scaler: Scaler | None = None
    columns: tuple[list[str], list[str]] | None = None
    halfwidth: np.ndarray | None = None  # (H, n_targets) conformal interval half-width
    net: nn.Module | None = None
    device = torch.device("cpu")

    def __init__(self, config: ForecasterConfig | None = None,
                 train: TrainSettings | None = None) -> None:
        super().__init__(config or ForecasterConfig(), train or replace(TRAINING))

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> Forecaster:
        """A forecaster with a named preset's settings, some of them overridden (by the names
        of `ForecasterConfig` and `TrainSettings` fields). A setting that means nothing to the
        chosen model (see `NOT_FOR`) is refused, not ignored."""
        if name not in PRESETS:
            raise InputError(f"--preset {name!r} is not known; choose one of {sorted(PRESETS)}")
        model, train = split_settings(overrides, ForecasterConfig, TrainSettings)
        config = replace(PRESETS[name][0], **model)
        kind = "esn" if config.cell == "esn" else config.model
        refused = [k for k in overrides if k in NOT_FOR[kind]
                   and not (k == "cell" and overrides[k] == config.cell and kind == "rnn")]
        if refused:
            names = ", ".join("--" + OPTION_NAMES.get(k, k).replace("_", "-") for k in refused)
            what = "--cell esn" if kind == "esn" else f"--model {config.model}"
            raise InputError(f"{names}: not used by {what}; leave "
                             f"{'them' if len(refused) > 1 else 'it'} out")
        return cls(config, replace(PRESETS[name][1], **train))

    # ---- training ---------------------------------------------------------------------------

    def _network(self, series: Series) -> ForecasterConfig:
        """This forecaster's config with the dimensions of ``series`` (and the ESN's seed)."""
        return replace(self.config, n_targets=len(series.targets),
                       n_features=len(series.features), reservoir_seed=self.train_config.seed)

    def _val_start(self, series: Series, val_start: int | None) -> int:
        if val_start is None:
            return len(series) - int(round(len(series) * self.config.val_fraction))
        return val_start

    def check(self, series: Series, val_start: int | None = None) -> str:
        """Validate the settings against ``series`` (rows before ``val_start`` train, the rest
        validate; default: the last ``val_fraction``) and say in one line what `fit` will
        train. Raises `InputError` naming the first problem; changes nothing."""
        c, t = self._network(series), self.train_config
        c.validate()
        t.validate()
        val_start = self._val_start(series, val_start)
        n_val = len(series) - val_start
        check_length(val_start, c.lookback, c.horizon, f"the training part of {series.source}")
        if c.cell == "esn" and not 0 <= c.washout < val_start - 1:
            raise InputError(f"--washout {c.washout} must be >= 0 and below the {val_start - 1} "
                             "training steps; use a smaller washout or more data")
        if c.cell == "esn" and c.lookback < c.washout:
            raise InputError(
                f"--cell esn warms its reservoir up from zero over each {c.lookback}-row window, "
                f"but its readout was fitted only after --washout {c.washout} steps; use "
                f"--lookback {c.washout} or more, or a smaller --washout")
        if n_val and n_val < c.horizon:
            raise InputError(
                f"the validation part ({n_val} rows) is shorter than horizon={c.horizon}; "
                "raise --val-fraction or give more data"
            )
        windows_ = max(0, val_start - c.lookback - c.horizon + 1)
        valid = max(0, n_val - c.horizon + 1) if n_val else 0
        return (f"forecast: {describe(c)}{f' x {c.ensemble}' if c.ensemble > 1 else ''} on "
                f"{windows_} training windows, {valid} validation windows of {series.source}")

    def fit(self, series: Series, val_start: int | None = None, *, progress: bool = True,
            checkpoint_dir: Path | None = None, resume: bool = False,
            parallel: Parallel | None = None, log_dir: Path | None = None) -> FitResult:
        """Train on ``series``: rows before ``val_start`` train (and fit the scaler), the rows
        from it on validate (default: the last ``val_fraction`` of the rows). With validation,
        split-conformal intervals are calibrated on the validation residuals. The keywords are
        every estimator's: ``checkpoint_dir`` keeps a checkpoint there each epoch, ``resume``
        continues one, ``parallel`` trains with several processes and ``log_dir`` receives
        the logger's files (see `rnnkit.train.fit.fit`)."""
        self.check(series, val_start)
        val_start = self._val_start(series, val_start)
        c, t = self._network(series), self.train_config
        if c.ensemble > 1:
            return self._fit_members(series, val_start, progress, checkpoint_dir, resume,
                                     parallel, log_dir)
        n_train, n_val = val_start, len(series) - val_start
        self.network = c
        self.columns = (list(series.targets), list(series.features))
        self.scaler = Scaler.fit(series.values[:n_train], c.scaler)
        torch.manual_seed(t.seed)
        self.net = build_network(c)
        if c.cell == "esn":
            return self._fit_esn(series, n_train, n_val)
        train_origins = origins_between(c.lookback, n_train, c.horizon, c.lookback)
        train_loader = self.loader(series, train_origins, t.batch_size, True, t.seed)
        val_loader = None
        if n_val:
            val_origins = origins_between(n_train, len(series), c.horizon, c.lookback)
            val_loader = self.loader(series, val_origins, 256)
        result = fit(self.net, LOSSES[c.loss], train_loader, val_loader, t, progress=progress,
                     checkpoint_dir=checkpoint_dir, resume=resume, parallel=parallel,
                     log_dir=log_dir)
        self.device = next(self.net.parameters()).device
        self._calibrate(series, n_train, n_val)
        return result

    def member(self, k: int) -> Forecaster:
        """An untrained forecaster for ensemble member ``k`` (0-based): these settings for one
        network, trained with seed ``seed + k``. Fitting it gives exactly the member that
        `fit` trains with ``ensemble > 1``."""
        return Forecaster(replace(self.config, ensemble=1),
                          replace(self.train_config, seed=self.train_config.seed + k))

    def _fit_members(self, series: Series, val_start: int, progress: bool,
                     checkpoint_dir: Path | None, resume: bool, parallel: Parallel | None,
                     log_dir: Path | None) -> FitResult:
        """Train the ensemble's networks one after another, each as a forecaster of its own
        (`member`): its own initial weights, batch order, dropout masks and early stopping.
        With ``checkpoint_dir`` member k keeps its checkpoints in ``member{k}`` under it;
        ``resume`` continues the member that was interrupted and trains the rest."""
        members, results = [], []
        for k in range(self.config.ensemble):
            member = self.member(k)
            place = None if checkpoint_dir is None else member_folder(checkpoint_dir, k)
            again = resume and (k == 0 or has_checkpoint(place))  # member 0: "nothing to resume"
            logs = None if log_dir is None else Path(log_dir) / f"member{k}"
            results.append(member.fit(series, val_start, progress=progress, checkpoint_dir=place,
                                      resume=again, parallel=parallel, log_dir=logs))
            members.append(member)
        self.join(members, series, val_start)
        return FitResult.of_members(results)

    def join(self, members: list[Forecaster], series: Series,
             val_start: int | None = None) -> None:
        """Make this forecaster the ensemble of trained ``members`` (its settings for one
        network each; typically ``self.member(k)`` for k < ``ensemble``, fitted on ``series``
        up to ``val_start``): its forecast is their mean, its intervals are calibrated anew
        on the validation rows of ``series``. Raises `InputError` on a mismatch."""
        c = self.config
        self.check(series, val_start)
        val_start = self._val_start(series, val_start)
        if len(members) != c.ensemble:
            raise InputError(f"ensemble={c.ensemble} needs {c.ensemble} trained members; "
                             f"got {len(members)}")
        one = replace(c, ensemble=1)
        for k, member in enumerate(members):
            if member.net is None or member.scaler is None:
                raise InputError(f"ensemble member {k} is not trained yet")
            other = [f"{f.name}={getattr(member.config, f.name)!r} (not "
                     f"{getattr(one, f.name)!r})" for f in fields(one)
                     if getattr(member.config, f.name) != getattr(one, f.name)]
            if other:
                raise InputError(f"ensemble member {k} has other settings than the ensemble: "
                                 f"{', '.join(other)}")
            if member.columns != members[0].columns or \
                    member.scaler.to_dict() != members[0].scaler.to_dict():
                raise InputError(f"ensemble member {k} was trained on other data than member 0")
        self.columns, self.scaler = members[0].columns, members[0].scaler
        self.network = replace(members[0].network, ensemble=c.ensemble)
        self.net = Ensemble([m.net for m in members], combine="mean").eval()
        self.device = members[0].device
        self._calibrate(series, val_start, len(series) - val_start)

    def loader(self, series: Series, origins: Tensor, batch_size: int, shuffle: bool = False,
               seed: int = 0) -> DataLoader:
        """Batches ``(x, y)`` of the scaled float32 windows at ``origins`` (see `windows`):
        x (B, L, C), y (B, H, n_targets). The windows are views of ``series.values``, scaled
        batch by batch, so no scaled copy of the series is made and memory does not grow with
        the lookback; ``shuffle`` draws the batches with a generator seeded with ``seed``."""
        c = self.network
        x, y = windows(torch.from_numpy(series.values), c.lookback, c.horizon, c.n_targets,
                       origins)  # float64 views
        return tensor_loader(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                             transform=self._scale_batch)

    def _scale(self, values: Tensor, columns: slice = slice(None)) -> Tensor:
        """Scaled float32 copy of (..., C') float64 values of the columns ``columns``."""
        return torch.as_tensor(self.scaler.transform(values.numpy(), columns),
                               dtype=torch.float32)

    def _inputs(self, values: Tensor, origins: Tensor) -> Tensor:
        """Scaled float32 input windows (N, L, C) at ``origins`` of the (T, C) float64 rows
        ``values``, laid out as windows cut from a scaled C-contiguous copy of the series
        would be (views when the origins are consecutive), for the network gives the same bits
        for the same layout; only the rows the windows cover are scaled."""
        L = self.config.lookback
        x = input_windows(values, L, origins)  # checks the origins; float64
        if not consecutive(origins):
            return self._scale(x).contiguous()
        first = int(origins[0]) - L + 1
        rows = self._scale(values[first : int(origins[-1]) + 1]).contiguous()
        return input_windows(rows, L, origins - first)  # (N, L, C) views

    def _scale_batch(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """A batch of float64 windows x (B, L, C) and targets y (B, H, n), scaled to float32."""
        return self._scale(x), self._scale(y, slice(0, self.network.n_targets))

    def _fit_esn(self, series: Series, n_train: int, n_val: int) -> FitResult:
        """Closed-form fit of the reservoir readout: no epochs, no backpropagation."""
        c, t = self.network, self.train_config
        self.device = resolve_device(t.device)
        self.net.to(self.device)
        start = time.perf_counter()
        train = self._scale(torch.from_numpy(series.values[:n_train]))
        train = train.to(self.device, torch.float64)
        self.net.esn.fit(train[:-1], train[1:, : c.n_targets], washout=c.washout)
        result = FitResult(history={"train_loss": [], "val_loss": []},
                           seconds=time.perf_counter() - start)
        self._calibrate(series, n_train, n_val)
        return result

    def _calibrate(self, series: Series, n_train: int, n_val: int) -> None:
        """Split-conformal interval half-widths from the validation residuals."""
        c = self.network
        self.halfwidth = None
        if n_val and c.interval is not None:
            origins = origins_between(n_train, len(series), c.horizon, c.lookback).numpy()
            rows = origins[:, None] + np.arange(1, c.horizon + 1)[None, :]
            residuals = series.target_values[rows] - self.forecast(series, origins)
            self.halfwidth = conformal_halfwidth(residuals, c.interval)  # (H, n_targets)

    # ---- forecasting ------------------------------------------------------------------------

    def _check_columns(self, series: Series) -> None:
        self.check_trained()
        if (list(series.targets), list(series.features)) != self.columns:
            raise InputError(
                f"{series.source} has targets {series.targets} and features {series.features}; "
                f"the model was trained on {self.columns[0]} and {self.columns[1]}"
            )

    @torch.no_grad()
    def forecast(self, series: Series, origins: np.ndarray | Tensor) -> np.ndarray:
        """Forecasts (N, H, n_targets), in the data's units, from each origin (row index of
        the last observed value), using only rows up to it. Windows are scaled 1024 at a time."""
        self._check_columns(series)
        c = self.network
        origins = torch.as_tensor(np.asarray(origins), dtype=torch.long)
        values = torch.from_numpy(series.values)  # (T, C) float64, not copied
        self.net.eval()
        out = [self.net(self._inputs(values, chunk).to(self.device)).cpu()
               for chunk in origins.split(1024) if len(chunk)]
        out = torch.cat(out) if out else torch.empty(0, c.horizon, c.n_targets)
        return self.scaler.inverse_transform(out.double().numpy(), slice(0, c.n_targets))

    def rolling(self, series: Series, first_target: int) -> np.ndarray:
        """One-step forecasts of rows ``first_target..T-1``, each from the true rows before it
        (the tutorial's evaluation): (N, n_targets)."""
        check_length(first_target, self.config.lookback, 0, "the history before the first target")
        origins = np.arange(first_target - 1, len(series) - 1)
        return self.forecast(series, origins)[:, 0]

    def predict(self, series: Series, horizon: int | None = None) -> np.ndarray:
        """Forecast the ``horizon`` rows after the end of ``series``: (horizon, n_targets).

        Up to the model's horizon the forecast is direct; beyond it, for models without
        feature columns, forecasts are fed back as inputs (recursive).
        """
        self._check_columns(series)
        c = self.network
        horizon = c.horizon if horizon is None else horizon
        if horizon < 1:
            raise InputError(f"--horizon {horizon}; expected at least 1")
        check_length(len(series), c.lookback, 0, series.source)
        if horizon > c.horizon and c.n_features:
            raise InputError(
                f"--horizon {horizon} exceeds the model's horizon {c.horizon}, and with feature "
                "columns their future values are unknown; train with a longer --horizon"
            )
        if horizon <= c.horizon:
            return self.forecast(series, np.array([len(series) - 1]))[0, :horizon]
        values, produced = series.values, []
        while sum(len(p) for p in produced) < horizon:
            step = Series(values, series.targets, series.features, None, series.source)
            block = self.forecast(step, np.array([len(values) - 1]))[0]  # (H, n)
            produced.append(block)
            values = np.concatenate([values, block])
        return np.concatenate(produced)[:horizon]

    def historical_forecasts(self, series: Series, start: int, stride: int = 1,
                             retrain: bool = False) -> Backtest:
        """Walk-forward backtest: from every ``stride``-th origin whose horizon fits in
        rows ``start..T-1``, forecast the next ``horizon`` rows. With ``retrain`` a copy of
        this forecaster is refit on the rows up to each origin first (slow; the honest test of
        a procedure), and each origin keeps its own refit's scale and interval width; this
        forecaster itself is left as it is."""
        self.check_trained()
        c = self.network
        origins = origins_between(start, len(series), c.horizon, c.lookback).numpy()[::stride]
        if not len(origins):
            raise InputError(f"no forecast origin fits between row {start} and {len(series)}")
        n = c.n_targets
        if not retrain:
            return Backtest(origins, self.forecast(series, origins), self.scaler.shift[:n],
                            self.scaler.scale[:n], self.halfwidth)
        fits = []
        for origin in origins:
            refit = Forecaster(self.config, self.train_config)
            refit.fit(series.slice(0, int(origin) + 1), progress=False)
            fits.append(refit)
        widths = [f.halfwidth for f in fits]
        return Backtest(
            origins, np.concatenate([f.forecast(series, np.array([o]))
                                     for f, o in zip(fits, origins, strict=True)]),
            np.stack([f.scaler.shift[:n] for f in fits])[:, None],  # (N, 1, n)
            np.stack([f.scaler.scale[:n] for f in fits])[:, None],
            None if any(w is None for w in widths) else np.stack(widths))  # (N, H, n)

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything but the weights and the scaler (``scaler.to_dict()``), JSON-ready: the
        run's config.json entries."""
        return {
            **self.settings(),
            "network": {k: getattr(self.network, k)
                        for k in ("n_targets", "n_features", "reservoir_seed")},
            "targets": self.columns[0],
            "features": self.columns[1],
            "interval_halfwidth": None if self.halfwidth is None else self.halfwidth.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], scaler: Any, weights: dict[str, Tensor],
                   where: str) -> Forecaster:
        """Rebuild from `state`, the scaler's ``to_dict`` and a weights dict (from
        safetensors); mismatches are refused."""
        forecaster = cls.from_settings(state, where)
        model = forecaster.config
        try:
            network = replace(model, **{k: int(state["network"][k])
                                        for k in ("n_targets", "n_features", "reservoir_seed")})
            columns = (list(state["targets"]), list(state["features"]))
            scaler = Scaler.from_dict(scaler)
            halfwidth = state.get("interval_halfwidth")
            halfwidth = None if halfwidth is None else np.asarray(halfwidth, dtype=np.float64)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{where}: missing or malformed entry {err}") from err
        network.validate()
        forecaster.network = network
        forecaster.net = load_checked(build_network(network), weights, where)
        if halfwidth is not None and halfwidth.shape != (model.horizon, network.n_targets):
            raise InputError(f"{where}: interval_halfwidth has shape {halfwidth.shape}; expected "
                             f"({model.horizon}, {network.n_targets})")
        forecaster.scaler, forecaster.columns, forecaster.halfwidth = scaler, columns, halfwidth
        return forecaster
