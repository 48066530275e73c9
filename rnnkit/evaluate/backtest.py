"""A forecast judged beside the baselines on exactly the same points, with a verdict in words."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.evaluate import baselines, intervals, metrics, skill


@dataclass
class Evaluation:
    """Forecasts of the target rows after each origin, and their metrics.

    ``actual`` and each entry of ``forecasts`` are (N, H, n_targets) in the data's units;
    ``metrics[name]`` has rmse, mae, mape, smape, mse, mase, skill (the RMSE skill score
    ``1 - RMSE / RMSE_persistence``, `rnnkit.evaluate.metrics.skill`) and skill_lo95 and
    skill_hi95, its 95% interval by a moving-block bootstrap over the origins
    (`rnnkit.evaluate.skill.skill_interval`; NaN where undefined); ``skill_interval`` is the
    model's (lo95, hi95). ``scaled`` has MSE and MAE on standardised values (the LTSF
    convention) when a scale was given; ``bounds`` the model's prediction interval (lower,
    upper) and ``interval`` its level and empirical coverage.
    """

    origins: np.ndarray
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float]]
    period: int | None
    skill_interval: tuple[float, float]
    scaled: dict[str, dict[str, float]] | None = None
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    interval: dict[str, float] | None = None

    def verdict(self) -> str:
        """One sentence: does the model beat persistence ("tomorrow = today"), tie with it or
        lose? It gives both RMSEs, the RMSE skill ``1 - RMSE_model / RMSE_persistence`` and
        its 95% interval: "beats" only when the whole interval is above zero, "WORSE" only
        when it is below, "ties" when it includes zero; where the interval is undefined (fewer
        than 2 blocks of origins) it says so."""
        model, naive = self.metrics["model"]["rmse"], self.metrics["persistence"]["rmse"]
        score = self.metrics["model"]["skill"]
        lo, hi = self.skill_interval
        rmses = f"RMSE {model:.4g} vs {naive:.4g}, RMSE skill {score:+.1%}"
        between = f"{lo:+.1%} to {hi:+.1%}"
        if lo > 0:
            return (f"The model beats persistence ('tomorrow = today'): {rmses} "
                    f"(95% interval {between}).")
        if hi < 0:
            return (f"The model is WORSE than persistence ('tomorrow = today'): {rmses} "
                    f"(95% interval {between}); simply repeating the last value forecasts "
                    "better.")
        if lo <= 0 <= hi:
            return (f"The model ties with persistence ('tomorrow = today'): the 95% interval "
                    f"of its RMSE skill ({between}) includes zero; {rmses}.")
        n, block = len(self.origins), skill.block_length(len(self.origins), self.actual.shape[1])
        why = (f"{n} forecast origins are fewer than 2 blocks of {block} consecutive origins"
               if n < 2 * block else "persistence has no error on some resampled origins")
        return (f"The model cannot be judged against persistence ('tomorrow = today'): {rmses}, "
                f"but the 95% interval of the RMSE skill is undefined: {why}.")

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

    Every forecaster's RMSE skill over persistence gets a 95% interval by a moving-block
    bootstrap over the origins (Künsch 1989), blocks of ``skill.block_length(N, H)`` origins.
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
    block = skill.block_length(len(origins), horizon)
    persistence_sse = skill.origin_sse(actual, forecasts["persistence"])
    for name, f in forecasts.items():
        scores[name]["skill"] = metrics.skill(scores[name]["rmse"], persistence)
        lo, hi = skill.skill_interval(skill.origin_sse(actual, f), persistence_sse, block)
        scores[name].update(skill_lo95=lo, skill_hi95=hi)
    ev = Evaluation(origins, actual, forecasts, scores, period,
                    (scores["model"]["skill_lo95"], scores["model"]["skill_hi95"]))
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
