"""rnnkit at scale: a long CSV series, data-parallel training, resume checkpoints; prints one
JSON object.

Usage: python benchmarks/scale.py [--rows 5000000] [--columns 8] [--skip-ddp]

1. Memory and throughput. A synthetic series of ``--rows`` rows x ``--columns`` float columns
   (the first is the target) is written as CSV into a temporary folder (in chunks, so writing
   it costs little memory), read through `read_series`, and a small LSTM forecaster
   (lookback 32, hidden 16) trains one epoch on it. Peak memory: the kernel's peak resident
   size of the process (``VmHWM``, reset just before reading, so nothing before counts) minus
   the resident size then, over reading, training and timing the loader, divided by the
   float32 size of the data (target: under 3). A tiny forecaster is trained first, so that
   one-off costs (library code paged in, Lightning set up: ~60 MB) are not counted as data
   memory. Throughput: windows per second of the
   training data loader alone, and of the whole training epoch.
2. Data-parallel training. ``rnnkit forecast train --preset seed`` on the embedded series
   (4 x LSTM(50), batch 32), a few epochs, with 1 process and with ``--devices 2 --strategy
   ddp``: wall time of each command (process start included) and the training seconds.
   On a 2-core CPU shared by 2 processes DDP is not faster; the point is that it runs and
   matches (tests/train/test_distributed.py checks the result).
3. Resume overhead: seconds to write and to read one epoch checkpoint (weights, Adam state,
   best weights, random states) of the seed preset's network and of the benchmark's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.series import Series, read_series
from rnnkit.data.windows import origins_between
from rnnkit.models.forecaster import Forecaster, ForecasterConfig
from rnnkit.train.checkpoint import Checkpoint, load_checkpoint, rng_state, save_checkpoint
from rnnkit.train.device import set_cpu_threads
from rnnkit.train.settings import TrainSettings

LOOKBACK, HIDDEN, BATCH = 32, 16, 1024


def resident_mb() -> tuple[float, float]:
    """The process's resident memory now and its peak since `reset_peak`, in MB (Linux)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return tuple(int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))


def reset_peak() -> None:
    """Set the kernel's peak resident size (VmHWM) of this process to its current size."""
    Path("/proc/self/clear_refs").write_text("5")


def write_csv(path: Path, rows: int, columns: int, chunk: int = 250_000) -> None:
    """A noisy multi-seasonal series, written chunk by chunk."""
    rng = np.random.default_rng(0)
    names = [f"c{k}" for k in range(columns)]
    with path.open("w") as f:
        f.write(",".join(names) + "\n")
        for start in range(0, rows, chunk):
            t = np.arange(start, min(start + chunk, rows))[:, None]
            period = 24.0 * (1 + np.arange(columns))[None, :]
            block = np.sin(2 * np.pi * t / period) + 0.1 * rng.standard_normal((len(t), columns))
            np.savetxt(f, block, delimiter=",", fmt="%.5f")


def forecaster(device: str) -> Forecaster:
    """The benchmark's forecaster: LSTM(16), lookback 32, one epoch, batch 1024."""
    return Forecaster(ForecasterConfig(lookback=LOOKBACK, hidden_size=HIDDEN, num_layers=1),
                      TrainSettings(epochs=1, batch_size=BATCH, patience=None, device=device))


def memory_and_throughput(rows: int, columns: int, device: str) -> dict:
    warm_up = np.random.default_rng(0).standard_normal((2 * BATCH, columns))
    forecaster(device).fit(Series(warm_up, ["c0"], [f"c{k}" for k in range(1, columns)]),
                           progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "series.csv"
        start = time.perf_counter()
        write_csv(csv, rows, columns)
        write_seconds = time.perf_counter() - start
        csv_mb = csv.stat().st_size / 2**20
        reset_peak()
        before, _ = resident_mb()
        start = time.perf_counter()
        series = read_series(csv, ["c0"], "none", [f"c{k}" for k in range(1, columns)])
        read_seconds = time.perf_counter() - start
        _, after_read = resident_mb()
    data_mb = rows * columns * 4 / 2**20

    model = forecaster(device)
    fit = model.fit(series, progress=False)
    _, after_training = resident_mb()
    train_windows = int((1 - model.config.val_fraction) * rows) - LOOKBACK

    # the training loader alone: every window of the series, scaled batch by batch
    loader = model.loader(series, origins_between(LOOKBACK, rows, 1, LOOKBACK), BATCH,
                               shuffle=True)
    start = time.perf_counter()
    n = sum(len(xb) for xb, _ in loader)
    loader_seconds = time.perf_counter() - start
    del loader
    _, peak = resident_mb()
    return {
        "rows": rows, "columns": columns, "csv_mb": round(csv_mb, 1),
        "data_float32_mb": round(data_mb, 1), "write_csv_seconds": round(write_seconds, 1),
        "read_seconds": round(read_seconds, 2),
        "rows_per_second_read": round(rows / read_seconds),
        "resident_mb_before_reading": round(before, 1),
        "peak_over_data_after_read": round((after_read - before) / data_mb, 2),
        "peak_over_data_after_training": round((after_training - before) / data_mb, 2),
        "peak_over_data_whole_run": round((peak - before) / data_mb, 2),
        "peak_target": 3.0,
        "loader_windows_per_second": round(n / loader_seconds),
        "training_epoch_seconds": round(fit.seconds, 2),
        "training_windows_per_second": round(train_windows / fit.seconds),
        "model": f"LSTM({HIDDEN}), lookback {LOOKBACK}, batch {BATCH}",
    }


def ddp_versus_one(epochs: int) -> dict:
    base = [sys.executable, "-m", "rnnkit.cli.main", "forecast", "train", "--preset", "seed",
            "--epochs", str(epochs), "--device", "cpu", "--quiet", "--json"]
    result = {"command": " ".join(["rnnkit", *base[3:]]), "epochs": epochs}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("one_process", []), ("ddp_2_processes",
                                                  ["--devices", "2", "--strategy", "ddp"])):
            start = time.perf_counter()
            done = subprocess.run([*base, *extra, "--out", str(Path(tmp) / name)],
                                  capture_output=True, text=True, check=True)
            metrics = json.loads(done.stdout)
            result[name] = {"wall_seconds": round(time.perf_counter() - start, 1),
                            "training_seconds": round(metrics["training"]["seconds"], 1),
                            "final_train_loss": metrics["training"]["history"]["train_loss"][-1],
                            "test_rmse": metrics["metrics"]["model"]["rmse"]}
    return result


def checkpoint_cost(net: torch.nn.Module, repeats: int = 5) -> dict:
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.randn(2, LOOKBACK, net.config.n_targets + net.config.n_features)).sum().backward()
    optimizer.step()  # Adam's moments exist
    state = Checkpoint(epoch=1, model=net.state_dict(), optimizer=optimizer.state_dict(),
                       rng=rng_state(None),
                       best_state={k: v.clone() for k, v in net.state_dict().items()})
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for epoch in range(1, repeats + 1):
            state.epoch = epoch
            save_checkpoint(Path(tmp), state)
        save = (time.perf_counter() - start) / repeats
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        start = time.perf_counter()
        for _ in range(repeats):
            load_checkpoint(Path(tmp))
        load = (time.perf_counter() - start) / repeats
    return {"parameters": sum(p.numel() for p in net.parameters()), "bytes": size,
            "save_seconds": round(save, 4), "load_seconds": round(load, 4)}


def resume_overhead() -> dict:
    from rnnkit.models.forecast_nets import forecast_network
    from rnnkit.models.forecaster import PRESETS

    seed_model, _ = PRESETS["seed"]
    return {
        "seed_preset": checkpoint_cost(forecast_network(ForecasterConfig(**seed_model))),
        "benchmark_model": checkpoint_cost(forecast_network(ForecasterConfig(
            lookback=LOOKBACK, hidden_size=HIDDEN, num_layers=1, n_features=7))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda (training)")
    parser.add_argument("--ddp-epochs", type=int, default=3, help="epochs of the seed preset")
    parser.add_argument("--skip-ddp", action="store_true", help="leave out part 2")
    args = parser.parse_args()
    set_cpu_threads(1)
    report = {"benchmark": "scale", "machine": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(),
              "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "memory_and_throughput": memory_and_throughput(args.rows, args.columns,
                                                             args.device),
              "resume_overhead": resume_overhead()}
    if not args.skip_ddp:
        report["ddp_seed_preset"] = ddp_versus_one(args.ddp_epochs)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
