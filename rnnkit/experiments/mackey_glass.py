"""``rnnkit experiment mackey-glass``: Jaeger's NRMSE84 benchmark for an echo state network.

The protocol (Jaeger 2001; Jaeger & Haas 2004): the Mackey-Glass series (tau = 17, sampled
every 1 time unit) is squashed to tanh(x - 1); the ESN is fitted teacher-forced on
``train_steps`` steps (the first ``washout`` dropped) to predict the next value from the current
one. Then, ``runs`` times, on fresh non-overlapping stretches of the series that follow the
training data, it is teacher-forced for ``warmup`` steps and run in closed loop for
``free_run`` = 84 steps. With e_i the error at the last free-run step of run i (on the original
scale, x = 1 + atanh(y)) and sigma^2 the variance of the series,

    NRMSE84 = sqrt(mean_i e_i^2 / sigma^2).

No backpropagation anywhere: the readout is one ridge solve, so the whole run takes seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnkit.data.mackey_glass import mackey_glass
from rnnkit.errors import InputError
from rnnkit.experiments.runs import finish_lab
from rnnkit.plots.reservoir import free_run_figure
from rnnkit.reservoir import ESN, ESNConfig, nrmse
from rnnkit.runs import start_run
from rnnkit.train.device import resolve_device

#: The ESN settings for this benchmark, tuned on series seed 0 (docs/esn.md): Jaeger's sparse
#: 1% reservoir, bias input and training noise as the only regulariser (ridge 0), with a leak
#: and a quadratic readout.
MACKEY_GLASS_ESN = ESNConfig(
    units=400,
    spectral_radius=0.9,
    leak_rate=0.7,
    input_scaling=1.0,
    bias_scaling=0.1,
    connectivity=0.01,
    ridge=0.0,
    state_noise=3e-9,
    readout="quadratic",
)


@dataclass
class MackeyGlassConfig:
    """The protocol's settings (stored with the ESN's in the run's config.json)."""

    tau: float = 17.0  # delay of the Mackey-Glass equation
    train_steps: int = 3000  # teacher-forced training steps
    washout: int = 1000  # first training steps left out of the readout fit (Jaeger: 1000)
    free_run: int = 84  # closed-loop steps; the error is read at the last one
    runs: int = 50  # independent test stretches
    warmup: int = 1000  # teacher-forced steps before each free run
    transient: int = 1000  # samples dropped from the start of the integration
    seed: int = 0  # the series' initial history
    device: str = "auto"

    def validate(self) -> None:
        """Raise `InputError` (naming the option) for any bad setting."""
        for name in ("train_steps", "free_run", "runs", "warmup"):
            if getattr(self, name) < 1:
                option = name.replace("_", "-")
                raise InputError(f"--{option} {getattr(self, name)}: must be >= 1")
        if not 0 <= self.washout < self.train_steps:
            raise InputError(
                f"--washout {self.washout}: must be >= 0 and < the training length "
                f"--train-steps {self.train_steps}; use fewer washout steps or more training steps"
            )
        if self.transient < 0:
            raise InputError(f"transient={self.transient}: must be >= 0 (samples dropped)")
        mackey_glass(1, self.tau)  # tau must be a multiple of the integration step


@dataclass
class MackeyGlassResult:
    """What one protocol run measured: the metrics, and the first run's curves for the plot."""

    metrics: dict[str, Any]
    truth: Tensor  # (runs, warmup + free_run): each run's stretch, original scale
    prediction: Tensor  # (runs, free_run): the closed-loop outputs, original scale
    sigma: float  # standard deviation of the series


def nrmse84(config: MackeyGlassConfig, esn_config: ESNConfig) -> MackeyGlassResult:
    """Run the protocol once (nothing written). ``esn_config`` must have one input and output.

    metrics: ``nrmse84`` over all runs, ``runs`` (each run's |e_i| / sigma), their median,
    ``diverged_runs`` (non-finite outputs; any makes ``nrmse84`` infinite), ``one_step_nrmse``
    (teacher-forced, on the second half of every warmup), ``fit_s`` and ``generate_s`` (the
    warmups and closed loops of all runs, batched).
    """
    config.validate()
    if esn_config.input_size != 1 or esn_config.output_size != 1:
        raise InputError(
            f"input_size={esn_config.input_size}, output_size={esn_config.output_size}: "
            "the Mackey-Glass series has one value per step; use 1 and 1"
        )
    device = resolve_device(config.device)
    esn = ESN(esn_config).to(device)
    stretch = config.warmup + config.free_run
    length = config.transient + config.train_steps + 1 + config.runs * stretch
    series = mackey_glass(length, config.tau, seed=config.seed)[config.transient :]
    y = torch.tanh(series - 1).unsqueeze(-1).to(device)  # (L, 1): Jaeger's squashing
    train = y[: config.train_steps + 1]
    tests = y[config.train_steps + 1 :].view(config.runs, stretch, 1)  # (R, W + S, 1)

    start = time.perf_counter()
    esn.fit(train[:-1], train[1:], washout=config.washout)
    fit_s = _synced(start, device)
    start = time.perf_counter()
    outputs = esn.generate(config.free_run, warmup=tests[:, : config.warmup])  # (R, S, 1)
    generate_s = _synced(start, device)

    variance = float(series.var())
    truth = 1 + torch.atanh(tests[..., 0]).cpu()  # (R, W + S)
    prediction = 1 + torch.atanh(outputs[..., 0]).cpu()  # (R, S): |y| >= 1 diverged
    error = (prediction[:, -1] - truth[:, -1]).nan_to_num(nan=math.inf).abs()  # (R,)
    half = config.warmup // 2
    one_step = esn.predict(tests[:, : config.warmup - 1])[:, half:, 0]  # (R, W - 1 - half)
    per_run = (error / math.sqrt(variance)).tolist()
    metrics = {
        "nrmse84": math.sqrt(float((error**2).mean()) / variance),
        "median_run_nrmse84": float(torch.tensor(per_run).median()),
        "diverged_runs": int((~torch.isfinite(prediction).all(dim=1)).sum()),
        "one_step_nrmse": nrmse(one_step, tests[:, half + 1 : config.warmup, 0], variance),
        "fit_s": fit_s,
        "generate_s": generate_s,
        "runs": per_run,
    }
    return MackeyGlassResult(metrics, truth, prediction, math.sqrt(variance))


def _synced(start: float, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def run_mackey_glass(
    config: MackeyGlassConfig,
    esn_config: ESNConfig,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run the protocol and write the run folder; returns (folder, metrics).

    The folder holds config.json (``experiment`` and ``esn`` settings), metrics.json (see
    `nrmse84`) and plots/free_run.png (the first run's free run against the truth, and every
    run's error per step). Bad settings raise `InputError` before anything is written.
    """
    config.validate()
    ESN(esn_config)  # validates the ESN settings before the folder is claimed
    run = start_run(out, "experiment-mackey-glass")
    if progress is not None:
        progress(
            f"Mackey-Glass tau={config.tau:g}: {esn_config.units} units, "
            f"{config.train_steps} training steps, {config.runs} runs of {config.free_run}"
        )
    result = nrmse84(config, esn_config)
    metrics = result.metrics
    figure = free_run_figure(
        result.truth,
        result.prediction,
        result.sigma,
        title=f"Mackey-Glass tau={config.tau:g}, {esn_config.units} units: "
        f"NRMSE{config.free_run} = {metrics['nrmse84']:.2e} over {config.runs} runs",
    )
    return finish_lab(run, {"experiment": asdict(config), "esn": asdict(esn_config)}, metrics,
                      figure, "free_run.png")


def mackey_glass_table(metrics: dict[str, Any]) -> str:
    """The headline numbers, one per line."""
    rows = [
        ("nrmse84 (all runs)", f"{metrics['nrmse84']:.3e}"),
        ("median run", f"{metrics['median_run_nrmse84']:.3e}"),
        ("diverged runs", f"{metrics['diverged_runs']} of {len(metrics['runs'])}"),
        ("one-step nrmse", f"{metrics['one_step_nrmse']:.3e}"),
        ("fit time", f"{metrics['fit_s']:.2f} s"),
    ]
    return "\n".join(f"{name:<20}{value:>14}" for name, value in rows)
