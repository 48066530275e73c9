"""Forecasting a panel (many series at once, ``rnnkit forecast train --id``): one global
model trained across the series, judged on every series' last ``test_size`` rows as M4
scores it, beside per-series baselines from kept libraries; then forecasts from a run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.configs import configs_from
from rnnkit.data.panel import Panel, read_long, read_long_with_future, read_wide
from rnnkit.errors import InputError
from rnnkit.evaluate.skill import mean_interval
from rnnkit.io.files import save_figure, write_bytes
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.global_forecaster import GlobalForecaster, PanelForecast
from rnnkit.runs import load_config
from rnnkit.tasks.workflow import Task
from rnnkit.train.fit import FitResult


@dataclass
class PanelSpec:
    """Where the panel comes from and how to read it (stored in the run's config.json).

    ``id`` names the series column of a long table; without it the file is wide (one column
    per series). The test part is the last ``test_size`` rows of every series (default: the
    horizon); ``season`` is the seasonal period of the baselines and MASE (default: from the
    time column's frequency, else 1).
    """

    csv: str
    target: str | None = None
    id: str | None = None
    time: str | None = None
    static: list[str] = field(default_factory=list)
    past: list[str] = field(default_factory=list)
    future: list[str] = field(default_factory=list)
    fill: str | None = None
    sep: str | None = None
    decimal: str | None = None
    test_size: int | None = None
    season: int | None = None
    baselines: list[str] = field(default_factory=lambda: list(BASELINES))

    def read(self, path: str | None = None, future_rows: bool = False
             ) -> tuple[Panel, Panel | None]:
        """Read ``path`` (default: the training file): the panel and, with ``future_rows``
        and known-future columns, the rows after each series' last observed target."""
        path = path or self.csv
        if self.id is None:
            if self.static or self.past or self.future:
                raise InputError("--static, --past and --future need a long table: name its "
                                 "series column with --id")
            return read_wide(path, self.time, self.fill, sep=self.sep, decimal=self.decimal), None
        if not self.target:
            raise InputError(f"--target is required with --id: name the column of {path} "
                             "to forecast")
        keywords = dict(time=self.time, fill=self.fill, sep=self.sep, decimal=self.decimal,
                        static=self.static or None, past=self.past or None,
                        future=self.future or None)
        if future_rows and self.future:
            return read_long_with_future(path, self.id, self.target, **keywords)
        return read_long(path, self.id, self.target, **keywords), None


#: The per-series baselines scored beside the model (`rnnkit.evaluate.panel_baselines`).
BASELINES = ("seasonal_naive", "naive2", "theta", "ets")


def season_of(panel: Panel, given: int | None) -> int:
    """The seasonal period: ``given``, else the first usual lag of the time column's
    frequency (24 for hourly data, 52 for weekly...), else 1."""
    if given is not None:
        if given < 1:
            raise InputError(f"--period {given}; expected at least 1")
        return given
    from rnnkit.data.calendar import seasonal_lags
    from rnnkit.models.global_forecaster import _frequency

    frequency = _frequency(panel)
    lags = seasonal_lags(frequency) if frequency else []
    return lags[0] if lags else 1


@dataclass
class PanelData:
    """The panel read for training, split into its training part and its test part (the
    last ``test_size`` rows of every series)."""

    panel: Panel
    train: Panel
    test: Panel
    season: int


def split(spec: PanelSpec, horizon: int) -> PanelData:
    """Read the panel and hold out the last ``test_size`` rows of every series (validated)."""
    panel, _ = spec.read()
    size = horizon if spec.test_size is None else spec.test_size
    if size != horizon:
        raise InputError(f"--test-size {size} with --id: each series is scored on one "
                         f"forecast of --horizon {horizon} rows from the end of its training "
                         f"part (as M4 scores), so give --test-size {horizon} or leave it out")
    train, test = panel.split_last(size)
    return PanelData(panel, train, test, season_of(train, spec.season))


@dataclass
class Scored:
    """A panel forecast scored beside the baselines: per-series table, overall figures."""

    forecast: PanelForecast
    actual: np.ndarray  # (S, H) of the forecast series
    table: pd.DataFrame  # one row per series
    overall: dict[str, dict[str, float]]  # model and each baseline -> score -> value
    verdict: str
    baselines: dict[str, np.ndarray]
    fallbacks: dict[str, int]


def score(fc: GlobalForecaster, train: Panel, test: Panel, season: int,
          baselines: list[str]) -> Scored:
    """Forecast every series of ``train`` over the next horizon rows, and score that and the
    baselines' forecasts against ``test`` (the same series' following rows), as M4 does."""
    from rnnkit.evaluate.panel_baselines import baseline_forecasts
    from rnnkit.evaluate.panel_scores import score_panel

    H = fc.config.horizon
    made = fc.predict(train, future=test if fc.learned.future else None)
    index = {i: k for k, i in enumerate(train.ids)}
    tests = {i: k for k, i in enumerate(test.ids)}
    rows = [index[i] for i in made.ids]
    insample = [train.series(k).target_values[:, 0] for k in rows]
    actual = np.full((len(rows), H), np.nan)
    for j, series_id in enumerate(made.ids):
        own = test.series(tests[series_id]).target_values[:H, 0] if series_id in tests else []
        actual[j, : len(own)] = own
    if np.isnan(actual).any():
        short = made.ids[int(np.flatnonzero(np.isnan(actual).any(axis=1))[0])]
        raise InputError(f"series {short!r} has fewer than {H} test rows: every series needs "
                         f"its next {H} values to be scored")
    names = list(dict.fromkeys(["naive2", *baselines]))  # Naive2: OWA's reference
    base = baseline_forecasts(insample, H, season, tuple(names))
    naive2 = base.forecasts["naive2"]
    levels = dict(zip(made.levels, np.moveaxis(made.quantiles, -1, 0), strict=True))
    table, overall = score_panel(actual, made.point, insample, season, quantiles=levels,
                                 naive2=naive2)
    table.insert(0, "id", made.ids)
    scores = {"model": overall}
    for name in baselines:
        theirs, scores[name] = score_panel(actual, base.forecasts[name], insample, season,
                                           naive2=naive2)
        table[f"smape_{name}"] = theirs["smape"].to_numpy()
    verdict = _verdict(table, scores, baselines)
    return Scored(made, actual, table, scores, verdict, base.forecasts, base.fallbacks)


def _verdict(table: pd.DataFrame, scores: dict[str, dict[str, float]],
             baselines: list[str]) -> str:
    """The verdict in words: the model's OWA against the best baseline's, with a 95%
    bootstrap interval (series resampled) of the per-series sMAPE difference."""
    if not baselines:
        return f"model OWA {scores['model']['owa']:.3f} (no baselines asked for)"
    best = min(baselines, key=lambda n: scores[n]["owa"])
    gain = table[f"smape_{best}"].to_numpy() - table["smape"].to_numpy()  # > 0: model better
    low, high = mean_interval(gain)
    head = f"model OWA {scores['model']['owa']:.3f}"
    against = f"the best baseline, {best} (OWA {scores[best]['owa']:.3f})"
    spread = "95% interval, series resampled"
    if low > 0:
        return (f"{head} beats {against}: per series its sMAPE is {np.mean(gain):.2f} points "
                f"lower on average ({spread}: {low:.2f} to {high:.2f})")
    if high < 0:
        return (f"{head} is WORSE than {against}: per series its sMAPE is {-np.mean(gain):.2f} "
                f"points higher on average ({spread}: {-high:.2f} to {-low:.2f})")
    return (f"{head} ties with {against}: per series their sMAPE differs by "
            f"{-np.mean(gain):+.2f} points on average, not clearly ({spread}: {-high:+.2f} to "
            f"{-low:+.2f})")


def metrics_json(scored: Scored, fc: GlobalForecaster, scope: str = "held-out"
                 ) -> dict[str, Any]:
    """metrics.json of a panel run: overall scores of the model and each baseline, the
    verdict, the per-series skill's spread and what was skipped."""
    baselines = [name for name in scored.overall if name != "model"]
    skill = None
    if baselines:
        best = min(baselines, key=lambda name: scored.overall[name]["owa"])
        skill = 1 - scored.table["smape"] / scored.table[f"smape_{best}"].replace(0, np.nan)
    return {
        "scope": scope,
        "series": len(scored.forecast.ids),
        "skipped_series": scored.forecast.skipped,
        "horizon": fc.config.horizon,
        "seasonal_period": fc.config.season,
        "quantiles": list(fc.config.quantiles),
        "verdict": scored.verdict,
        "metrics": scored.overall,
        "baseline_fallbacks": scored.fallbacks,
        "per_series_skill": None if skill is None else {
            "description": f"1 - sMAPE_model / sMAPE_{best} (the best baseline) per series",
            **{f"q{q:g}": float(np.nanquantile(skill, q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)},
            "share_better": float(np.mean(skill > 0))},
    }


def _predictions(scored: Scored, id_column: str, time_column: str) -> pd.DataFrame:
    """predictions.csv: the long table of `PanelForecast.frame` with ``actual`` beside."""
    table = scored.forecast.frame(id_column, time_column)
    table.insert(2, "actual", scored.actual.reshape(-1))
    return table


def _write_plots(run: Path, scored: Scored, train: Panel, fit: FitResult | None) -> None:
    """Fan charts of the best, median and worst series (by sMAPE), the per-series skill
    histogram and the loss curves."""
    from rnnkit.plots.forecast import loss_figure
    from rnnkit.plots.panel import fan_grid, skill_histogram

    order = np.argsort(scored.table["smape"].to_numpy())
    picks = {"best": order[0], "median": order[len(order) // 2], "worst": order[-1]}
    made = scored.forecast
    index = {i: k for k, i in enumerate(train.ids)}
    charts = []
    for label, j in picks.items():
        own = train.series(index[made.ids[j]])
        charts.append((f"{label}: {made.ids[j]} (sMAPE {scored.table['smape'].iloc[j]:.1f})",
                       own.target_values[:, 0], made.quantiles[j], made.levels,
                       scored.actual[j]))
    save_figure(fan_grid(charts), run / "plots" / "fan-charts.png")
    columns = [c for c in scored.table.columns if c.startswith("smape_")]
    if columns:
        save_figure(skill_histogram(scored.table, columns), run / "plots" / "skill.png")
    if fit is not None and fit.history.get("train_loss"):
        save_figure(loss_figure(fit.history, fit.best_epoch), run / "loss.png")


@dataclass
class PanelTask(Task[PanelData], group="panel"):
    """``rnnkit forecast train --id``: a `GlobalForecaster` across the series of a panel,
    judged on every series' last horizon rows beside per-series baselines."""

    spec: PanelSpec
    estimator: GlobalForecaster
    seasonal_lags: bool = False  # use the data's usual lags (--lags seasonal), found on reading
    scored: Scored | None = field(default=None, init=False)  # set by evaluate

    def read(self) -> PanelData:
        """The panel and its split (validated); the seasonal period (and with
        ``seasonal_lags`` the lags) become the model's."""
        data = split(self.spec, self.estimator.config.horizon)
        config = self.estimator.config
        config.season = data.season
        if self.seasonal_lags:
            from rnnkit.data.calendar import seasonal_lags
            from rnnkit.models.global_forecaster import _frequency

            frequency = _frequency(data.train)
            if frequency is None:
                raise InputError("--lags seasonal needs a time column with a regular "
                                 "frequency; give the lags as numbers, e.g. --lags 24,168")
            config.lags = tuple(seasonal_lags(frequency))
        return data

    def fit_inputs(self, data: PanelData) -> tuple[Panel, None]:
        """The training part (its last horizon rows of each series validate)."""
        return data.train, None

    def evaluate(self, data: PanelData, fit: FitResult) -> dict[str, Any]:
        """The model and the baselines on every series' test part."""
        self.scored = score(self.estimator, data.train, data.test, data.season,
                            self.spec.baselines)
        return metrics_json(self.scored, self.estimator)

    def artefacts(self, run: Path, data: PanelData, fit: FitResult,
                  metrics: dict[str, Any]) -> None:
        """The weights, predictions.csv (long: id, time, actual, forecast, quantiles),
        per_series.csv and the plots."""
        save_weights(run / "model.safetensors", self.estimator.net)
        table = _predictions(self.scored, self.spec.id or "id",
                             data.panel.time_column or "time")
        write_bytes(run / "predictions.csv", table.to_csv(index=False, float_format="%.10g"
                                                          ).encode())
        write_bytes(run / "per_series.csv", self.scored.table.to_csv(
            index=False, float_format="%.6g").encode())
        _write_plots(run, self.scored, data.train, fit)


#: The entries of a panel run's config.json.
KEYS = {"data", "model", "train", "learned"}


def load(run_dir: Path) -> tuple[GlobalForecaster, PanelSpec]:
    """A trained global forecaster and its data settings from a run folder."""
    run_dir = Path(run_dir)
    config, where = load_config(run_dir, "panel", KEYS)
    (spec,) = configs_from(config, where, data=PanelSpec)
    weights = load_weights(run_dir / "model.safetensors")
    return GlobalForecaster.from_state(config, weights, where), spec


def predict(run_dir: Path, csv: str | None, horizon: int | None) -> pd.DataFrame:
    """Forecasts of the ``horizon`` rows (at most the model's) after the end of every series
    of ``csv`` (default: the run's data file), in the long form of predictions.csv without
    ``actual``; with known-future covariates, ``csv`` holds their rows after each series'
    observed ones (target empty)."""
    fc, spec = load(run_dir)
    H = fc.config.horizon
    if horizon is not None and not 1 <= horizon <= H:
        raise InputError(f"--horizon {horizon}: this model forecasts 1 to {H} rows at once "
                         "(it was trained with --horizon {H})")
    panel, future = spec.read(csv, future_rows=True)
    if future is not None:
        from rnnkit.data.panel import check_future

        check_future(panel, future, H)
    made = fc.predict(panel, future)
    table = made.frame(spec.id or "id", panel.time_column or "time")
    if horizon is not None and horizon < H:
        step = np.tile(np.arange(1, H + 1), len(made.ids))
        table = table[step <= horizon].reset_index(drop=True)
    if made.skipped:
        import sys

        print(f"{len(made.skipped)} series skipped (shorter than the lookback): "
              f"{made.skipped[:5]}", file=sys.stderr)
    return table


def evaluate_run(run_dir: Path, csv: str | None) -> dict[str, Any]:
    """Score a run beside the baselines: by default on its own test part (what train
    reported); with ``csv``, on the last horizon rows of every series of that file (rows the
    model was trained on are counted: the output then says "in-sample")."""
    fc, spec = load(run_dir)
    data = split(spec, fc.config.horizon) if csv is None else None
    if data is None:
        panel, _ = spec.read(csv)
        train, test = panel.split_last(fc.config.horizon)
        data = PanelData(panel, train, test, fc.config.season)
    scored = score(fc, data.train, data.test, fc.config.season, spec.baselines)
    scope = "held-out"
    if csv is not None:
        own = split(spec, fc.config.horizon)
        trained = _rows_trained_on(own.train, data.test)
        if trained:
            scope = "in-sample"
            scored.verdict = (f"IN-SAMPLE: {trained} of the scored rows were used to train "
                              f"the model, so this is no test. {scored.verdict}")
    return metrics_json(scored, fc, scope)


def _rows_trained_on(trained: Panel, scored: Panel) -> int:
    """Scored rows at or before the end of the same series' training rows (by time; by
    count without times)."""
    index = {i: k for k, i in enumerate(trained.ids)}
    count = 0
    for k, series_id in enumerate(scored.ids):
        if series_id not in index:
            continue
        j = index[series_id]
        if trained.time is not None and scored.time is not None:
            last = trained.time[trained.offsets[j + 1] - 1]
            count += int(np.sum(scored.time[scored.offsets[k] : scored.offsets[k + 1]] <= last))
    return count


def explain(run_dir: Path, series_id: str, csv: str | None = None,
            out: Path | None = None) -> dict[str, Any]:
    """The glass box on one series' forecast: the network's gates at every step of its
    window, and how much of the gradient of the network's last state reaches each step
    (vanishing or not). Without ``csv`` the forecast is the run's test forecast (from the end
    of the series' training part); with it, from the series' last observed row of ``csv``.
    Writes a figure (default ``RUN/explain-<series>.png``)."""
    import torch

    from rnnkit.diagnose.gates import gate_statistics
    from rnnkit.diagnose.gradients import gradient_flow
    from rnnkit.plots.forecast import explain_figure

    fc, spec = load(run_dir)
    if csv is None:
        own = split(spec, fc.config.horizon)
        panel, future = own.train, own.test if fc.learned.future else None
    else:
        panel, future = spec.read(csv, future_rows=True)
    if series_id not in panel.ids:
        raise InputError(f"--series {series_id!r} is not in {panel.source}; it has "
                         f"{len(panel)} series, e.g. {panel.ids[:5]}")
    one = panel.select([series_id])
    future = None if future is None else future.select([series_id])
    made = fc.predict(one, future)
    if not made.ids:
        raise InputError(f"series {series_id!r} is shorter than the model's window")
    c = fc.config
    extended = fc._extend(one, future)
    data = fc._windows(extended, one.lengths - 1, np.ones(1, dtype=np.int64))
    x, _ = data[[0]]
    x = tuple(part.to(fc.device) for part in x)
    net = fc.net.eval()
    inputs = net.rnn_inputs(*x).detach().requires_grad_(True)
    out_seq, _, trace = net.rnn(inputs, trace=True)
    last = out_seq[0, -1].sum()
    (d_input,) = torch.autograd.grad(last, inputs, retain_graph=True)
    flow = gradient_flow(last, trace).norms[:, 0].numpy()
    saliency = d_input[0].abs().sum(-1).cpu().numpy()
    stats = gate_statistics(trace)
    gates = {f"{s.key} {s.gate}": s.mean_over_time.numpy() for s in stats
             if not s.key.endswith("_reverse")}
    history = one.series(0).target_values[:, 0]
    steps = inputs.shape[1]
    window = history[-steps:]
    axis = np.arange(len(history) - steps, len(history))
    future_x = np.arange(len(history), len(history) + c.horizon)
    figure = explain_figure(axis, window, future_x, made.point[0], gates, flow, saliency,
                            f"{series_id}: forecast from its last row")
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "-", series_id)
    path = save_figure(figure, Path(out) if out else Path(run_dir) / f"explain-{safe}.png")
    return {"figure": str(path), "series": series_id, "forecast": made.point[0].tolist(),
            "gradient_first_last_ratio": [float(r) for r in flow[:, 0] / flow[:, -1]],
            "gates": {f"{s.key} {s.gate}": {"mean": s.mean, "saturation": s.saturation}
                      for s in stats}}
