"""M4 Hourly and Weekly: seasonal naive and Naive2 scored by rnnkit.evaluate.m4 beside the
competition's official figures; prints one JSON object.

    RNNKIT_DATA=/work/shared/data python benchmarks/m4_baselines.py [--frequency Hourly|Weekly]

Reads ``$RNNKIT_DATA/m4/{Hourly,Weekly}-{train,test}.csv`` (the M4-methods files), forecasts
every series' test horizon from its whole training part, and reports the mean sMAPE and MASE
over the series and the OWA against Naive2, each beside the figure published in M4-methods'
``Evaluation and Ranks.xlsx`` (copied from ``m4/README.md``) and the absolute difference. The
scorer reproduces M4 when each mean matches the published three decimals. OWA is a ratio of
those means, so it is also given from the means rounded to three decimals, as published: an
exact OWA a hair past a rounding boundary can then be told from a scoring difference.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import numpy as np

from rnnkit.evaluate import m4

PERIOD = {"Hourly": 24, "Weekly": 1}  # M4's m for MASE and Naive2 (m4/README.md)
HORIZON = {"Hourly": 48, "Weekly": 13}
OFFICIAL = {  # sMAPE, MASE, OWA from m4/README.md
    "Hourly": {"naive2": (18.383, 2.395, 1.000), "seasonal_naive": (13.912, 1.193, 0.627)},
    "Weekly": {"naive2": (9.161, 2.777, 1.000), "seasonal_naive": (9.161, 2.777, 1.000)},
}
FORECASTERS = {"naive2": m4.naive2, "seasonal_naive": m4.seasonal_naive}


def read_m4(path: Path) -> dict[str, np.ndarray]:
    """Series id -> values from an M4 csv (header row; id, then values; empty cells pad)."""
    with path.open(newline="") as f:
        rows = csv.reader(f)
        next(rows)
        return {row[0]: np.array([float(v) for v in row[1:] if v]) for row in rows}


def score(frequency: str, data: Path) -> dict:
    train = read_m4(data / f"{frequency}-train.csv")
    test = read_m4(data / f"{frequency}-test.csv")
    m, h = PERIOD[frequency], HORIZON[frequency]
    per_series = {name: {"smape": [], "mase": []} for name in FORECASTERS}
    seasonal = 0
    for sid, insample in train.items():
        actual = test[sid]
        seasonal += m4.seasonality_test(insample, m)
        for name, forecaster in FORECASTERS.items():
            forecast = forecaster(insample, h, m)
            per_series[name]["smape"].append(m4.smape(actual, forecast))
            per_series[name]["mase"].append(m4.mase(actual, forecast, insample, m))
    naive2 = per_series["naive2"]
    naive2_means = (float(np.mean(naive2["smape"])), float(np.mean(naive2["mase"])))
    result: dict = {"series": len(train), "m": m, "horizon": h, "seasonal_series": seasonal}
    for name, scores in per_series.items():
        ours = (float(np.mean(scores["smape"])), float(np.mean(scores["mase"])),
                m4.owa(scores["smape"], scores["mase"], naive2["smape"], naive2["mase"]))
        result[name] = {
            metric: {"rnnkit": round(value, 6), "official": official,
                     "abs_diff": round(abs(value - official), 6),
                     "matches_to_3_decimals": round(value, 3) == official}
            for metric, value, official in zip(("smape", "mase", "owa"), ours,
                                               OFFICIAL[frequency][name], strict=True)
        }
        # The published OWA is consistent with the ratio of the published 3-decimal means.
        rounded = [round(mean, 3) for mean in ours[:2] + naive2_means]
        result[name]["owa"]["rnnkit_from_3_decimal_means"] = round(m4.owa(*rounded), 6)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frequency", choices=sorted(PERIOD), nargs="+",
                        default=sorted(PERIOD))
    args = parser.parse_args()
    if "RNNKIT_DATA" not in os.environ:
        parser.error("RNNKIT_DATA is not set: point it at the shared datasets folder")
    data = Path(os.environ["RNNKIT_DATA"]) / "m4"
    start = time.perf_counter()
    result = {frequency: score(frequency, data) for frequency in args.frequency}
    result["seconds"] = round(time.perf_counter() - start, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
