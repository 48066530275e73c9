"""M4 Hourly and Weekly: other libraries' models, scored by rnnkit.evaluate.m4; prints one JSON.

The peers run in their own virtual environment, never in rnnkit's (statsforecast and
neuralforecast are not rnnkit dependencies); rnnkit itself is imported from this checkout::

    python3 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install -r benchmarks/peers-requirements.txt
    RNNKIT_DATA=/work/shared/data /tmp/peers-venv/bin/python benchmarks/m4_peers.py \\
        [--frequency Hourly Weekly] [--models autoets deepar] [--deepar-steps 1000]

(torch is pinned to 2.13.0 in the requirements: pip finds its CPU wheel here, where an unpinned
torch would pull a multi-GB CUDA build.)

- ``autoets``: statsforecast's ``AutoETS(season_length=m)`` (its search includes seasonal
  states, up to m = 24), on every series' whole training part.
- ``deepar``: NeuralForecast's ``DeepAR`` (Salinas et al. 2020), one global model trained on
  all series of the frequency (Hourly only by default: DeepAR is run where seasonality gives a
  global model something to learn) for ``--deepar-steps`` optimiser steps on the CPU; the
  point forecast is the median of its sampled Student-t paths.

Every forecast is scored as M4 does (mean sMAPE and MASE over the series, OWA against Naive2,
all from `rnnkit.evaluate.m4`), with the seconds it took to fit and forecast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnkit.data.panel import read_m4  # noqa: E402
from rnnkit.evaluate import m4  # noqa: E402

PERIOD = {"Hourly": 24, "Weekly": 1}  # M4's m (m4/README.md)
HORIZON = {"Hourly": 48, "Weekly": 13}


def long_frame(insample: list[np.ndarray]) -> pd.DataFrame:
    """The Nixtla layout (unique_id, ds, y) of the training parts, ds counting steps."""
    return pd.DataFrame({
        "unique_id": np.repeat(np.arange(len(insample)), [len(y) for y in insample]),
        "ds": np.concatenate([np.arange(len(y)) for y in insample]),
        "y": np.concatenate(insample),
    })


def autoets(insample: list[np.ndarray], h: int, m: int, steps: int) -> np.ndarray:
    """statsforecast's AutoETS forecasts (S, h)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    model = StatsForecast(models=[AutoETS(season_length=m)], freq=1, n_jobs=1)
    forecast = model.forecast(df=long_frame(insample), h=h)
    return forecast.sort_values(["unique_id", "ds"])["AutoETS"].to_numpy().reshape(-1, h)


def deepar(insample: list[np.ndarray], h: int, m: int, steps: int) -> np.ndarray:
    """NeuralForecast's DeepAR, trained on all series for ``steps`` steps: medians (S, h)."""
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import DistributionLoss
    from neuralforecast.models import DeepAR

    input_size = 4 * m if m > 1 else 4 * h  # four seasons of context, or four horizons
    model = DeepAR(h=h, input_size=input_size, max_steps=steps,
                   loss=DistributionLoss("StudentT"), scaler_type="standard",
                   enable_progress_bar=False, enable_model_summary=False, logger=False,
                   accelerator="cpu", random_seed=1)
    nf = NeuralForecast(models=[model], freq=1)
    nf.fit(df=long_frame(insample))
    forecast = nf.predict().sort_values(["unique_id", "ds"])
    column = "DeepAR-median" if "DeepAR-median" in forecast else "DeepAR"
    return forecast[column].to_numpy().reshape(-1, h)


PEERS = {"autoets": autoets, "deepar": deepar}


def scores(actual: np.ndarray, forecast: np.ndarray, insample: list[np.ndarray], m: int
           ) -> tuple[list[float], list[float]]:
    """Per-series sMAPE and MASE lists."""
    return ([m4.smape(a, f) for a, f in zip(actual, forecast, strict=True)],
            [m4.mase(a, f, y, m) for a, f, y in zip(actual, forecast, insample, strict=True)])


def run(frequency: str, models: list[str], data: Path, steps: int) -> dict:
    """Every peer's scores on one frequency, beside Naive2's."""
    train, test = read_m4(data / f"{frequency}-train.csv", data / f"{frequency}-test.csv")
    m, h = PERIOD[frequency], HORIZON[frequency]
    insample = [train.series(k).target_values[:, 0] for k in range(len(train))]
    actual = test.values[:, 0].reshape(len(test), h)  # (S, h): every test part is h long
    naive2 = scores(actual, np.stack([m4.naive2(y, h, m) for y in insample]), insample, m)
    result: dict = {"series": len(train), "m": m, "horizon": h,
                    "naive2": {"smape": float(np.mean(naive2[0])),
                               "mase": float(np.mean(naive2[1]))}}
    for name in models:
        start = time.perf_counter()
        forecast = PEERS[name](insample, h, m, steps)
        seconds = time.perf_counter() - start
        smape, mase = scores(actual, forecast, insample, m)
        result[name] = {"smape": round(float(np.mean(smape)), 3),
                        "mase": round(float(np.mean(mase)), 3),
                        "owa": round(m4.owa(smape, mase, *naive2), 3),
                        "seconds": round(seconds, 1)}
        if name == "deepar":
            result[name]["max_steps"] = steps
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frequency", choices=sorted(PERIOD), nargs="+",
                        default=sorted(PERIOD))
    parser.add_argument("--models", choices=sorted(PEERS), nargs="+", default=sorted(PEERS))
    parser.add_argument("--deepar-steps", type=int, default=1000,
                        help="DeepAR's optimiser steps (batches of 32 series' windows)")
    parser.add_argument("--deepar-frequencies", choices=sorted(PERIOD), nargs="+",
                        default=["Hourly"], help="where DeepAR runs (default: Hourly)")
    args = parser.parse_args()
    if "RNNKIT_DATA" not in os.environ:
        parser.error("RNNKIT_DATA is not set: point it at the shared datasets folder")
    data = Path(os.environ["RNNKIT_DATA"]) / "m4"
    result = {}
    for frequency in args.frequency:
        models = [name for name in args.models
                  if name != "deepar" or frequency in args.deepar_frequencies]
        result[frequency] = run(frequency, models, data, args.deepar_steps)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
