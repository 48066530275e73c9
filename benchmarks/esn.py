"""Echo state networks: rnnkit beside reservoirpy, and Jaeger's NRMSE84; prints one JSON object.

Setup (reservoirpy is not a dependency of rnnkit; it lives only in this benchmark's venv):

    python3.11 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install torch==2.13.0 reservoirpy==0.4.2 numpy scipy matplotlib \
        safetensors typer
    /tmp/bench-venv/bin/pip install --no-deps -e .
    nice -n 10 /tmp/bench-venv/bin/python benchmarks/esn.py [--seeds 5] [--repeats 3]

Without reservoirpy the script still runs and reports rnnkit alone (``reservoirpy: null``).

1. ``readme_task``: reservoirpy's README task, same data (its ``mackey_glass(2000)``), same
   process: one-step-ahead forecast, last 20% for test, 100 units, spectral radius 1.25, leak
   rate 0.3, ridge 1e-5, warmup 100. Test RMSE and build+fit time (weights drawn, spectral
   radius set, states collected, readout solved), per seed, interleaved; medians reported.
   Other settings are each library's defaults (reservoirpy: 10% Bernoulli input weights, normal
   recurrent weights, readout from the states; rnnkit: dense uniform input weights, uniform
   recurrent weights, readout from states and input, bias 0 to match).
2. ``jaeger_nrmse84``: Jaeger 2001's protocol (tau = 17, 400 units, 3000 training steps, 50
   runs of 84 closed-loop steps) with ``MACKEY_GLASS_ESN`` (quadratic readout) and the best
   linear-readout settings found, on series seeds 1.. (seed 0 was used to tune them).
3. ``reservoir_step_us``: one reservoir update, dense vs CSR recurrent product, batch 1, by size.
All timings use one thread (torch and the BLAS under numpy).
"""

# ruff: noqa: E402 (the thread settings must come before numpy and torch are imported)
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy/torch load their BLAS

import argparse
import json
import platform
import statistics
import time
from dataclasses import replace

import numpy as np
import torch

from rnnkit.experiments.mackey_glass import (
    MACKEY_GLASS_ESN,
    MackeyGlassConfig,
    nrmse84,
)
from rnnkit.reservoir import ESN, ESNConfig, Reservoir

try:
    import reservoirpy
    from reservoirpy import ESN as RpyESN
    from reservoirpy.datasets import mackey_glass as rpy_mackey_glass
    from reservoirpy.datasets import to_forecasting
except ImportError:
    reservoirpy = None

JAEGER_REFERENCE = 2.8e-4
#: the best linear-readout settings of the tuning on series seed 0 (docs/esn.md)
LINEAR_ESN = replace(
    MACKEY_GLASS_ESN,
    leak_rate=0.5,
    input_scaling=0.7,
    ridge=1e-12,
    state_noise=1e-9,
    readout="linear",
)


def readme_data() -> tuple[np.ndarray, ...]:
    if reservoirpy is not None:
        return to_forecasting(rpy_mackey_glass(n_timesteps=2000), test_size=0.2)
    from rnnkit.data.mackey_glass import mackey_glass

    series = mackey_glass(2000, seed=0).numpy().reshape(-1, 1)
    x, y = series[:-1], series[1:]
    split = len(x) - int(0.2 * len(x))
    return x[:split], x[split:], y[:split], y[split:]


def rnnkit_readme(x_train, x_test, y_train, y_test, seed: int) -> tuple[float, float]:
    config = ESNConfig(
        units=100,
        spectral_radius=1.25,
        leak_rate=0.3,
        ridge=1e-5,
        connectivity=0.1,
        bias_scaling=0.0,
        seed=seed,
    )
    u, d = torch.from_numpy(x_train), torch.from_numpy(y_train)
    start = time.perf_counter()
    esn = ESN(config).fit(u, d, washout=100)
    fit_s = time.perf_counter() - start
    whole = torch.from_numpy(np.concatenate([x_train, x_test]))  # the state runs on from training
    prediction = esn.predict(whole)[len(x_train) :].numpy()
    return float(np.sqrt(np.mean((prediction - y_test) ** 2))), fit_s


def reservoirpy_readme(x_train, x_test, y_train, y_test, seed: int) -> tuple[float, float]:
    start = time.perf_counter()
    esn = RpyESN(units=100, sr=1.25, lr=0.3, ridge=1e-5, seed=seed)
    esn.fit(x_train, y_train, warmup=100)
    fit_s = time.perf_counter() - start
    prediction = esn.run(x_test)
    return float(np.sqrt(np.mean((prediction - y_test) ** 2))), fit_s


def readme_task(seeds: int, repeats: int) -> dict:
    data = readme_data()
    contenders = {"rnnkit": rnnkit_readme}
    if reservoirpy is not None:
        contenders["reservoirpy"] = reservoirpy_readme
    for fn in contenders.values():  # warm-up (imports, allocations)
        fn(*data, seed=0)
    rmse = {name: [] for name in contenders}
    fit_s = {name: [] for name in contenders}
    for seed in range(seeds):
        for repeat in range(repeats):
            for name, fn in contenders.items():  # interleaved, same process
                error, seconds = fn(*data, seed=seed)
                fit_s[name].append(seconds)
                if repeat == 0:  # the error does not change between repeats
                    rmse[name].append(error)
    result = {
        name: {
            "rmse_median": statistics.median(rmse[name]),
            "rmse": rmse[name],
            "fit_ms_median": 1e3 * statistics.median(fit_s[name]),
        }
        for name in contenders
    }
    if reservoirpy is not None:
        ours, theirs = result["rnnkit"], result["reservoirpy"]
        result["rmse_ratio_rnnkit_to_reservoirpy"] = ours["rmse_median"] / theirs["rmse_median"]
        result["fit_speedup_rnnkit"] = theirs["fit_ms_median"] / ours["fit_ms_median"]
    return result


def jaeger(seeds: int) -> dict:
    result = {}
    for name, esn in (("quadratic_readout", MACKEY_GLASS_ESN), ("linear_readout", LINEAR_ESN)):
        values, fit_s = [], []
        for seed in range(1, seeds + 1):
            metrics = nrmse84(
                MackeyGlassConfig(seed=seed, device="cpu"), replace(esn, seed=seed)
            ).metrics
            values.append(metrics["nrmse84"])
            fit_s.append(metrics["fit_s"])
        result[name] = {
            "nrmse84_median": statistics.median(values),
            "nrmse84_max": max(values),
            "nrmse84": values,
            "fit_s_median": statistics.median(fit_s),
        }
    result["series_seeds"] = list(range(1, seeds + 1))
    result["jaeger_2001"] = JAEGER_REFERENCE
    best = result["quadratic_readout"]["nrmse84_median"]
    result["target_met"] = best <= JAEGER_REFERENCE
    result["aim_1e-4_met"] = best <= 1e-4
    return result


def reservoir_steps(steps: int = 2000) -> dict:
    result = {}
    for units, connectivity in ((100, 0.1), (400, 0.01), (1000, 0.01)):
        u = torch.randn(1, steps, 1, dtype=torch.float64)
        timings = {}
        for label, sparse in (("dense", False), ("csr", True)):
            reservoir = Reservoir(1, units, connectivity=connectivity, sparse=sparse)
            reservoir(u[:, :100])  # warm-up
            start = time.perf_counter()
            reservoir(u)
            timings[label] = round(1e6 * (time.perf_counter() - start) / steps, 1)
        chosen = Reservoir(1, units, connectivity=connectivity).uses_sparse()
        timings["auto"] = "csr" if chosen else "dense"
        result[f"{units}_units_{connectivity:g}"] = timings
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "reservoirpy": None if reservoirpy is None else reservoirpy.__version__,
            "cpu_threads": 1,
            "device": "cpu",
        },
        "readme_task": readme_task(args.seeds, args.repeats),
        "jaeger_nrmse84": jaeger(args.seeds),
        "reservoir_step_us": reservoir_steps(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
