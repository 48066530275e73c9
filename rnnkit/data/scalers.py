"""Per-column scalers, fit on the training part only and saved as JSON."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import InputError

# Rows per block when summing columns (`_column_sum`): a 65,536 x 8 float64 block is 4 MB.
_BLOCK_ROWS = 1 << 16


def _column_sum(values: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """``np.add.reduce(values, axis=0)``, or of ``(values - mean) ** 2``, block by block.

    numpy sums a C-contiguous (T, C > 1) array along axis 0 row after row (pairwise summation
    is used only along the contiguous axis), so carrying the running sum into the next block as
    its first row gives the same bits with no full-size temporary.
    """
    total = None
    for start in range(0, len(values), _BLOCK_ROWS):
        block = values[start : start + _BLOCK_ROWS]
        if mean is not None:
            block = block - mean
            np.multiply(block, block, out=block)
        if total is not None:
            block = np.concatenate([total[None], block])
        total = np.add.reduce(block, axis=0)
    return total


def mean_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values.mean(axis=0), values.std(axis=0)`` bit for bit, for (T, C) float64 values.

    numpy's ``std`` holds ``values - mean`` whole (the size of the data); this sums block by
    block instead (see `_column_sum`) where that gives the same bits: C-contiguous, C > 1.

    Example:
        >>> [a.tolist() for a in mean_std(np.array([[1.0, 0.0], [3.0, 0.0]]))]
        [[2.0, 0.0], [1.0, 0.0]]
    """
    T, C = values.shape
    if C < 2 or T < 2 or not values.flags.c_contiguous:  # numpy sums pairwise here
        return values.mean(axis=0), values.std(axis=0)
    mean = _column_sum(values) / T
    return mean, np.sqrt(_column_sum(values, mean) / T)


@dataclass
class Scaler:
    """An affine per-column map ``z = (x - shift) / scale``, fit on training rows only.

    ``kind`` is ``"minmax"`` (to the range (0, 1), as the tutorial's ``MinMaxScaler``),
    ``"standard"`` (zero mean, unit variance) or ``"identity"``.

    Example:
        >>> s = Scaler.fit(np.array([[1.0], [3.0]]), "minmax")
        >>> s.transform(np.array([[2.0]])).tolist()
        [[0.5]]
    """

    kind: str
    shift: np.ndarray
    scale: np.ndarray

    KINDS = ("minmax", "standard", "identity")

    @classmethod
    def fit(cls, values: np.ndarray, kind: str) -> Scaler:
        """Fit on (T, C) training values; constant columns get scale 1 (no division by zero)."""
        if kind not in cls.KINDS:
            raise InputError(f"scaler {kind!r} is not known; use one of {', '.join(cls.KINDS)}")
        values = np.asarray(values, dtype=np.float64)
        if kind == "minmax":
            shift, scale = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
        elif kind == "standard":
            shift, scale = mean_std(values)
        else:
            shift, scale = np.zeros(values.shape[1]), np.ones(values.shape[1])
        scale = np.where(scale > 0, scale, 1.0)
        return cls(kind, shift, scale)

    def transform(self, values: np.ndarray, columns: slice = slice(None)) -> np.ndarray:
        """Scale (..., C') values of the columns ``columns``."""
        return (np.asarray(values) - self.shift[columns]) / self.scale[columns]

    def inverse_transform(self, values: np.ndarray, columns: slice = slice(None)) -> np.ndarray:
        """Undo `transform` for (..., C') values of the columns ``columns``."""
        return np.asarray(values) * self.scale[columns] + self.shift[columns]

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"kind": self.kind, "shift": self.shift.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        """Inverse of `to_dict`; malformed data is an `InputError`."""
        try:
            shift, scale = np.asarray(data["shift"], float), np.asarray(data["scale"], float)
            scaler = cls(data["kind"], shift, scale)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"scaler settings are malformed ({err!r})") from err
        if scaler.kind not in cls.KINDS or scaler.shift.shape != scaler.scale.shape:
            raise InputError(f"scaler settings are malformed: {data}")
        return scaler
