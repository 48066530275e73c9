"""Memory of a global forecaster's training epoch on a large synthetic panel; prints one JSON
object.

    python benchmarks/panel_scale.py [--series 100000] [--length 1000] [--windows 65536]

Builds S series x T steps (float64 in the panel, as every reader makes it), trains one epoch
of ``--windows`` windows drawn across all series (batch 256, MQ-RNN LSTM(32), lookback 48,
horizon 24) plus the validation pass over every series, and reports the process's peak
resident memory against the data's float32 size (S * T * 4 bytes): windows are cut batch by
batch from the panel, never materialised, so the peak stays a small multiple of the data.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import torch

from rnnkit.data.panel import Panel
from rnnkit.models.global_forecaster import GlobalConfig, GlobalForecaster
from rnnkit.train.settings import TrainSettings


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=65536)
    args = parser.parse_args()
    torch.set_num_threads(2)
    before = rss_mb()
    S, T = args.series, args.length
    rng = np.random.default_rng(0)
    values = np.empty((S * T, 1))
    t = np.arange(T)
    for start in range(0, S, 1000):  # fill in blocks: no (S, T) temporary beside the panel
        k = np.arange(start, min(S, start + 1000))[:, None]
        block = 10 + k % 50 + np.sin(2 * np.pi * (t + k) / 24) + rng.normal(0, 0.1, (len(k), T))
        values[start * T : (start + len(k)) * T, 0] = block.ravel()
    panel = Panel(values, np.arange(S + 1) * T, [f"s{k}" for k in range(S)], ["y"])
    with_data = rss_mb()
    fc = GlobalForecaster(GlobalConfig(lookback=48, horizon=24, hidden_size=32, num_layers=1,
                                       windows_per_epoch=args.windows, calendar=False),
                          TrainSettings(epochs=1, batch_size=256, patience=None))
    start = time.perf_counter()
    fc.fit(panel, progress=False)
    seconds = time.perf_counter() - start
    peak = rss_mb()
    float32_mb = S * T * 4 / 2**20
    print(json.dumps({
        "series": S, "length": T, "windows_per_epoch": args.windows,
        "data_float32_mb": round(float32_mb, 1),
        "rss_before_data_mb": round(before, 1), "rss_with_panel_mb": round(with_data, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_over_float32_data": round(peak / float32_mb, 3),
        "training_peak_over_float32_data": round((peak - before) / float32_mb, 3),
        "epoch_seconds": round(seconds, 1), "date": time.strftime("%Y-%m-%d"),
    }, indent=2))


if __name__ == "__main__":
    main()
