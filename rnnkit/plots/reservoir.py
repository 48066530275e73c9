"""Reservoir figures: an echo state network's free run against the truth."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor


def free_run_figure(
    truth: Tensor, prediction: Tensor, sigma: float, title: str, context: int = 100
) -> Figure:
    """Top: run 0's last ``context`` teacher-forced steps and its closed-loop run beside the
    truth. Bottom: every run's error per free-run step, |y - d| / sigma, log scale, with the
    root mean square over runs.

    truth (R, W + S) holds each run's warmup (W steps) and what follows; prediction (R, S)
    the closed-loop outputs; sigma the series' standard deviation.
    """
    truth, prediction = truth.double().numpy(), prediction.double().numpy()
    steps = prediction.shape[1]
    warmup = truth.shape[1] - steps
    fig = Figure(figsize=(7, 5))
    top, bottom = fig.subplots(2, 1, height_ratios=(3, 2))
    step = np.arange(1, steps + 1)  # free-run step k predicts truth[:, warmup + k - 1]
    shown = np.arange(1 - min(context, warmup), steps + 1)
    top.plot(shown, truth[0, warmup + shown[0] - 1 :], color="black", lw=1.4, label="truth")
    top.plot(step, prediction[0], color="tab:red", lw=1.4, ls="--", label="free run")
    top.axvline(0, color="0.5", ls=":", lw=1)
    top.set_ylabel("x(t)")
    top.set_title(title, fontsize=10)
    top.legend(loc="best", fontsize=8)

    error = np.abs(prediction - truth[:, warmup:]) / sigma  # (R, S)
    bottom.plot(step, error.T, color="0.75", lw=0.6)
    bottom.plot(step, np.sqrt(np.mean(error**2, axis=0)), color="tab:red", lw=1.6, label="RMS")
    bottom.set_yscale("log")
    bottom.set_xlabel("step (teacher forced up to 0, closed loop after)")
    bottom.set_ylabel("|error| / sigma")
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
