"""A forecast judged beside the baselines on exactly the same points, with a verdict in words."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.evaluate import baselines, intervals, metrics


@dataclass
class Evaluation:
    """Forecasts of the target rows after each origin, and their metrics.

    ``actual`` and each entry of ``forecasts`` are (N, H, n_targets) in the data's units;
    ``metrics[name]`` has rmse, mae, mape, smape, mse, mase and skill (the RMSE skill score
    ``1 - RMSE / RMSE_persistence``, `rnnkit.evaluate.metrics.skill`). ``scaled`` has MSE
    and MAE on standardised values (the LTSF convention) when a scale was given; ``bounds``
    the model's interval (lower, upper) and ``interval`` its level and empirical coverage.
    """

    origins: np.ndarray
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float]]
    period: int | None
    scaled: dict[str, dict[str, float]] | None = None
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    interval: dict[str, float] | None = None

    def verdict(self) -> str:
        """One sentence: does the model beat persistence ("tomorrow = today")? It gives both
        RMSEs and the RMSE skill ``1 - RMSE_model / RMSE_persistence`` (> 0: the model wins)."""
        model, naive = self.metrics["model"]["rmse"], self.metrics["persistence"]["rmse"]
        skill = self.metrics["model"]["skill"]
        if model < naive:
            return (f"The model beats persistence: RMSE {model:.4g} vs {naive:.4g} "
                    f"(RMSE skill {skill:+.1%}).")
        return (f"The model is WORSE than persistence ('tomorrow = today'): RMSE {model:.4g} vs "
                f"{naive:.4g} (RMSE skill {skill:+.1%}); simply repeating the last value "
                "forecasts better.")

    def per_step(self) -> dict[str, dict[str, list[float]]]:
        """MSE and MAE of the model and persistence at each lead time 1..H."""
        return {
            name: {
                "mse": [metrics.mse(self.actual[:, h], f[:, h]) for h in range(f.shape[1])],
                "mae": [metrics.mae(self.actual[:, h], f[:, h]) for h in range(f.shape[1])],
            }
            for name, f in self.forecasts.items() if name in ("model", "persistence")
        }


def evaluate(
    y: np.ndarray, origins: np.ndarray, model_forecasts: np.ndarray, train_rows: int,
    period: int | None, scale: tuple[np.ndarray, np.ndarray] | None = None,
    halfwidth: np.ndarray | None = None, level: float | None = None,
) -> Evaluation:
    """Judge ``model_forecasts`` (N, H, n) from ``origins`` against the actual rows of ``y``
    (T, n) and against every baseline from the same origins. MASE is scaled by the in-sample
    error of the naive (or seasonal naive) forecast on the first ``train_rows`` rows.

    ``scale`` = (shift, scale) per target adds MSE/MAE on ``(y - shift) / scale``;
    ``halfwidth`` (H, n) at ``level`` adds the interval ``forecast +- halfwidth`` and its
    coverage."""
    origins = np.asarray(origins)
    horizon = model_forecasts.shape[1]
    rows = origins[:, None] + np.arange(1, horizon + 1)[None, :]
    actual = y[rows]  # (N, H, n)
    forecasts = {"model": model_forecasts, **baselines.all_baselines(y, origins, horizon, period)}
    history = y[:train_rows]
    scores = {name: metrics.report(actual, f, history, period) for name, f in forecasts.items()}
    persistence = scores["persistence"]["rmse"]
    for name in scores:
        scores[name]["skill"] = metrics.skill(scores[name]["rmse"], persistence)
    ev = Evaluation(origins, actual, forecasts, scores, period)
    if scale is not None:
        shift, size = scale
        z = (actual - shift) / size
        ev.scaled = {name: {"mse": metrics.mse(z, (f - shift) / size),
                            "mae": metrics.mae(z, (f - shift) / size)}
                     for name, f in forecasts.items()}
    if halfwidth is not None:
        lower, upper = model_forecasts - halfwidth, model_forecasts + halfwidth
        ev.bounds = (lower, upper)
        ev.interval = {"level": level, "coverage": intervals.coverage(actual, lower, upper),
                       "mean_width": float(np.mean(upper - lower))}
    return ev
