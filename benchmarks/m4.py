"""M4 Hourly and Weekly: rnnkit's global recurrent forecasters trained across all series of a
frequency, scored exactly as M4 scored (rnnkit.evaluate.m4 / panel_scores) beside the
per-series baselines and the competition's published figures; prints one JSON object.

    RNNKIT_DATA=/work/shared/data python benchmarks/m4.py [--frequency Hourly Weekly]
        [--models mqrnn esrnn deepar] [--minutes 18] [--seed 0] [--threads 1]

Reads ``$RNNKIT_DATA/m4/{Hourly,Weekly}-{train,test}.csv``. Each model is trained on every
series' training part (its last horizon rows validate and choose the epoch), forecasts the
test horizon (Hourly 48 with m = 24, Weekly 13 with m = 1) and is scored with sMAPE, MASE, OWA
against Naive2, MSIS of its 95% interval (q0.025..q0.975), the coverage of its 80% and 95%
intervals and the weighted quantile loss. The baselines (seasonal naive, Naive2, Theta, ETS;
statsmodels) are scored on the same series. ``--minutes`` bounds each model's training (the
issue's budget: 20 minutes per frequency on the 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from rnnkit.data.panel import read_m4
from rnnkit.models.global_forecaster import GlobalConfig, GlobalForecaster
from rnnkit.tasks.panel import BASELINES, score
from rnnkit.train.settings import TrainSettings

SEASON = {"Hourly": 24, "Weekly": 1}
HORIZON = {"Hourly": 48, "Weekly": 13}
PUBLISHED = {  # sMAPE, MASE, OWA from $RNNKIT_DATA/m4/README.md
    "Hourly": {"ES-RNN": (9.328, 0.893, 0.440), "best": (8.913, 0.801, 0.410),
               "Theta": (18.138, 2.455, 1.006), "seasonal naive": (13.912, 1.193, 0.627),
               "per-series RNN": (14.698, 3.048, 1.036)},
    "Weekly": {"ES-RNN": (7.817, 2.356, 0.851), "best": (6.582, 2.107, 0.739),
               "Theta": (9.093, 2.637, 0.971), "seasonal naive": (9.161, 2.777, 1.000),
               "per-series RNN": (15.220, 5.132, 1.755)},
}
#: The settings measured per frequency and model (the README quotes their results).
CONFIGS = {
    "Hourly": {
        "mqrnn": GlobalConfig(model="mqrnn", lookback=168, horizon=48, hidden_size=64,
                              num_layers=2, season=24, calendar=False),
        "esrnn": GlobalConfig(model="esrnn", lookback=168, horizon=48, hidden_size=64,
                              num_layers=2, season=24, calendar=False),
        "deepar": GlobalConfig(model="deepar", lookback=168, horizon=48, hidden_size=64,
                               num_layers=2, season=24, lags=(24, 168), samples=100,
                               likelihood="student_t", calendar=False),
    },
    "Weekly": {
        "mqrnn": GlobalConfig(model="mqrnn", lookback=52, horizon=13, hidden_size=64,
                              num_layers=2, season=1, calendar=False),
        "esrnn": GlobalConfig(model="esrnn", lookback=52, horizon=13, hidden_size=64,
                              num_layers=2, season=1, calendar=False),
        "deepar": GlobalConfig(model="deepar", lookback=52, horizon=13, hidden_size=64,
                               num_layers=2, season=1, samples=100, likelihood="student_t",
                               calendar=False),
    },
}
TRAINING = TrainSettings(epochs=200, batch_size=128, lr=3e-3, clip=1.0, patience=20)
#: The model each frequency runs by default: the one that scored best in the runs above.
DEFAULT_MODELS = {"Hourly": ["esrnn"], "Weekly": ["esrnn"]}


def run(frequency: str, models: list[str], minutes: float, seed: int) -> dict:
    data = Path(os.environ["RNNKIT_DATA"]) / "m4"
    train, test = read_m4(data / f"{frequency}-train.csv", data / f"{frequency}-test.csv")
    result: dict = {"series": len(train), "horizon": HORIZON[frequency],
                    "m": SEASON[frequency], "published": {
                        name: dict(zip(("smape", "mase", "owa"), v, strict=True))
                        for name, v in PUBLISHED[frequency].items()}}
    baselines = None
    for name in models:
        fc = GlobalForecaster(CONFIGS[frequency][name],
                              replace(TRAINING, max_minutes=minutes, seed=seed))
        start = time.perf_counter()
        fit = fc.fit(train, progress=False)
        seconds = time.perf_counter() - start
        scored = score(fc, train, test, SEASON[frequency],
                       list(BASELINES) if baselines is None else ["naive2"])
        model = {k: round(v, 4) for k, v in scored.overall["model"].items()
                 if isinstance(v, float)}
        result[name] = {**model, "train_seconds": round(seconds, 1),
                        "epochs": fit.epochs_run, "best_epoch": fit.best_epoch,
                        "out_of_time": fit.out_of_time, "verdict": scored.verdict}
        if baselines is None:
            baselines = {b: {k: round(v, 4) for k, v in scored.overall[b].items()
                             if isinstance(v, float)} for b in BASELINES}
    result["baselines"] = baselines
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frequency", choices=sorted(SEASON), nargs="+",
                        default=sorted(SEASON))
    parser.add_argument("--models", choices=["mqrnn", "esrnn", "deepar"], nargs="+",
                        help="default: esrnn (the best of the three on both)")
    parser.add_argument("--minutes", type=float, default=18.0,
                        help="training budget per model and frequency")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared 2-core machine two threads wait "
                             "on each other)")
    args = parser.parse_args()
    if "RNNKIT_DATA" not in os.environ:
        parser.error("RNNKIT_DATA is not set: point it at the shared datasets folder")
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = {f: run(f, args.models or DEFAULT_MODELS[f], args.minutes, args.seed)
              for f in args.frequency}
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["date"] = time.strftime("%Y-%m-%d")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
