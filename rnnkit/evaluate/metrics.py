"""Forecast error metrics as plain functions of (actual, predicted) arrays of equal shape."""

from __future__ import annotations

import numpy as np


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((np.asarray(actual) - np.asarray(predicted)) ** 2)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(predicted))))


def mse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean squared error."""
    return float(np.mean((np.asarray(actual) - np.asarray(predicted)) ** 2))


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error, in percent; NaN when any actual value is 0."""
    actual = np.asarray(actual, dtype=np.float64)
    if np.any(actual == 0):
        return float("nan")
    return float(100 * np.mean(np.abs((actual - np.asarray(predicted)) / actual)))


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric mean absolute percentage error in percent, as in the M4 competition
    (Makridakis et al. 2020): ``200 / h * sum |y - f| / (|y| + |f|)`` over the h points,
    0 to 200; a point where actual and forecast are both 0 counts 0.

    Example:
        >>> round(smape(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])), 2)
        44.44
    """
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    error, size = np.abs(actual - predicted), np.abs(actual) + np.abs(predicted)
    ratio = np.divide(error, size, out=np.zeros_like(error), where=size > 0)
    return float(200 * np.mean(ratio))


def mase(actual: np.ndarray, predicted: np.ndarray, history: np.ndarray, period: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006).

    The MAE divided by the in-sample MAE of the seasonal naive forecast (lag ``period``, 1 =
    persistence) on ``history`` (T, ...), the training data; NaN if that is zero or undefined.
    """
    history = np.asarray(history, dtype=np.float64)
    if len(history) <= period:
        return float("nan")
    scale = np.mean(np.abs(history[period:] - history[:-period]))
    return float(mae(actual, predicted) / scale) if scale > 0 else float("nan")


def skill(model_rmse: float, persistence_rmse: float) -> float:
    """RMSE skill score ``1 - RMSE_model / RMSE_persistence``: > 0 beats persistence, < 0
    loses."""
    return float(1 - model_rmse / persistence_rmse) if persistence_rmse > 0 else float("nan")


def report(
    actual: np.ndarray, predicted: np.ndarray, history: np.ndarray, period: int | None
) -> dict[str, float]:
    """RMSE, MAE, MAPE, sMAPE, MSE and MASE of one forecast (MASE scaled by the seasonal
    naive's in-sample error when a period is known, else by persistence's)."""
    return {
        "rmse": rmse(actual, predicted),
        "mae": mae(actual, predicted),
        "mape": mape(actual, predicted),
        "smape": smape(actual, predicted),
        "mse": mse(actual, predicted),
        "mase": mase(actual, predicted, history, period or 1),
    }
