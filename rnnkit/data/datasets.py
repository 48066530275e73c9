"""Named datasets: the embedded default (no download) and the shared real data by name."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data.series import Series
from rnnkit.errors import InputError


def co2() -> Series:
    """Weekly atmospheric CO2 at Mauna Loa, March 1958 - December 2001 (2,284 weeks, ppm).

    Shipped inside statsmodels (``statsmodels.datasets.co2``; Keeling & Whorf, Scripps), so it
    needs no download. Its 59 missing weeks are filled by linear interpolation in time.
    """
    from statsmodels.datasets import co2 as source

    frame = source.load_pandas().data
    values = frame["co2"].interpolate(method="time").to_numpy(dtype=np.float64)
    return Series(values[:, None], ["co2"], [], pd.DatetimeIndex(frame.index),
                  "statsmodels co2 (Mauna Loa, weekly)")


def data_root() -> Path:
    """The shared real datasets folder, from ``$RNNKIT_DATA``."""
    root = os.environ.get("RNNKIT_DATA")
    if not root:
        raise InputError("RNNKIT_DATA is not set; point it at the shared datasets folder")
    return Path(root)
