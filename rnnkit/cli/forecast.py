"""``rnnkit forecast ...``: train, predict and evaluate recurrent forecasters on CSV data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from rnnkit.cli import options as o

app = typer.Typer(help="Forecast a time series from a CSV file (the main job).",
                  no_args_is_help=True)

TRAIN_EXAMPLE = """
Examples:

  rnnkit forecast train        # the embedded default: weekly Mauna Loa CO2, last 10% as test

  rnnkit forecast train --preset etth1-m --horizon 336 --csv $RNNKIT_DATA/etth1/ETTh1.csv

  rnnkit forecast train --preset seed --target Open \\
      --csv $RNNKIT_DATA/google_stock/Google_Stock_Price_Train.csv \\
      --test $RNNKIT_DATA/google_stock/Google_Stock_Price_Test.csv
"""


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
def train(
    csv: Path | None = typer.Option(None, help="CSV file; omitted: the embedded CO2 series."),
    target: list[str] = typer.Option(None, help="Column(s) to forecast (repeat or a,b)."),
    time: str | None = typer.Option(None, help="Time column (default: found by name; 'none')."),
    features: list[str] = typer.Option(None, help="Extra input columns (repeat or a,b)."),
    fill: str | None = typer.Option(None, help="Missing values: ffill, interpolate or drop."),
    sep: str | None = typer.Option(None, help="Column separator: ',', ';' or '\\t' "
                                              "(default: detected)."),
    decimal: str | None = typer.Option(None, help="Decimal mark: '.' or ',' (default: "
                                                  "detected)."),
    test: Path | None = typer.Option(None, help="Test CSV that follows --csv in time."),
    test_size: int | None = typer.Option(None, help="Last N rows as the test part (default 10%)."),
    split: str | None = typer.Option(None, help="Row counts TRAIN,VAL,TEST from the start."),
    preset: str | None = typer.Option(None, help="Named settings: 'seed' = the tutorial exactly."),
    model: str | None = typer.Option(None, help="rnn (encoder + head) or segrnn."),
    cell: str | None = typer.Option(None, help="lstm, gru, rnn, irnn, peephole, cifg or esn."),
    hidden_size: int | None = typer.Option(None, help="Units per recurrent layer."),
    layers: int | None = typer.Option(None, help="Stacked recurrent layers."),
    dropout: float | None = typer.Option(None, help="Dropout between recurrent layers."),
    lookback: int | None = typer.Option(None, help="Past rows per input window."),
    horizon: int | None = typer.Option(None, help="Future rows predicted at once."),
    normalize: str | None = typer.Option(None, help="Per window: last, revin or none."),
    channel_independent: bool | None = typer.Option(
        None, "--channel-independent/--joint", help="One shared model per channel."),
    segment_length: int | None = typer.Option(None, help="SegRNN segment length."),
    ensemble: int | None = typer.Option(
        None, help="Networks trained in turn (seeds seed, seed+1, ...; each its own early "
                   "stopping), their forecasts averaged (default 1)."),
    spectral_radius: float | None = typer.Option(None, help="ESN: largest |eigenvalue| of W."),
    leak_rate: float | None = typer.Option(None, help="ESN: leak rate in (0, 1]."),
    ridge: float | None = typer.Option(None, help="ESN: ridge of the readout."),
    washout: int | None = typer.Option(None, help="ESN: training steps left out of the fit "
                                                  "(at most --lookback)."),
    scaler: str | None = typer.Option(None, help="standard, minmax or identity."),
    period: int | None = typer.Option(None, help="Seasonal period for the seasonal naive."),
    loss: str | None = typer.Option(None, help="Training loss: mse or mae."),
    interval: float | None = typer.Option(None, help="Prediction interval level (0.9)."),
    val_fraction: float | None = typer.Option(None, help="Share of training rows for validation."),
    *,
    common: o.Training,
) -> None:
    """Train a forecaster, judge it beside naive baselines on held-out data, write a run.
    """

    def build() -> object:
        from rnnkit.models.forecaster import DATA_PRESETS, Forecaster
        from rnnkit.tasks.forecast import DataSpec, ForecastTask

        data = {"csv": None if csv is None else str(csv), "target": o.split_list(target),
                "time": time, "features": o.split_list(features), "fill": fill,
                "test": None if test is None else str(test), "test_size": test_size,
                "period": period, "split": _parse_split(split), "sep": sep, "decimal": decimal}
        defaults = DATA_PRESETS.get(preset or "", {})
        spec = DataSpec(**{k: v if v not in (None, []) else defaults.get(k, v)
                           for k, v in data.items()})
        given = {
            "model": model, "cell": cell, "hidden_size": hidden_size, "num_layers": layers,
            "dropout": dropout, "lookback": lookback, "horizon": horizon,
            "normalize": normalize, "channel_independent": channel_independent,
            "segment_length": segment_length, "spectral_radius": spectral_radius,
            "leak_rate": leak_rate, "ridge": ridge, "washout": washout, "ensemble": ensemble,
            "scaler": scaler, "loss": loss, "interval": interval,
            "val_fraction": val_fraction, **common.settings(),
        }
        forecaster = Forecaster.from_preset(
            preset or "default", **{k: v for k, v in given.items() if v is not None})
        if csv is None:
            typer.echo("no --csv given: using the embedded series (weekly Mauna Loa CO2, "
                       "statsmodels); the last 10% of weeks are the test part", err=True)
        return ForecastTask(spec, forecaster)

    o.run_training("forecast", build, common, report=_report)


def _report(outcome: object) -> None:
    from rnnkit.models.forecaster import describe

    fc, metrics = outcome.task.estimator, outcome.metrics
    c = fc.config
    _print_table(metrics, f"{', '.join(fc.columns[0])}: {metrics['test_forecasts']} "
                 f"test forecasts of {c.horizon} step(s) from a {c.lookback}-row lookback "
                 f"({describe(c)}{f' x {c.ensemble}' if c.ensemble > 1 else ''}, "
                 f"{outcome.fit.epochs_run} epochs, {outcome.fit.seconds:.1f} s)")


@app.command()
def predict(
    run: o.Run,
    csv: Path | None = typer.Option(None, help="Newer rows that continue the run's data, or a "
                                               "file long enough to forecast from alone."),
    horizon: int | None = typer.Option(None, help="Rows to forecast (default: the model's "
                                                  "horizon; more are fed back)."),
    rolling: bool = typer.Option(False, help="One-step forecasts through --csv (default: the "
                                             "run's data) from the true rows instead."),
    as_json: o.Json = False,
) -> None:
    """Forecast with a trained run from where its data ends (training and test rows): dated
    rows with their prediction interval. Without --rolling, a fan chart of the forecast is
    written to RUN/plots/.

    Example: rnnkit forecast predict --run runs/forecast-x --horizon 5

    Example: rnnkit forecast predict --run runs/forecast-x --csv newer.csv
    """
    from rnnkit.tasks import forecast as task

    if rolling:
        table = task.rolling(run, None if csv is None else str(csv))
    else:
        made = task.predict(run, None if csv is None else str(csv), horizon)
        table = made.table
        if not made.timed:
            typer.echo("no regular frequency in the time column: the forecasts are numbered "
                       "by step", err=True)
        typer.echo(f"fan chart written to {task.fan_chart(run, made)}", err=True)
    if as_json:
        typer.echo(table.to_json(orient="records", date_format="iso"))
    else:
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))


@app.command()
def evaluate(
    run: Path = typer.Option(..., help="A run folder written by 'rnnkit forecast train'."),
    csv: Path | None = typer.Option(None, help="Data to score on (default: the run's)."),
    test_size: int | None = typer.Option(None, help="Score the last N rows (default: all)."),
    backtest: bool = typer.Option(False, help="Walk-forward backtest (with --stride, --retrain)."),
    stride: int = typer.Option(1, help="With --backtest: forecast from every N-th origin."),
    retrain: bool = typer.Option(False, help="With --backtest: refit before each origin."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
) -> None:
    """Score a trained run on data, beside the naive baselines, walking forward in time.

    Example: rnnkit forecast evaluate --run runs/forecast-x --csv later.csv --test-size 100

    Example: rnnkit forecast evaluate --run runs/forecast-x --backtest --stride 24 --retrain
    """
    from rnnkit.errors import InputError
    from rnnkit.tasks.forecast import evaluate_run

    if not backtest and (stride != 1 or retrain):
        raise InputError("--stride and --retrain belong to --backtest; add --backtest")
    _, metrics = evaluate_run(run, None if csv is None else str(csv), test_size, stride, retrain)
    if as_json:
        typer.echo(json.dumps(metrics))
    else:
        _print_table(metrics, f"{metrics['test_forecasts']} forecasts scored ({metrics['scope']})")


@app.command()
def explain(
    run: Path = typer.Option(..., help="A run folder written by 'rnnkit forecast train'."),
    csv: Path | None = typer.Option(None, help="Data (default: the run's)."),
    origin: int | None = typer.Option(None, help="Row whose window is explained (default last)."),
    out: Path | None = typer.Option(None, help="Figure file (default RUN/explain-ORIGIN.png)."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as one JSON object."),
) -> None:
    """The glass box on one forecast: gates per step, gradient through time, influential steps.

    Example: rnnkit forecast explain --run runs/forecast-x --origin 500
    """
    from rnnkit.tasks.forecast import explain as explain_task

    found = explain_task(run, None if csv is None else str(csv), origin, out)
    if as_json:
        typer.echo(json.dumps(found))
        return
    typer.echo(f"forecast from row {found['origin']}: "
               + ", ".join(f"{v:.4g}" for v in found["forecast"]))
    ratios = ", ".join(f"{r:.2e}" for r in found["gradient_first_last_ratio"])
    typer.echo(f"gradient reaching the oldest step / the newest, per layer: {ratios}")
    typer.echo("input steps that moved the forecast most:")
    for step in found["influential_steps"]:
        typer.echo(f"  row {step['row']:>6}  {step['time']:<20} value {step['value']:<10.4g}"
                   f" {step['share']:.1%} of the input gradient")
    typer.echo(f"figure written to {found['figure']}")
