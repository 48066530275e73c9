"""The forecasting task: data in, model trained and judged beside baselines, run written; then
forecasts, evaluation and the glass box on one forecast from a run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.configs import configs_from
from rnnkit.data.datasets import co2
from rnnkit.data.history import continue_history, history_from_dict, history_to_dict
from rnnkit.data.series import Series, infer_frequency, read_series
from rnnkit.errors import InputError
from rnnkit.evaluate.backtest import Evaluation, evaluate
from rnnkit.evaluate.baselines import infer_period
from rnnkit.io.files import read_json, save_figure, write_bytes, write_json
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.forecaster import Forecaster
from rnnkit.runs import load_config
from rnnkit.tasks.workflow import Task
from rnnkit.train.fit import FitResult


@dataclass
class DataSpec:
    """Where the data comes from and how to read it (stored in the run's config.json).

    ``csv`` None means the embedded default series (weekly Mauna Loa CO2, bundled in
    statsmodels). The test part is ``test`` (a second file that follows the first in time,
    as in the tutorial), the last ``test_size`` rows (default: the last 10%), or given with
    ``split`` = [train, validation, test] row counts from the start (the LTSF protocol:
    8640, 2880, 2880 on ETTh1); validation is then exactly those rows.
    """

    csv: str | None = None
    target: list[str] = field(default_factory=list)
    time: str | None = None
    features: list[str] = field(default_factory=list)
    fill: str | None = None
    test: str | None = None
    test_size: int | None = None
    period: int | None = None
    split: list[int] | None = None  # rows for train, validation, test (the rest unused)
    sep: str | None = None  # column separator (None: detected per file)
    decimal: str | None = None  # decimal mark (None: detected per file)

    def read(self, path: str | None = None) -> Series:
        """Read ``path`` (default: the training CSV) with these settings."""
        path = path or self.csv
        if path is None:
            return co2()
        if not self.target:
            raise InputError(f"--target is required with --csv {path}: name the column to forecast")
        return read_series(path, self.target, self.time, self.features, self.fill,
                           sep=self.sep, decimal=self.decimal)


@dataclass
class ForecastData:
    """The series read for training, where its test part starts, and where validation
    starts (None: the last ``val_fraction`` of the training part)."""

    series: Series
    first_test: int
    val_start: int | None

    @property
    def train_part(self) -> Series:
        """The rows before the test part."""
        return self.series.slice(0, self.first_test)


def split(spec: DataSpec, lookback: int, horizon: int) -> ForecastData:
    """The series with the index of its first test row and of its first validation row
    (None: the last ``val_fraction`` of the training part), validated."""
    if sum(x is not None for x in (spec.test, spec.test_size, spec.split)) > 1:
        raise InputError("give only one of --test FILE, --test-size N and --split A,B,C")
    series = spec.read()
    if spec.split is not None:
        if len(spec.split) != 3 or min(spec.split) < 1:
            raise InputError(f"--split {spec.split}: expected three positive row counts "
                             "TRAIN,VALIDATION,TEST, e.g. 8640,2880,2880")
        train_rows, val_rows, test_rows = spec.split
        if sum(spec.split) > len(series):
            raise InputError(f"--split {','.join(map(str, spec.split))} needs {sum(spec.split)} "
                             f"rows; {series.source} has {len(series)}")
        if min(val_rows, test_rows) < horizon or train_rows < lookback + horizon:
            raise InputError(f"--split {spec.split} is too small for lookback={lookback} and "
                             f"horizon={horizon}")
        return ForecastData(series.slice(0, sum(spec.split)), train_rows + val_rows, train_rows)
    if spec.test:
        test = spec.read(spec.test)
        return ForecastData(series.concat(test), len(series), None)
    size = spec.test_size if spec.test_size is not None else max(horizon, len(series) // 10)
    if size < horizon:
        raise InputError(f"--test-size {size} is shorter than --horizon {horizon}")
    if size >= len(series) - lookback:
        raise InputError(
            f"--test-size {size} leaves {len(series) - size} training rows of {series.source}; "
            f"lookback={lookback} needs more: lower --test-size or --lookback"
        )
    return ForecastData(series, len(series) - size, None)


def _test_evaluation(fc: Forecaster, series: Series, first_test: int, period: int | None,
                     stride: int = 1, retrain: bool = False) -> Evaluation:
    """Walk forward through rows ``first_test..``: forecasts from every ``stride``-th origin
    whose horizon fits (all of them by default), judged beside the baselines. With
    ``retrain`` each origin's forecast, scaled errors and interval come from the model refit
    on the rows up to that origin (its own scaler and interval width)."""
    if stride < 1:
        raise InputError(f"--stride {stride}; expected at least 1")
    back = fc.historical_forecasts(series, first_test, stride, retrain)
    return evaluate(series.target_values, back.origins, back.forecasts, first_test, period,
                    (back.shift, back.scale), back.halfwidth, fc.config.interval)


def _axis(series: Series) -> np.ndarray:
    return np.asarray(series.time) if series.time is not None else np.arange(len(series))


def _write_plots(run_dir: Path, outcome_fit: FitResult | None, ev: Evaluation, series: Series,
                 title: str, lookback: int) -> None:
    from rnnkit.plots.forecast import (
        forecast_figure,
        loss_figure,
        members_loss_figure,
        per_step_figure,
        windows_figure,
    )

    x = _axis(series)
    test_rows = ev.origins + 1
    first = {name: f[:, 0, 0] for name, f in ev.forecasts.items()
             if name in ("model", "persistence")}
    band = None if ev.bounds is None else (ev.bounds[0][:, 0, 0], ev.bounds[1][:, 0, 0])
    fig = forecast_figure(x, series.target_values[:, 0], x[test_rows], first, title,
                          bounds=band, level=ev.interval["level"] if ev.interval else None)
    save_figure(fig, run_dir / "forecast.png")
    if outcome_fit is not None and outcome_fit.members:  # an ensemble: each member's curves
        members = outcome_fit.members
        save_figure(members_loss_figure([m.history for m in members],
                                        [m.best_epoch for m in members]), run_dir / "loss.png")
    elif outcome_fit is not None and outcome_fit.history["train_loss"]:  # ESNs have no epochs
        save_figure(loss_figure(outcome_fit.history, outcome_fit.best_epoch), run_dir / "loss.png")
    if ev.actual.shape[1] > 1:
        bounds = None if ev.bounds is None else (ev.bounds[0][..., 0], ev.bounds[1][..., 0])
        save_figure(windows_figure(x, series.target_values[:, 0], ev.origins, lookback,
                                   ev.forecasts["model"][..., 0], bounds,
                                   title=f"{series.targets[0]}: test windows"),
                    run_dir / "windows.png")
        save_figure(per_step_figure(ev.per_step()), run_dir / "per_step.png")


def _predictions_csv(ev: Evaluation, series: Series) -> bytes:
    rows = ev.origins + 1
    table = {"time": _axis(series)[rows] if series.time is not None else rows}
    for k, name in enumerate(series.targets):
        table[f"{name}_actual"] = ev.actual[:, 0, k]
        for model, values in ev.forecasts.items():
            table[f"{name}_{model}"] = values[:, 0, k]
    return pd.DataFrame(table).to_csv(index=False, float_format="%.10g").encode()


def metrics_json(ev: Evaluation, first_test: int, series: Series,
                 in_sample: int = 0) -> dict[str, Any]:
    """Every forecaster's scores on rows ``first_test..`` of ``series``, the verdict, the
    interval and per-step errors. ``in_sample`` counts scored rows the model was trained on:
    when there are any, ``scope`` and the verdict say so."""
    verdict = ev.verdict()
    if in_sample:
        verdict = (f"IN-SAMPLE: {in_sample} of the {len(series) - first_test} scored rows were "
                   f"used to train the model, so this is no test. {verdict}")
    result: dict[str, Any] = {
        "scope": "in-sample" if in_sample else "held-out",
        "in_sample_rows": in_sample,
        "test_rows": len(series) - first_test,
        "test_forecasts": len(ev.origins),
        "seasonal_period": ev.period,
        "verdict": verdict,
        # beaten only when the whole 95% interval of the RMSE skill is above zero
        "beats_persistence": bool(ev.skill_interval[0] > 0),
        "metrics": ev.metrics,
        "scaled": ev.scaled,
        # split-conformal: calibrated on the validation windows, the same that chose the kept
        # epoch (a separate calibration part would leave less data to stop on)
        "interval": None if ev.interval is None else {
            **ev.interval, "calibration": "the validation windows (they also chose the kept "
                                          "epoch)"},
        "per_step": ev.per_step(),
    }
    return result


@dataclass
class ForecastTask(Task[ForecastData], group="forecast"):
    """``rnnkit forecast train``: a `Forecaster` on a CSV (or the embedded CO2 series),
    judged on the held-out test part beside the naive baselines."""

    spec: DataSpec
    estimator: Forecaster
    evaluation: Evaluation | None = field(default=None, init=False)  # set by evaluate

    def read(self) -> ForecastData:
        """The series and its split (validated)."""
        c = self.estimator.config
        return split(self.spec, c.lookback, c.horizon)

    def fit_inputs(self, data: ForecastData) -> tuple[Series, int | None]:
        """The training part and where its validation rows start."""
        return data.train_part, data.val_start

    def evaluate(self, data: ForecastData, fit: FitResult) -> dict[str, Any]:
        """The model and the baselines on every test origin."""
        period = self.spec.period or infer_period(data.train_part.target_values[:, 0],
                                                  data.train_part.time)
        self.evaluation = _test_evaluation(self.estimator, data.series, data.first_test, period)
        return metrics_json(self.evaluation, data.first_test, data.series)

    def artefacts(self, run: Path, data: ForecastData, fit: FitResult,
                  metrics: dict[str, Any]) -> None:
        """history.json (the last lookback rows seen, to forecast from), scaler.json, the
        weights, predictions.csv and the plots."""
        fc, series = self.estimator, data.series
        frequency = None if series.time is None else infer_frequency(series.time)
        write_json(run / "history.json", history_to_dict(series, fc.config.lookback, frequency))
        write_json(run / "scaler.json", fc.scaler.to_dict())
        save_weights(run / "model.safetensors", fc.net)
        write_bytes(run / "predictions.csv", _predictions_csv(self.evaluation, series))
        _write_plots(run, fit, self.evaluation, series, f"{series.targets[0]}: test period",
                     fc.config.lookback)


#: The entries of a forecast run's config.json.
KEYS = {"data", "model", "train", "network", "targets", "features", "interval_halfwidth"}


def load(run_dir: Path) -> tuple[Forecaster, DataSpec]:
    """A trained forecaster and its data settings from a run folder (no unpickling)."""
    run_dir = Path(run_dir)
    config, where = load_config(run_dir, "forecast", KEYS)
    (spec,) = configs_from(config, where, data=DataSpec)
    weights = load_weights(run_dir / "model.safetensors")
    return Forecaster.from_state(config, read_json(run_dir / "scaler.json"), weights,
                                 where), spec


@dataclass
class Prediction:
    """Forecasts after the end of the data: a table (time or step, each target's forecast
    and, up to the model's horizon, its interval) and the rows they were made from."""

    table: pd.DataFrame
    series: Series
    future: np.ndarray  # the forecasts' timestamps, or step numbers 1..n
    timed: bool  # whether ``future`` holds timestamps
    level: float | None  # of the interval columns (None: the run has no interval)


def predict(run_dir: Path, csv: str | None, horizon: int | None) -> Prediction:
    """The ``horizon`` rows after the end of everything the run has seen (its training and
    test data, kept in history.json), or after the rows of ``csv``: appended when they
    continue the run's data, used alone when they are enough (see `continue_history`)."""
    fc, spec = load(run_dir)
    history, frequency = history_from_dict(read_json(Path(run_dir) / "history.json"),
                                           str(Path(run_dir) / "history.json"))
    series = history if csv is None else continue_history(
        history, spec.read(csv), fc.config.lookback, frequency)
    values = fc.predict(series, horizon)
    n = len(values)
    timed = series.time is not None and frequency is not None
    future = (np.asarray(pd.date_range(series.time[-1], periods=n + 1, freq=frequency)[1:])
              if timed else np.arange(1, n + 1))
    table = pd.DataFrame({"time" if timed else "step": future})
    level = fc.config.interval
    for k, name in enumerate(series.targets):
        table[f"{name}_forecast"] = values[:, k]
        if fc.halfwidth is not None:
            width = np.full(n, np.nan)
            width[: min(n, len(fc.halfwidth))] = fc.halfwidth[:n, k]
            table[f"{name}_lower_{level:.0%}"] = values[:, k] - width
            table[f"{name}_upper_{level:.0%}"] = values[:, k] + width
    return Prediction(table, series, future, timed, None if fc.halfwidth is None else level)


def fan_chart(run_dir: Path, made: Prediction) -> Path:
    """Draw the forecast of the first target after the recent history, with its interval,
    into ``RUN/plots/forecast-from-<last time or row>.png``; returns the path."""
    from rnnkit.plots.forecast import fan_figure

    series, name = made.series, made.series.targets[0]
    # without timestamps the forecast is numbered 1..n, so the history counts up to 0
    history_x = np.asarray(series.time) if made.timed else np.arange(-len(series) + 1, 1)
    bounds = None if made.level is None else (
        made.table[f"{name}_lower_{made.level:.0%}"].to_numpy(),
        made.table[f"{name}_upper_{made.level:.0%}"].to_numpy())
    origin = _when(history_x[-1]) if made.timed else f"row {len(series)}"
    figure = fan_figure(history_x, series.target_values[:, 0], made.future,
                        made.table[f"{name}_forecast"].to_numpy(), bounds, made.level,
                        f"{name}: forecast from {origin}")
    stamp = re.sub(r"[^0-9A-Za-z]+", "-", origin).strip("-")
    return save_figure(figure, Path(run_dir) / "plots" / f"forecast-from-{stamp}.png")


def rolling(run_dir: Path, csv: str | None) -> pd.DataFrame:
    """One-step forecasts of every row of ``csv`` (default: the run's own data) after its
    first lookback rows, each from the true rows before it (the tutorial's evaluation)."""
    fc, spec = load(run_dir)
    series = spec.read(csv)
    first = fc.config.lookback
    table = pd.DataFrame({"time": _axis(series)[first:]})
    values = fc.rolling(series, first)
    for k, name in enumerate(series.targets):
        table[f"{name}_actual"] = series.target_values[first:, k]
        table[f"{name}_forecast"] = values[:, k]
    return table


def _when(stamp: object) -> str:
    """A timestamp for people: the date alone at midnight; a row number stays a number."""
    if isinstance(stamp, np.datetime64):
        text = str(pd.Timestamp(stamp))
        return text.removesuffix(" 00:00:00")
    return str(stamp)


def _future_times(series: Series, n: int) -> pd.DatetimeIndex | None:
    freq = None if series.time is None else infer_frequency(series.time[-50:])
    if freq is None:
        return None
    return pd.date_range(series.time[-1], periods=n + 1, freq=freq)[1:]


def evaluate_run(run_dir: Path, csv: str | None, test_size: int | None, stride: int = 1,
                 retrain: bool = False) -> tuple[Evaluation, dict[str, Any]]:
    """Score a run beside the baselines, walking forward from every ``stride``-th origin.

    Without ``csv`` the run's own data is read again: by default its test part is scored
    (what ``train`` reported); ``test_size`` scores the last N rows instead. Rows of ``csv``
    that continue the run's data are scored after the run's history (history.json), so even
    a few new rows can be scored; a file that stands alone is scored after its first
    lookback rows; ``test_size`` scores its last N rows instead. Scored rows that the model
    was trained on (by timestamp, or by row when the data is the run's own) are counted, and
    the output says "in-sample" when there are any. With ``retrain`` the model is refit on
    the rows before each origin (a backtest of the whole procedure, slow)."""
    fc, spec = load(run_dir)
    c = fc.config
    own = split(spec, c.lookback, c.horizon)
    series, first = own.series, own.first_test
    if csv is not None:
        where = Path(run_dir) / "history.json"
        history, frequency = history_from_dict(read_json(where), str(where))
        new = spec.read(csv)
        series = continue_history(history, new, c.lookback, frequency)
        first = c.lookback if series is new else len(history)
        if first >= len(series):
            raise InputError(f"{csv} holds no rows after the run's data (which ends at "
                             f"{_when(np.asarray(history.time)[-1])}); nothing new to score")
    if test_size is not None and not c.horizon <= test_size <= len(series) - c.lookback:
        raise InputError(
            f"--test-size {test_size} must lie in [{c.horizon}, {len(series) - c.lookback}] for "
            f"{len(series)} rows, lookback={c.lookback} and horizon={c.horizon}"
        )
    if test_size is not None:
        first = len(series) - test_size
    in_sample = _rows_trained_on(series, first, own, csv is None)
    period = spec.period or infer_period(series.target_values[:first, 0], series.time)
    ev = _test_evaluation(fc, series, first, period, stride, retrain)
    return ev, metrics_json(ev, first, series, 0 if retrain else in_sample)


def _rows_trained_on(series: Series, first: int, own: ForecastData, same_data: bool) -> int:
    """How many of the rows ``first..`` of ``series`` lie in the run's training part: by
    row when ``series`` is the run's own data, else by timestamp (0 without timestamps)."""
    if same_data:
        return max(0, own.first_test - first)
    if series.time is None or own.series.time is None:
        return 0
    last_trained = own.series.time[own.first_test - 1]
    return int(np.sum(np.asarray(series.time[first:]) <= last_trained))


def explain(run_dir: Path, csv: str | None, origin: int | None,
            out: Path | None = None) -> dict[str, Any]:
    """Open the glass box on one forecast of a run: the forecast from the window ending at
    row ``origin`` (default: the last row), the encoder's gates at every step, how much of
    the forecast's gradient reaches each step (vanishing or not), and which input steps
    moved the forecast most. Writes a figure (default ``RUN/explain-<origin>.png``)."""
    import torch

    from rnnkit.diagnose.gates import gate_statistics
    from rnnkit.diagnose.gradients import gradient_flow
    from rnnkit.plots.forecast import explain_figure

    fc, spec = load(run_dir)
    series = spec.read(csv)
    c = fc.config
    origin = len(series) - 1 if origin is None else origin
    if not c.lookback - 1 <= origin < len(series):
        raise InputError(f"--origin {origin} must lie in [{c.lookback - 1}, {len(series) - 1}] "
                         f"(a full {c.lookback}-row window must end there)")
    rows = slice(origin - c.lookback + 1, origin + 1)
    window = torch.as_tensor(fc.scaler.transform(series.values[rows]), dtype=torch.float32)
    x = window[None].to(fc.device).requires_grad_(True)
    fc.net.eval()
    y, trace = fc.net(x, trace=True)
    (d_input,) = torch.autograd.grad(y[0, 0, 0], x, retain_graph=True)
    flow = gradient_flow(y[0, 0, 0], trace).norms[:, 0].numpy()  # (layers, steps)
    saliency = d_input[0].abs().sum(-1).cpu().numpy()  # (L,)
    stats = gate_statistics(trace)
    gates = {f"{s.key} {s.gate}": s.mean_over_time.numpy() for s in stats
             if not s.key.endswith("_reverse")}
    forecast = fc.forecast(series, np.array([origin]))[0]  # (H, n)

    axis = _axis(series)
    future = _future_times(series.slice(0, origin + 1), c.horizon)
    future = future if future is not None else np.arange(origin + 1, origin + 1 + c.horizon)
    figure = explain_figure(axis[rows], series.target_values[rows, 0], np.asarray(future),
                            forecast[:, 0], gates, flow, saliency,
                            f"{series.targets[0]}: forecast from row {origin}")
    path = save_figure(figure, Path(out) if out else Path(run_dir) / f"explain-{origin}.png")
    share = saliency / saliency.sum() if saliency.sum() > 0 else saliency
    top = np.argsort(share)[::-1][:5]
    return {
        "figure": str(path), "origin": origin,
        "forecast": forecast[:, 0].tolist(),
        "gradient_first_last_ratio": [float(r) for r in flow[:, 0] / flow[:, -1]],
        "gates": {f"{s.key} {s.gate}": {"mean": s.mean, "saturation": s.saturation}
                  for s in stats},
        "influential_steps": [
            {"row": int(origin - c.lookback + 1 + k), "time": _when(axis[rows][k]),
             "value": float(series.target_values[rows][k, 0]), "share": float(share[k])}
            for k in top
        ],
    }
