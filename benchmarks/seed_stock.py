"""The tutorial's Google stock LSTM: rnnkit's seed preset vs a plain PyTorch loop; one JSON object.

Usage: RNNKIT_DATA=../shared/data python benchmarks/seed_stock.py [--seeds 0 1 2] [--epochs 100]

For each seed, in the same process and alternating: (a) rnnkit's ``seed`` preset trained through
Lightning (`Forecaster.fit`), (b) a plain loop over ``torch.nn.LSTM`` with the same model, the
same initial weights and the same batch order. Reports training seconds, the time ratio
(a)/(b), test RMSE on the 20 days of January 2017 (rolling one-step, true previous 60 Opens),
persistence RMSE on the same days, and the default Forecaster's RMSE and time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from rnnkit.data.series import read_series
from rnnkit.data.windows import origins_between, windows
from rnnkit.evaluate.metrics import rmse
from rnnkit.models.forecast_nets import RecurrentNet
from rnnkit.models.forecaster import Forecaster
from rnnkit.train.device import set_cpu_threads
from rnnkit.train.loader import tensor_loader


class PlainLSTM(nn.Module):
    """The tutorial's network on torch.nn: 4 x (LSTM(50) + Dropout(0.2)), Linear(50 -> 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, 50, num_layers=4, dropout=0.2, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(50, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.drop(out[:, -1])).view(-1, 1, 1)


def plain_loop(net: RecurrentNet, x, y, epochs: int, seed: int) -> tuple[PlainLSTM, float]:
    """Train a torch.nn copy of ``net`` (same initial weights, same batch order)."""
    plain = PlainLSTM()
    plain.lstm.load_state_dict(net.rnn.state_dict())
    plain.head.load_state_dict(net.head.state_dict())
    # fused, as rnnkit's `adam` is on CPU/CUDA: the same update kernel, so the runs can agree
    optimiser = torch.optim.Adam(plain.parameters(), lr=1e-3, fused=True)
    loader = tensor_loader(x, y, batch_size=32, shuffle=True, seed=seed)
    torch.manual_seed(seed)
    start = time.perf_counter()
    plain.train()
    for _ in range(epochs):
        for xb, yb in loader:
            optimiser.zero_grad()
            loss = nn.functional.mse_loss(plain(xb), yb)
            loss.backward()
            optimiser.step()
    return plain.eval(), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    set_cpu_threads(args.threads)
    folder = Path(os.environ["RNNKIT_DATA"]) / "google_stock"
    train = read_series(folder / "Google_Stock_Price_Train.csv", "Open")
    test = read_series(folder / "Google_Stock_Price_Test.csv", "Open")
    full = train.concat(test)
    actual = full.values[len(train):, 0]
    persistence = rmse(actual, full.values[len(train) - 1 : -1, 0])

    runs = []
    for seed in args.seeds:
        fc = Forecaster.from_preset("seed", epochs=args.epochs, seed=seed)
        start = time.perf_counter()
        result = fc.fit(train, progress=False)
        ours_s = time.perf_counter() - start
        ours_rmse = rmse(actual, fc.rolling(full, len(train))[:, 0])

        c = fc.network
        torch.manual_seed(seed)
        net = RecurrentNet(c)  # same seed, same construction order: the same initial weights
        scaled = torch.as_tensor(fc.scaler.transform(train.values), dtype=torch.float32)
        origins = origins_between(c.lookback, len(train), 1, c.lookback)
        x, y = windows(scaled, c.lookback, 1, 1, origins)
        plain, plain_s = plain_loop(net, x, y, args.epochs, seed)
        scaled_full = torch.as_tensor(fc.scaler.transform(full.values), dtype=torch.float32)
        xt, _ = windows(scaled_full, c.lookback, 1, 1,
                        torch.arange(len(train) - 1, len(full) - 1))
        with torch.no_grad():
            plain_pred = fc.scaler.inverse_transform(plain(xt)[:, 0].double().numpy())[:, 0]
        runs.append({
            "seed": seed, "rnnkit_seconds": round(ours_s, 2),
            "fit_seconds": round(result.seconds, 2),
            "plain_seconds": round(plain_s, 2), "time_ratio": round(ours_s / plain_s, 3),
            "rnnkit_rmse": round(ours_rmse, 3), "plain_rmse": round(rmse(actual, plain_pred), 3),
        })

    default = Forecaster()
    default.train_config.seed = args.seeds[0]
    start = time.perf_counter()
    default.fit(train, progress=False)
    default_s = time.perf_counter() - start
    default_rmse = rmse(actual, default.rolling(full, len(train))[:, 0])

    def mean(key: str) -> float:
        return round(statistics.mean(r[key] for r in runs), 3)

    print(json.dumps({
        "epochs": args.epochs, "threads": args.threads, "test_days": len(actual),
        "persistence_rmse": round(persistence, 3),
        "seed_preset": runs,
        "mean": {k: mean(k) for k in ("rnnkit_seconds", "plain_seconds", "time_ratio",
                                        "rnnkit_rmse", "plain_rmse")},
        "default_forecaster": {"rmse": round(default_rmse, 3), "seconds": round(default_s, 2),
                               "skill_vs_persistence": round(1 - default_rmse / persistence, 4)},
        "targets": {"time_ratio": "<= 1.10", "default_rmse": "<= persistence"},
    }))


if __name__ == "__main__":
    main()
