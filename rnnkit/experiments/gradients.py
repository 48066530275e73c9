"""``rnnkit diagnose gradients``: gradient flow through time per cell, before and after training.

For each cell: measure ||d loss / d h_t|| at every step on a fixed batch of the adding problem
(trace path, in float64 so that tiny gradients do not underflow), train for a few steps on
fresh batches (fast path), measure again. The plot shows the gradient norm against t on a log
scale: a straight falling line is geometric decay, the vanishing gradient (Pascanu et al. 2013).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.diagnose import gate_statistics, gate_summary, gradient_flow, recurrent_spectra
from rnnkit.errors import InputError
from rnnkit.experiments.models import CONTENDERS, TaskModel, build_model, parse_cells
from rnnkit.experiments.runs import finish_lab
from rnnkit.experiments.tasks import Task, make_task
from rnnkit.experiments.training import check_training, evaluate, train
from rnnkit.plots.gradients import gradient_flow_figure
from rnnkit.runs import start_run
from rnnkit.train.device import resolve_device


@dataclass
class GradientsConfig:
    """Settings of the gradient-flow experiment (stored as the run's config.json)."""

    cells: str | tuple[str, ...] = ("rnn", "irnn", "lstm", "gru")  # or "rnn,gru" (CONTENDERS)
    length: int = 100  # T of the adding problem
    steps: int = 300  # training steps between the two measurements
    batch_size: int = 64
    hidden_size: int = 64
    lr: float | None = None  # None: each cell's own (CONTENDERS)
    clip: float = 1.0  # max gradient norm during training, 0 for none
    probe_size: int = 256  # sequences the gradients (and the test MSE) are measured on
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        """Raise `InputError` (naming the option) for any bad setting."""
        self.cells = parse_cells(self.cells)
        make_task("adding", self.length)
        check_training(self.steps, self.batch_size, self.lr, self.clip)
        if self.hidden_size < 1:
            raise InputError(f"--hidden-size {self.hidden_size}: use at least 1 unit")
        if self.probe_size < 1:
            raise InputError(f"--probe-size {self.probe_size}: measure on at least 1 sequence")


def measure(model: TaskModel, task: Task, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Gradient flow, test loss, recurrent spectra and gate statistics of ``model`` on (x, y).

    The gradients come from a float64 copy of the model run on the trace path; ``model``
    itself is left untouched.
    """
    probe = copy.deepcopy(model).double().eval()
    prediction, trace = probe(x.double(), trace=True)
    flow = gradient_flow(task.loss(prediction, y.double()), trace)
    figures: dict[str, Any] = {
        "first_last_ratio": flow.first_last_ratio.item(),
        "test_mse": evaluate(model, task, x, y),
        "gradient_norm": flow.norms[0, 0].tolist(),
        "recurrent_matrices": {
            name.removeprefix("cells.l0").lstrip(".") or "W_hh": {
                "spectral_radius": spectra["spectral_radius"],
                "sigma_max": spectra["sigma_max"],
            }
            for name, spectra in recurrent_spectra(model.rnn).items()
        },
    }
    gates = gate_statistics(trace)
    if gates:
        figures["gates"] = gate_summary(gates)["l0"]
    else:  # an Elman cell: the bound sigma_max^(T-1) on the first/last ratio
        sigma = figures["recurrent_matrices"]["W_hh"]["sigma_max"]
        figures["bound_first_last"] = sigma ** (task.length - 1)
    return figures


def run_gradients(
    config: GradientsConfig,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run the experiment and write the run folder; returns (folder, metrics).

    metrics.json maps each cell to its figures, each measured at ``init`` and ``trained``:
    ``{"rnn": {"first_last_ratio": {"init": 3e-14, "trained": ...}, "test_mse": ...,
    "gradient_norm": {"init": [T values], ...}, "recurrent_matrices": ..., ...}}``.
    The folder holds config.json, metrics.json and plots/gradient_flow.png.
    """
    config.validate()
    device = resolve_device(config.device)
    run = start_run(out, "diagnose-gradients")
    task = make_task("adding", config.length)
    data = torch.Generator().manual_seed(config.seed)
    x, y = (t.to(device) for t in task.sample(config.probe_size, data))
    train_state = data.get_state()  # the training batches follow the probe batch
    metrics: dict[str, Any] = {}
    for name in config.cells:
        contender = CONTENDERS[name]
        model = build_model(
            name, task.input_size, task.output_size, config.hidden_size, False, config.seed
        ).to(device)
        before = measure(model, task, x, y)
        train_stream = torch.Generator().set_state(train_state)
        lr = contender.lr if config.lr is None else config.lr
        train(
            model, task, (x, y), train_stream, config.steps, config.batch_size, lr,
            config.clip, config.steps,
        )
        after = measure(model, task, x, y)
        metrics[name] = {"about": contender.about, "lr": lr}
        metrics[name].update({k: {"init": before[k], "trained": after[k]} for k in before})
        if progress is not None:
            progress(f"{name}: first/last ratio {before['first_last_ratio']:.2e} at init")
    phases = {"at initialisation": "init", f"after {config.steps} steps": "trained"}
    norms = {
        phase: {name: m["gradient_norm"][key] for name, m in metrics.items()}
        for phase, key in phases.items()
    }
    title = f"Gradient flow through time, adding problem T={config.length}"
    figure = gradient_flow_figure(norms, title)
    return finish_lab(run, asdict(config), metrics, figure, "gradient_flow.png")


def gradients_table(metrics: dict[str, Any]) -> str:
    """The first/last ratios and test MSE per cell, as a plain-text table."""
    lines = [f"{'cell':<10}{'ratio at init':>15}{'ratio trained':>15}{'test MSE':>11}"]
    for name, m in metrics.items():
        ratio = m["first_last_ratio"]
        lines.append(
            f"{name:<10}{ratio['init']:>15.2e}{ratio['trained']:>15.2e}"
            f"{m['test_mse']['trained']:>11.4f}"
        )
    lines.append("ratio = ||dL/dh_1|| / ||dL/dh_T||; test MSE of predicting 1 is 0.167")
    return "\n".join(lines)
