"""``rnnkit experiment exploding``: a recurrent matrix with spectral radius > 1, trained with
and without gradient clipping.

The same Elman RNN (same weights, same batches) is trained twice with plain SGD on the adding
problem after its W_hh was rescaled to spectral radius ``radius``. Without clipping the
gradient norm jumps by orders of magnitude and one step can throw the weights far away; with
the gradient rescaled to norm at most ``clip`` whenever it is larger (Pascanu et al. 2013),
every step is bounded and training goes on.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.diagnose import recurrent_spectra, spectral_radius
from rnnkit.errors import InputError
from rnnkit.experiments.models import CONTENDERS, TaskModel, build_model
from rnnkit.experiments.runs import finish_lab
from rnnkit.experiments.tasks import Task, make_task
from rnnkit.experiments.training import check_training
from rnnkit.plots.gradients import exploding_figure
from rnnkit.runs import start_run
from rnnkit.train.device import resolve_device

#: The cells this experiment rescales: Elman RNNs, whose W_hh is one matrix.
ELMAN = ("rnn", "rnn_relu")


@dataclass
class ExplodingConfig:
    """Settings of the exploding-gradient experiment (stored as the run's config.json)."""

    cell: str = "rnn"  # "rnn" (tanh) or "rnn_relu"
    radius: float = 1.5  # spectral radius W_hh is rescaled to
    length: int = 50  # T of the adding problem
    steps: int = 300
    batch_size: int = 64
    hidden_size: int = 64
    lr: float = 0.05  # plain SGD
    clip: float = 1.0  # max gradient norm of the clipped run
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        """Raise `InputError` (naming the option) for any bad setting."""
        if self.cell not in ELMAN:
            raise InputError(f"--cell {self.cell!r}: choose {' or '.join(ELMAN)}")
        if not self.radius > 0:
            raise InputError(f"--radius {self.radius}: the spectral radius must be positive")
        make_task("adding", self.length)
        check_training(self.steps, self.batch_size, self.lr, self.clip)
        if self.clip == 0:
            raise InputError("--clip 0: this experiment compares against clipping; give a norm")
        if self.hidden_size < 1:
            raise InputError(f"--hidden-size {self.hidden_size}: use at least 1 unit")


@torch.no_grad()
def rescale_recurrent_(model: TaskModel, radius: float) -> TaskModel:
    """Scale every W_hh of ``model`` so that its spectral radius is ``radius``."""
    for cell in model.rnn.cells.values():
        cell.weight_hh.mul_(radius / spectral_radius(cell.weight_hh))
    return model


def train_sgd(
    model: TaskModel,
    task: Task,
    generator: torch.Generator,
    steps: int,
    batch_size: int,
    lr: float,
    clip: float | None,
) -> tuple[dict[str, list[float]], int | None]:
    """Plain SGD, one fresh batch per step, recording every step.

    Returns the history: lists ``loss`` (training MSE), ``grad_norm`` (total norm before
    clipping) and ``step_norm`` (norm of the gradient actually applied: after clipping, when
    ``clip``); and the first step with a non-finite loss (training stops there), or None.
    """
    device = next(model.parameters()).device
    params = list(model.parameters())
    optimiser = torch.optim.SGD(params, lr=lr)
    record: dict[str, list[float]] = {"loss": [], "grad_norm": [], "step_norm": []}
    for step in range(1, steps + 1):
        x, y = (t.to(device) for t in task.sample(batch_size, generator))
        loss = task.loss(model(x)[0], y)
        if not math.isfinite(loss.item()):
            return record, step
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in params]
        grad_norm = torch.nn.utils.get_total_norm(grads)
        if clip is not None:  # rescale to norm `clip` when larger (Pascanu et al. 2013)
            torch.nn.utils.clip_grads_with_norm_(params, clip, grad_norm)
        step_norm = torch.nn.utils.get_total_norm(grads)
        optimiser.step()
        record["loss"].append(loss.item())
        record["grad_norm"].append(grad_norm.item())
        record["step_norm"].append(step_norm.item())
    return record, None


def run_exploding(
    config: ExplodingConfig,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run the experiment and write the run folder; returns (folder, metrics).

    metrics.json: the spectra of W_hh after rescaling; ``metrics``: for ``no_clip`` and
    ``clip``, the largest gradient and applied step, the final and best loss, ``diverged_at``;
    ``history``: for each, the per-step ``loss``, ``grad_norm`` and ``step_norm``.
    The folder holds config.json, metrics.json and plots/exploding.png.
    """
    config.validate()
    device = resolve_device(config.device)
    run = start_run(out, "experiment-exploding")
    task = make_task("adding", config.length)
    start = build_model(
        config.cell, task.input_size, task.output_size, config.hidden_size, False, config.seed
    )
    rescale_recurrent_(start, config.radius)
    spectra = recurrent_spectra(start.rnn)["cells.l0"]
    metrics: dict[str, Any] = {
        "about": CONTENDERS[config.cell].about,
        "spectral_radius": spectra["spectral_radius"],
        "sigma_max": spectra["sigma_max"],
        "metrics": {},
        "history": {},
    }
    for name, clip in (("no_clip", None), ("clip", config.clip)):
        model = copy.deepcopy(start).to(device)
        generator = torch.Generator().manual_seed(config.seed)
        history, diverged_at = train_sgd(
            model, task, generator, config.steps, config.batch_size, config.lr, clip
        )
        metrics["metrics"][name] = {
            "max_grad_norm": max(history["grad_norm"], default=math.nan),
            "max_step_norm": max(history["step_norm"], default=math.nan),
            "final_loss": history["loss"][-1] if diverged_at is None else math.nan,
            "best_loss": min(history["loss"], default=math.nan),
            "diverged_at": diverged_at,
        }
        metrics["history"][name] = history
        if progress is not None:
            progress(f"{name}: max gradient norm {metrics['metrics'][name]['max_grad_norm']:.3g}")
    title = (
        f"{config.cell}, spectral radius {config.radius:g}, adding problem T={config.length}, "
        f"SGD lr {config.lr:g}"
    )
    figure = exploding_figure(
        {"no clipping": metrics["history"]["no_clip"],
         f"clipped at {config.clip:g}": metrics["history"]["clip"]},
        config.clip,
        title,
    )
    return finish_lab(run, asdict(config), metrics, figure, "exploding.png")


def exploding_table(metrics: dict[str, Any]) -> str:
    """Largest gradient, largest applied step and final loss, with and without clipping."""
    lines = [
        f"W_hh spectral radius {metrics['spectral_radius']:.3g}, "
        f"largest singular value {metrics['sigma_max']:.3g}",
        f"{'run':<10}{'max grad norm':>15}{'max step norm':>15}{'final loss':>12}"
        f"{'diverged at':>13}",
    ]
    for name, m in metrics["metrics"].items():
        diverged = "-" if m["diverged_at"] is None else str(m["diverged_at"])
        lines.append(
            f"{name:<10}{m['max_grad_norm']:>15.3g}{m['max_step_norm']:>15.3g}"
            f"{m['final_loss']:>12.4f}{diverged:>13}"
        )
    return "\n".join(lines)
