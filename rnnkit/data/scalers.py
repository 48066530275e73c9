"""Per-column scalers, fit on the training part only and saved as JSON."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import InputError


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
            shift, scale = values.mean(axis=0), values.std(axis=0)
        else:
            shift, scale = np.zeros(values.shape[1]), np.ones(values.shape[1])
        scale = np.where(scale > 0, scale, 1.0)
        return cls(kind, shift, scale)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale (..., C) values."""
        return (np.asarray(values) - self.shift) / self.scale

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
