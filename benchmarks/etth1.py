"""ETTh1 long-horizon benchmark (the LTSF protocol) for rnnkit's SegRNN; prints one JSON object.

Usage: RNNKIT_DATA=../shared/data python benchmarks/etth1.py [--quick] [--jobs 2] [--ensemble 2]

Splits by row: train 0..8640, validation 8640-L..11520, test 11520-L..14400; standard
scaling fit on the training rows; MSE and MAE on the scaled values over every test window
(stride 1, none dropped). Settings: multivariate "M" (7 in, 7 out, L = 96) and univariate
"S" (OT, L = 336); horizons 96, 192, 336, 720 (``--quick``: 96 only). Persistence is scored
on the same windows. ``--seeds 0 1 2`` trains one model per seed and adds their mean
(``summary``; the protocol where a GPU is lent). ``--jobs N`` trains N models at a time,
each in its own process with ``--threads`` threads (the longest first); the output is the
same one JSON object.
``--ensemble K`` scores, for each seed s, the ensemble of the K networks of seeds s .. s+K-1
(what ``rnnkit forecast train --ensemble K --seed s`` trains: each network on its own, its
forecasts averaged); the networks are trained as separate jobs and joined
(`Forecaster.join`), and each one's own test MSE is reported beside the ensemble's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

from rnnkit.data.series import Series
from rnnkit.models.forecaster import DATA_PRESETS, PRESETS, Forecaster
from rnnkit.tasks.forecast import DataSpec, _test_evaluation, split
from rnnkit.train.device import set_cpu_threads
from rnnkit.train.settings import PRECISIONS

ANCHORS = {  # published MSE: SegRNN (M, L=96, fixed framework) and NLinear (S, L=336)
    "M": {"SegRNN": [0.368, 0.408, 0.444, 0.446]},
    "S": {"NLinear": [0.053, 0.069, 0.081, 0.080]},
}
HORIZONS = [96, 192, 336, 720]


def setup(setting: str, horizon: int, seed: int, args: argparse.Namespace,
          ensemble: int = 1) -> tuple[Forecaster, Series, int, int]:
    """The preset's forecaster (``ensemble`` networks) and the split data: the series, the
    first test row, the first validation row."""
    preset = "etth1-m" if setting == "M" else "etth1-s"
    data = DATA_PRESETS[preset]
    spec = DataSpec(csv=str(Path(os.environ["RNNKIT_DATA"]) / "etth1" / "ETTh1.csv"),
                    target=data["target"], split=data["split"])
    chosen = {"epochs": args.epochs, "patience": args.patience, "lr": args.lr,
              "max_minutes": args.max_minutes, "precision": args.precision}
    fc = Forecaster.from_preset(preset, horizon=horizon, hidden_size=args.hidden, seed=seed,
                                device=args.device, ensemble=ensemble,
                                **{k: v for k, v in chosen.items() if v is not None})
    data = split(spec, fc.config.lookback, horizon)
    return fc, data.series, data.first_test, data.val_start


def score(fc: Forecaster, series: Series, first_test: int, setting: str, horizon: int,
          seed: int) -> dict:
    """Test MSE/MAE of ``fc`` and of persistence over every test window, and the coverage."""
    ev = _test_evaluation(fc, series, first_test, period=24)
    return {
        "setting": setting, "horizon": horizon, "seed": seed, "lookback": fc.config.lookback,
        "test_windows": len(ev.origins),
        "mse": round(ev.scaled["model"]["mse"], 4), "mae": round(ev.scaled["model"]["mae"], 4),
        "persistence_mse": round(ev.scaled["persistence"]["mse"], 4),
        "persistence_mae": round(ev.scaled["persistence"]["mae"], 4),
        "interval_coverage_90": round(ev.interval["coverage"], 3) if ev.interval else None,
        "lr": fc.train_config.lr, "lr_schedule": fc.train_config.lr_schedule,
        "max_epochs": fc.train_config.epochs,
    }


def train_one(setting: str, horizon: int, seed: int, args: argparse.Namespace) -> dict:
    """Train one network with ``seed``: its scores, and its state and weights (numpy) so that
    the main process can join networks into ensembles."""
    set_cpu_threads(args.threads)
    fc, series, first_test, val_start = setup(setting, horizon, seed, args)
    start = time.perf_counter()
    result = fc.fit(series.slice(0, first_test), val_start, progress=False)
    seconds = time.perf_counter() - start
    row = {**score(fc, series, first_test, setting, horizon, seed),
           "train_seconds": round(seconds, 1), "epochs_run": result.epochs_run,
           "best_epoch": result.best_epoch, "precision": result.precision,
           "best_val_loss": round(result.history["val_loss"][result.best_epoch - 1], 4)
           if result.best_epoch else None}
    weights = {k: v.cpu().numpy() for k, v in fc.net.state_dict().items()}
    return {"row": row, "state": fc.state(), "scaler": fc.scaler.to_dict(), "weights": weights}


def join(setting: str, horizon: int, seed: int, trained: list[dict],
         args: argparse.Namespace) -> dict:
    """The ensemble of the networks in ``trained`` (seeds seed, seed + 1, ...): exactly what
    ``--ensemble K --seed seed`` trains (`Forecaster.join`), scored like one network."""
    fc, series, first_test, val_start = setup(setting, horizon, seed, args, len(trained))
    members = [Forecaster.from_state(t["state"], t["scaler"],
                                     {k: torch.from_numpy(v) for k, v in t["weights"].items()},
                                     "member")
               for t in trained]
    fc.join(members, series.slice(0, first_test), val_start)
    rows = [t["row"] for t in trained]
    return {**score(fc, series, first_test, setting, horizon, seed),
            "member_seeds": [r["seed"] for r in rows], "member_mse": [r["mse"] for r in rows],
            "train_seconds": round(sum(r["train_seconds"] for r in rows), 1),
            "epochs_run": [r["epochs_run"] for r in rows],
            "best_epoch": [r["best_epoch"] for r in rows],
            "best_val_loss": [r["best_val_loss"] for r in rows]}


def judge(row: dict, setting: str, horizon: int) -> dict:
    """Add the published anchor and the verdicts (beats persistence, at or below the anchor)."""
    anchor_name, anchor = next(iter(ANCHORS[setting].items()))
    published = anchor[HORIZONS.index(horizon)]
    row[f"{anchor_name}_published_mse"] = published
    row["beats_persistence"] = row["mse"] < row["persistence_mse"]
    row["at_or_below_anchor"] = row["mse"] <= published
    return row


def preset_default(name: str) -> str:
    """Help text: a training setting's value in the two presets."""
    return f"default: the preset's (M {getattr(PRESETS['etth1-m'][1], name)}, " \
        f"S {getattr(PRESETS['etth1-s'][1], name)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="H = 96 only, both settings")
    parser.add_argument("--epochs", type=int, default=None,
                        help=preset_default("epochs"))
    parser.add_argument("--patience", type=int, default=None,
                        help=preset_default("patience"))
    parser.add_argument("--lr", type=float, default=None, help=preset_default("lr"))
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="one model per seed; with several, 'summary' gives their mean")
    parser.add_argument("--ensemble", type=int, default=1,
                        help="networks per reported model (seeds s .. s+K-1), forecasts "
                             "averaged")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per model")
    parser.add_argument("--jobs", type=int, default=1, help="models trained at a time")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--settings", nargs="+", choices=["M", "S"], default=["M", "S"],
                        help="run only these settings")
    parser.add_argument("--horizons", nargs="+", type=int, choices=HORIZONS, default=None,
                        help="run only these horizons (default: all; --quick: 96)")
    parser.add_argument("--precision", default="32", choices=PRECISIONS,
                        help="Lightning's training precision (bf16-mixed: where supported)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="training budget per model (default: none, the preset's epochs)")
    args = parser.parse_args()
    set_cpu_threads(args.threads)
    start = time.perf_counter()
    chosen = args.horizons or (HORIZONS[:1] if args.quick else HORIZONS)
    k = args.ensemble  # each reported seed s: the networks of seeds s .. s + k - 1
    tasks = sorted({(setting, horizon, seed + j) for setting in args.settings
                    for horizon in chosen for seed in args.seeds for j in range(k)})
    if args.jobs > 1:  # the longest first (M before S, long horizons before short)
        order = sorted(tasks, key=lambda t: (t[0] != "M", -t[1]))
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            futures = {task: pool.submit(train_one, *task, args) for task in order}
            trained = {task: futures[task].result() for task in tasks}
    else:
        trained = {task: train_one(*task, args) for task in tasks}
    rows = []
    for setting in args.settings:
        for horizon in chosen:
            for seed in args.seeds:
                if k == 1:
                    rows.append(trained[(setting, horizon, seed)]["row"])
                else:
                    rows.append(join(setting, horizon, seed, [
                        trained[(setting, horizon, seed + j)] for j in range(k)], args))
    for row in rows:
        judge(row, row["setting"], row["horizon"])
    summary = []  # over the seeds: the mean of each score, and each seed's MSE
    for setting in args.settings:
        for horizon in chosen:
            runs = [r for r in rows if (r["setting"], r["horizon"]) == (setting, horizon)]
            mean = {key: round(statistics.fmean(r[key] for r in runs), 4)
                    for key in ("mse", "mae", "persistence_mse", "persistence_mae")}
            summary.append(judge({"setting": setting, "horizon": horizon, **mean,
                                  "mse_each": [r["mse"] for r in runs],
                                  "mse_std": round(statistics.pstdev(r["mse"] for r in runs), 4)},
                                 setting, horizon))
    print(json.dumps({"quick": args.quick, "settings": args.settings, "horizons": chosen,
                      "hidden": args.hidden, "ensemble": args.ensemble, "jobs": args.jobs,
                      "threads": args.threads, "seeds": args.seeds, "results": rows,
                      "summary": summary,
                      "total_seconds": round(time.perf_counter() - start, 1)}))


if __name__ == "__main__":
    main()
