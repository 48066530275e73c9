"""``rnnkit forecast ...``: train, predict and evaluate recurrent forecasters on CSV data."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import typer

from rnnkit.cli import options as o

app = typer.Typer(help="Forecast a time series from a CSV file (the main job).",
                  no_args_is_help=True)
Run = o.run_of("forecast")

TRAIN_EXAMPLE = """
Examples:

  rnnkit forecast train        # the embedded default: weekly Mauna Loa CO2, last 10% as test

  rnnkit forecast train --preset etth1-m --horizon 336 --csv $RNNKIT_DATA/etth1/ETTh1.csv

  rnnkit forecast train --preset seed --target Open \\
      --csv $RNNKIT_DATA/google_stock/Google_Stock_Price_Train.csv \\
      --test $RNNKIT_DATA/google_stock/Google_Stock_Price_Test.csv

  rnnkit forecast train --csv sales.csv --id store --time date --target units \\
      --horizon 28 --future price,promo --static region   # one global model, all stores
"""


@dataclass
class SeriesOptions(o.Options):
    """The options of every forecast: the data and the network."""

    csv: Path | None = o.data("CSV file; omitted: the embedded CO2 series.")
    target: list[str] = o.data("Column(s) to forecast (repeat or a,b).")
    time: str | None = o.data("Time column (default: found by name; 'none').")
    fill: str | None = o.data("Missing values: ffill, interpolate or drop.")
    sep: str | None = o.data("Column separator: ',', ';' or '\\t' (default: detected).")
    decimal: str | None = o.data("Decimal mark: '.' or ',' (default: detected).")
    test_size: int | None = o.data("Last N rows as the test part (default 10%).")
    period: int | None = o.data("Seasonal period for the seasonal naive (with --id: also MASE's "
                                "m and ES-RNN's).")
    model: str | None = o.option("rnn (encoder + head) or segrnn; with --id: mqrnn (default), "
                                 "deepar or esrnn.")
    cell: str | None = o.option("lstm, gru, rnn, irnn, peephole, cifg or esn.")
    hidden_size: int | None = o.option("Units per recurrent layer.")
    layers: int | None = o.option("Stacked recurrent layers.", config="num_layers")
    dropout: float | None = o.option("Dropout between recurrent layers.")
    lookback: int | None = o.option("Past rows per input window.")
    horizon: int | None = o.option("Future rows predicted at once.")


@dataclass
class SingleOptions(o.Options):
    """The options of a single-series forecaster (not given --id or --wide)."""

    features: list[str] = o.data("Extra input columns (repeat or a,b).")
    test: Path | None = o.data("Test CSV that follows --csv in time.")
    split: str | None = o.data("Row counts TRAIN,VAL,TEST from the start.")
    preset: str | None = o.data("Named settings: 'seed' = the tutorial exactly.")
    normalize: str | None = o.option("Per window: last, revin or none.")
    channel_independent: bool | None = o.option("One shared model per channel.",
                                                "--channel-independent/--joint")
    segment_length: int | None = o.option("SegRNN segment length.")
    ensemble: int | None = o.option("Networks trained in turn (seeds seed, seed+1, ...; each its "
                                    "own early stopping), their forecasts averaged (default 1).")
    spectral_radius: float | None = o.option("ESN: largest |eigenvalue| of W.")
    leak_rate: float | None = o.option("ESN: leak rate in (0, 1].")
    ridge: float | None = o.option("ESN: ridge of the readout.")
    washout: int | None = o.option("ESN: training steps left out of the fit (at most "
                                   "--lookback).")
    scaler: str | None = o.option("standard, minmax or identity.")
    loss: str | None = o.option("Training loss: mse or mae.")
    interval: float | None = o.option("Prediction interval level (0.9).")
    val_fraction: float | None = o.option("Share of training rows for validation.")


@dataclass
class PanelOptions(o.Options):
    """The options of a panel (many series, one global model): given --id or --wide."""

    id: str | None = o.option("Series column of a long table: one global model across all "
                              "series (--test-size N: the last N rows of every series).", "--id")
    wide: bool = o.option("The file is wide: one column per series.", default=False)
    static: list[str] = o.option("Per-series constant columns (text: embedded categories).")
    past: list[str] = o.option("Covariates known only up to the forecast origin.")
    future: list[str] = o.option("Covariates known over the horizon too (prices, promotions, "
                                 "holidays).")
    quantiles: str | None = o.option("Quantile levels, e.g. 0.1,0.5,0.9 (0.5 always).")
    likelihood: str | None = o.option("DeepAR: gaussian, student_t or negbin (counts).")
    samples: int | None = o.option("DeepAR: sample paths per forecast.")
    scaling: str | None = o.option("Per window: mean_abs (DeepAR) or standard.")
    lags: str | None = o.option("Lagged targets as inputs, e.g. 24,168; 'seasonal': the data's "
                                "usual lags.")
    series_embedding: int | None = o.option("Width of a learned vector per series (0: none).")
    windows_per_epoch: int | None = o.option("Windows drawn per epoch across the series.")
    recent: int | None = o.option("Draw training windows only from each series' last N rows.")
    conformal: bool | None = o.option("Calibrate the quantile intervals across series "
                                      "(split-conformal, on the validation rows).",
                                      "--conformal/--no-conformal")
    calendar: bool | None = o.option("Calendar features from the time column.",
                                     "--calendar/--no-calendar")
    baselines: list[str] = o.option("Per-series baselines: seasonal_naive, naive2, theta, ets "
                                    "(default: all; 'none').")


@dataclass
class ForecastOptions(o.Training, PanelOptions, SingleOptions, SeriesOptions):
    """The options of ``rnnkit forecast train``: one series, or a panel (--id, --wide)."""

    def panel(self) -> bool:
        """Whether these options train (or resume) a global model across a panel."""
        return (self.id is not None or self.wide
                or (self.resume is not None and _is_panel(self.resume)))

    def given(self, part: type[o.Options]) -> list[str]:
        """The options of ``part`` (a class this one derives from) that were given."""
        return [f"--{f.name.replace('_', '-')}" for f in fields(part)
                if getattr(self, f.name) not in (None, [], f.default)]


def _parse_split(text: str | None) -> list[int] | None:
    if text is None:
        return None
    from rnnkit.errors import InputError

    try:
        return [int(part) for part in text.split(",")]
    except ValueError as err:
        raise InputError(f"--split {text!r}: expected row counts TRAIN,VAL,TEST such as "
                         "8640,2880,2880") from err


def _defined(value: float | None, width: int) -> str:
    """``value`` in ``width`` columns, or "-" where it is undefined (MAPE with zero actuals:
    sMAPE beside it is defined)."""
    return f"{'-':>{width}}" if value is None or math.isnan(value) else f"{value:>{width}.3g}"


def _print_table(metrics: dict, header: str) -> None:
    typer.echo(header)
    typer.echo(f"{'forecaster':<22}{'RMSE':>11}{'MAE':>11}{'MAPE %':>9}{'sMAPE %':>9}"
               f"{'MASE':>8}{'RMSE skill':>12}")
    for name, m in metrics["metrics"].items():
        typer.echo(f"{name:<22}{m['rmse']:>11.4g}{m['mae']:>11.4g}{_defined(m['mape'], 9)}"
                   f"{m['smape']:>9.3g}{m['mase']:>8.3g}{m['skill']:>+12.1%}")
    if metrics.get("scaled"):
        scaled = metrics["scaled"]
        typer.echo("on the scaled values: " + ", ".join(
            f"{name} MSE {m['mse']:.4g} MAE {m['mae']:.4g}" for name, m in scaled.items()
            if name in ("model", "persistence")))
    if metrics.get("interval"):
        i = metrics["interval"]
        typer.echo(f"{i['level']:.0%} prediction interval: empirical coverage {i['coverage']:.1%}"
                   f" on the test forecasts (mean width {i['mean_width']:.4g}; calibrated on the "
                   "validation windows, which also chose the kept epoch)")
    typer.echo(metrics["verdict"])


@app.command(epilog=TRAIN_EXAMPLE)
@o.command
def train(*, options: ForecastOptions) -> None:
    """Train a forecaster, judge it beside naive baselines on held-out data, write a run.

    With --id (a long table) or --wide, one global model (mqrnn, deepar or esrnn) is
    trained across all the series, with quantiles, and scored as M4 scores beside
    per-series seasonal naive, Naive2, Theta and ETS.
    """
    c = options
    if c.panel():
        o.refuse(c.given(SingleOptions), "single-series options; with --id the model is set by "
                 "--model mqrnn|deepar|esrnn and the panel options (see --help)")
        o.run_training("panel", functools.partial(_panel_task, c), c, report=_panel_report)
    else:
        o.refuse(c.given(PanelOptions), "panel options: they need --id COLUMN (a long table) "
                 "or --wide")
        o.run_training("forecast", functools.partial(_forecast_task, c), c, report=_report)


def _forecast_task(c: ForecastOptions) -> object:
    """The `ForecastTask` the options describe."""
    from rnnkit.models.forecaster import DATA_PRESETS, Forecaster
    from rnnkit.tasks.forecast import DataSpec, ForecastTask

    data = {"csv": None if c.csv is None else str(c.csv), "target": o.split_list(c.target),
            "time": c.time, "features": o.split_list(c.features), "fill": c.fill,
            "test": None if c.test is None else str(c.test), "test_size": c.test_size,
            "period": c.period, "split": _parse_split(c.split), "sep": c.sep,
            "decimal": c.decimal}
    defaults = DATA_PRESETS.get(c.preset or "", {})
    spec = DataSpec(**{k: v if v not in (None, []) else defaults.get(k, v)
                       for k, v in data.items()})
    given = {k: v for k, v in c.settings().items() if v is not None
             and k in {*_names(SeriesOptions), *_names(SingleOptions), *_names(o.Training)}}
    forecaster = Forecaster.from_preset(c.preset or "default", **given)
    if c.csv is None:
        typer.echo("no --csv given: using the embedded series (weekly Mauna Loa CO2, "
                   "statsmodels); the last 10% of weeks are the test part", err=True)
    return ForecastTask(spec, forecaster)


def _names(part: type[o.Options]) -> set[str]:
    """The config names of the settings of ``part``."""
    return set(part.config_names().values())


def _is_panel(run: Path) -> bool:
    """Whether ``run`` holds a panel run (its config.json says group "panel")."""
    try:
        return json.loads((Path(run) / "config.json").read_text()).get("group") == "panel"
    except (OSError, ValueError, AttributeError):
        return False  # the forecast loader reports what is wrong with the folder


def _panel_task(c: ForecastOptions) -> object:
    """The `PanelTask` the options describe."""
    from rnnkit.errors import InputError
    from rnnkit.models.global_forecaster import (
        ONLY_FOR,
        TRAINING,
        GlobalConfig,
        GlobalForecaster,
    )
    from rnnkit.tasks.panel import BASELINES, PanelSpec, PanelTask

    if c.csv is None:
        raise InputError("--id/--wide need --csv FILE: the panel to forecast")
    targets = o.split_list(c.target)
    if len(targets) > 1:
        raise InputError(f"--target {','.join(targets)}: a panel forecasts one target per "
                         "series; name one column")
    baselines = o.split_list(c.baselines) or list(BASELINES)
    if baselines == ["none"]:
        baselines = []
    spec = PanelSpec(str(Path(c.csv).resolve()), targets[0] if targets else None, c.id,
                     c.time, o.split_list(c.static), o.split_list(c.past),
                     o.split_list(c.future), c.fill, c.sep, c.decimal, c.test_size, c.period,
                     baselines)
    settings = c.settings()
    model = {**{k: settings[k] for k in _names(SeriesOptions)},
             "quantiles": _numbers(c.quantiles, float, "--quantiles"),
             "likelihood": c.likelihood, "samples": c.samples, "scaling": c.scaling,
             "series_embedding": c.series_embedding, "windows_per_epoch": c.windows_per_epoch,
             "recent": c.recent, "calendar": c.calendar, "conformal": c.conformal,
             "model": c.model or "mqrnn"}
    if c.lags == "seasonal":
        model["lags"] = "seasonal"
    else:
        model["lags"] = _numbers(c.lags, int, "--lags")
    o.refuse([f"--{name}" for name, models in ONLY_FOR.items()
             if model[name] is not None and model["model"] not in models],
            f"not used by --model {model['model']} (only by deepar); leave them out")
    training = {k: settings[k] for k in _names(o.Training)}
    config, train = o.configured({k: v for k, v in {**model, **training}.items()
                                  if k != "lags" or v != "seasonal"},
                                 GlobalConfig(), TRAINING)
    return PanelTask(spec, GlobalForecaster(config, train), seasonal_lags=model["lags"] ==
                     "seasonal")


def _numbers(text: str | None, kind: type, option: str) -> list | None:
    from rnnkit.errors import InputError

    if text is None:
        return None
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise InputError(f"{option} {text!r}: expected numbers separated by commas") from err


def _panel_report(outcome: object) -> None:
    metrics, fc = outcome.metrics, outcome.task.estimator
    c = fc.config
    typer.echo(f"{metrics['series']} series, one forecast of {c.horizon} steps each from a "
               f"{c.lookback}-row lookback ({c.model}, {c.cell} {c.num_layers}x{c.hidden_size}, "
               f"{outcome.fit.epochs_run} epochs, {outcome.fit.seconds:.1f} s); seasonal "
               f"period {metrics['seasonal_period']}")
    _print_panel_table(metrics)


def _print_panel_table(metrics: dict) -> None:
    typer.echo(f"{'forecaster':<16}{'sMAPE':>8}{'MASE':>8}{'OWA':>8}{'MSIS':>9}{'cov80':>8}"
               f"{'cov95':>8}{'wQL':>8}")
    for name, m in metrics["metrics"].items():
        cells = [_defined(m.get(k), 8) for k in ("msis", "coverage_80", "coverage_95", "wql")]
        typer.echo(f"{name:<16}{m['smape']:>8.3f}{m['mase']:>8.3f}{m['owa']:>8.3f}"
                   f"{cells[0]:>9}{cells[1]}{cells[2]}{cells[3]}")
    skill = metrics.get("per_series_skill")
    if skill:
        typer.echo(f"per-series sMAPE skill over the best baseline: median {skill['q0.5']:+.1%}"
                   f", better on {skill['share_better']:.0%} of the series")
    fell = {name: n for name, n in metrics.get("baseline_fallbacks", {}).items() if n}
    if fell:
        typer.echo("baselines that could not be fitted on some series (Naive2 used there): "
                   + ", ".join(f"{name} on {n}" for name, n in fell.items()))
    if metrics["skipped_series"]:
        typer.echo(f"{len(metrics['skipped_series'])} series skipped (too short to forecast)")
    typer.echo(metrics["verdict"])


def _report(outcome: object) -> None:
    from rnnkit.models.forecaster import describe

    fc, metrics = outcome.task.estimator, outcome.metrics
    c = fc.config
    _print_table(metrics, f"{', '.join(fc.columns[0])}: {metrics['test_forecasts']} "
                 f"test forecasts of {c.horizon} step(s) from a {c.lookback}-row lookback "
                 f"({describe(c)}{f' x {c.ensemble}' if c.ensemble > 1 else ''}, "
                 f"{outcome.fit.epochs_run} epochs, {outcome.fit.seconds:.1f} s)")


def _show_forecasts(table: Any) -> None:
    if table.attrs.get("long"):  # a panel's long table: a file to read back
        typer.echo(table.to_csv(index=False, float_format="%.6g").rstrip())
    else:
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))


@app.command()
@o.prints(_show_forecasts, "the forecasts (one record per row)")
def predict(
    run: Run,
    csv: Path | None = typer.Option(None, help="Newer rows that continue the run's data, or a "
                                               "file long enough to forecast from alone."),
    horizon: int | None = typer.Option(None, help="Rows to forecast (default: the model's "
                                                  "horizon; more are fed back)."),
    rolling: bool = typer.Option(False, help="One-step forecasts through --csv (default: the "
                                             "run's data) from the true rows instead."),
) -> Any:  # a pandas DataFrame
    """Forecast with a trained run from where its data ends (training and test rows): dated
    rows with their prediction interval. Without --rolling, a fan chart of the forecast is
    written to RUN/plots/. A panel run (--id) forecasts every series of its data file (or of
    --csv, which then also holds the known-future covariates' rows) and prints the long
    table as CSV: id, time, forecast, one column per quantile.

    Example: rnnkit forecast predict --run runs/forecast-x --horizon 5

    Example: rnnkit forecast predict --run runs/forecast-x --csv newer.csv
    """
    data = None if csv is None else str(csv)
    if _is_panel(run):
        from rnnkit.tasks import panel as panel_task

        if rolling:
            o.refuse(["--rolling"], "not for a panel run (its forecasts are direct, from each "
                                   "series' last row)")
        table = panel_task.predict(run, data, horizon)
        table.attrs["long"] = True
        return table
    from rnnkit.tasks import forecast as task

    if rolling:
        return task.rolling(run, data)
    made = task.predict(run, data, horizon)
    if not made.timed:
        typer.echo("no regular frequency in the time column: the forecasts are numbered "
                   "by step", err=True)
    typer.echo(f"fan chart written to {task.fan_chart(run, made)}", err=True)
    return made.table


def _show_scores(metrics: dict) -> None:
    if "series" in metrics:  # a panel run
        typer.echo(f"{metrics['series']} series scored ({metrics['scope']})")
        _print_panel_table(metrics)
    else:
        _print_table(metrics, f"{metrics['test_forecasts']} forecasts scored "
                              f"({metrics['scope']})")


@app.command()
@o.prints(_show_scores, "the metrics")
def evaluate(
    run: Run,
    csv: Path | None = typer.Option(None, help="Data to score on (default: the run's)."),
    test_size: int | None = typer.Option(None, help="Score the last N rows (default: all)."),
    backtest: bool = typer.Option(False, help="Walk-forward backtest (with --stride, --retrain)."),
    stride: int = typer.Option(1, help="With --backtest: forecast from every N-th origin."),
    retrain: bool = typer.Option(False, help="With --backtest: refit before each origin."),
) -> dict:
    """Score a trained run on data, beside the naive baselines, walking forward in time.

    Example: rnnkit forecast evaluate --run runs/forecast-x --csv later.csv --test-size 100

    Example: rnnkit forecast evaluate --run runs/forecast-x --backtest --stride 24 --retrain
    """
    from rnnkit.errors import InputError
    from rnnkit.tasks.forecast import evaluate_run

    if _is_panel(run):
        from rnnkit.tasks.panel import evaluate_run as evaluate_panel

        o.refuse([name for name, given in (("--test-size", test_size is not None),
                                          ("--backtest", backtest)) if given],
                "not for a panel run: it scores each series' last --horizon rows")
        return evaluate_panel(run, None if csv is None else str(csv))
    if not backtest and (stride != 1 or retrain):
        raise InputError("--stride and --retrain belong to --backtest; add --backtest")
    return evaluate_run(run, None if csv is None else str(csv), test_size, stride, retrain)[1]


def _show_explanation(found: dict) -> None:
    head = (f"{found['series']}: forecast" if "series" in found
            else f"forecast from row {found['origin']}:")
    typer.echo(f"{head} " + ", ".join(f"{v:.4g}" for v in found["forecast"]))
    ratios = ", ".join(f"{r:.2e}" for r in found["gradient_first_last_ratio"])
    typer.echo(f"gradient reaching the oldest step / the newest, per layer: {ratios}")
    if found.get("influential_steps"):
        typer.echo("input steps that moved the forecast most:")
    for step in found.get("influential_steps", []):
        typer.echo(f"  row {step['row']:>6}  {step['time']:<20} value {step['value']:<10.4g}"
                   f" {step['share']:.1%} of the input gradient")
    typer.echo(f"figure written to {found['figure']}")


@app.command()
@o.prints(_show_explanation, "the findings")
def explain(
    run: Run,
    csv: Path | None = typer.Option(None, help="Data (default: the run's)."),
    origin: int | None = typer.Option(None, help="Row whose window is explained (default last)."),
    out: Path | None = typer.Option(None, help="Figure file (default RUN/explain-ORIGIN.png)."),
    series: str | None = typer.Option(None, help="Panel runs: the series whose last forecast "
                                                 "is explained."),
) -> dict:
    """The glass box on one forecast: gates per step, gradient through time, influential steps.

    Example: rnnkit forecast explain --run runs/forecast-x --origin 500

    Example: rnnkit forecast explain --run runs/panel-x --series H42
    """
    from rnnkit.tasks.forecast import explain as explain_task

    if _is_panel(run):
        from rnnkit.tasks.panel import explain as explain_panel

        if series is None:
            o.refuse(["--series"], "required for a panel run: name the series to explain")
        o.refuse(["--origin"] if origin is not None else [],
                "not for a panel run: it explains the forecast from the series' last row")
        return explain_panel(run, series, None if csv is None else str(csv), out)
    if series is not None:
        o.refuse(["--series"], "only for a panel run (trained with --id)")
    return explain_task(run, None if csv is None else str(csv), origin, out)
