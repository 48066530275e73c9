"""The adding problem at T = 100 and 200: final test MSE and time per cell; prints one JSON object.

Usage: python benchmarks/adding.py [--out DIR] [--lengths 100 200]

Each cell trains with its own learning rate (rnnkit.experiments.models.CONTENDERS) and its own
number of steps (STEPS below: what it needs here, within the CPU budget), batch 64, hidden 64,
gradient norm clipped at 1, on the same data (seed 0), on one CPU thread. Every (T, cell) run
is a full run folder under --out; the learning curves of each T are drawn together in
--out/adding_T<T>.png. The IRNN gets more steps: they are cheap (one matrix, no gates), about
the CPU time of the LSTM's 3000. Targets: lstm, gru and irnn below 0.01, rnn above 0.1 (it
fails: the vanishing gradient; rnn_orth is reported without a target), and the whole
benchmark under 30 minutes of CPU time.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from rnnkit.data.synthetic import ADDING_BASELINE_MSE
from rnnkit.experiments.long_range import LongRangeConfig, run_long_range
from rnnkit.io import save_figure
from rnnkit.plots.gradients import learning_curves_figure
from rnnkit.train.device import set_cpu_threads

STEPS = {"rnn": 3000, "rnn_orth": 3000, "irnn": 10000, "lstm": 3000, "gru": 3000}
TARGETS = {"rnn": "fails", "irnn": "solves", "lstm": "solves", "gru": "solves"}
SOLVED, FAILS = 0.01, 0.1


def met(mse: float, goal: str) -> bool:
    return mse > FAILS if goal == "fails" else mse < SOLVED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = Path("runs") / time.strftime("bench-adding-%Y%m%d-%H%M%S")
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 200])
    args = parser.parse_args()
    set_cpu_threads(1)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    result: dict = {"settings": {"steps": STEPS, "batch_size": 64, "hidden_size": 64, "clip": 1.0,
                                 "seed": 0, "threads": 1, "torch": torch.__version__,
                                 "machine": platform.machine()}}
    for length in args.lengths:
        curves, row = {}, {}
        for cell, steps in STEPS.items():
            config = LongRangeConfig(task="adding", length=length, cells=(cell,), steps=steps,
                                     eval_every=250, device="cpu")
            cpu = time.process_time()
            _, metrics = run_long_range(config, args.out / f"T{length}-{cell}")
            m, curve = metrics["metrics"][cell], metrics["curves"][cell]
            curves[cell] = (curve["steps"], curve["test"])
            row[cell] = {"test_mse": round(m["final"], 5), "best_mse": round(m["best"], 5),
                         "steps": steps, "lr": m["lr"], "wall_s": round(m["wall_time_s"], 1),
                         "cpu_s": round(time.process_time() - cpu, 1)}
        figure = learning_curves_figure(
            curves, ADDING_BASELINE_MSE, "baseline (predict 1: 0.167)", "test MSE",
            f"adding problem T={length}, hidden 64, batch 64",
        )
        save_figure(figure, args.out / f"adding_T{length}.png", dpi=90)
        result[f"T{length}"] = row
    result["targets_met"] = {
        f"T{length}": {cell: met(result[f"T{length}"][cell]["test_mse"], goal)
                       for cell, goal in TARGETS.items()}
        for length in args.lengths
    }
    result["total_cpu_s"] = round(time.process_time() - start_cpu, 1)
    result["total_wall_s"] = round(time.perf_counter() - start_wall, 1)
    result["runs"] = str(args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
