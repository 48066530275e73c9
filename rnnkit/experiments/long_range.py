"""``rnnkit experiment adding`` and ``copy``: the remedies side by side on a long-range task.

Every cell trains on the same stream of fresh batches and is scored on the same held-out test
set every ``eval_every`` steps; the learning curves are drawn beside the memoryless baseline.
A cell that stays on the baseline never learned to carry information across T steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.errors import InputError
from rnnkit.experiments.models import CONTENDERS, build_model, parse_cells
from rnnkit.experiments.runs import finish_lab
from rnnkit.experiments.tasks import make_task
from rnnkit.experiments.training import check_training, train
from rnnkit.plots.gradients import learning_curves_figure
from rnnkit.runs import start_run
from rnnkit.train.device import resolve_device


@dataclass
class LongRangeConfig:
    """Settings of a long-range experiment (stored as the run's config.json)."""

    task: str = "adding"  # "adding" or "copy"
    length: int = 200  # T: sequence length (adding) or delay (copy)
    cells: str | tuple[str, ...] = ("rnn", "rnn_orth", "irnn", "lstm", "gru")  # or "rnn,gru"
    steps: int = 3000
    batch_size: int = 64
    hidden_size: int = 64
    lr: float | None = None  # None: each cell's own (CONTENDERS)
    clip: float = 1.0  # max gradient norm, 0 for none (Pascanu et al. 2013)
    eval_every: int = 100
    test_size: int = 1000
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        """Raise `InputError` (naming the option) for any bad setting."""
        self.cells = parse_cells(self.cells)
        make_task(self.task, self.length)
        check_training(self.steps, self.batch_size, self.lr, self.clip)
        for option, value in (
            ("--hidden-size", self.hidden_size),
            ("--eval-every", self.eval_every),
            ("--test-size", self.test_size),
        ):
            if value < 1:
                raise InputError(f"{option} {value}: must be at least 1")


def run_long_range(
    config: LongRangeConfig,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Train every cell of ``config`` on its task and write the run folder.

    Returns (folder, metrics). metrics.json holds the task, T, the metric and its baseline;
    ``metrics``: per cell, ``final`` and ``best`` test loss, ``wall_time_s``, ``lr``,
    ``diverged_at``; ``curves``: per cell, ``steps``, ``test`` and ``train`` losses. The folder
    holds config.json, metrics.json and plots/learning_curves.png.
    """
    config.validate()
    device = resolve_device(config.device)
    run = start_run(out, f"experiment-{config.task}")
    task = make_task(config.task, config.length)
    data_seed = torch.Generator().manual_seed(config.seed)
    test_set = tuple(t.to(device) for t in task.sample(config.test_size, data_seed))
    train_state = data_seed.get_state()  # every cell draws the same training batches
    metrics: dict[str, Any] = {
        "task": task.name,
        "length": task.length,
        "metric": task.metric,
        "baseline": task.baseline,
        "metrics": {},
        "curves": {},
    }
    for name in config.cells:
        contender = CONTENDERS[name]
        lr = contender.lr if config.lr is None else config.lr
        model = build_model(
            name, task.input_size, task.output_size, config.hidden_size, task.every_step,
            config.seed,
        ).to(device)
        stream = torch.Generator().set_state(train_state)
        curve = train(
            model, task, test_set, stream, config.steps, config.batch_size, lr, config.clip,
            config.eval_every,
        )
        metrics["metrics"][name] = {
            "about": contender.about,
            "lr": lr,
            "final": curve.final,
            "best": min(curve.test),
            "wall_time_s": curve.wall_time_s,
            "diverged_at": curve.diverged_at,
        }
        metrics["curves"][name] = {"steps": curve.steps, "test": curve.test, "train": curve.train}
        if progress is not None:
            progress(f"{name}: final test {task.metric} {curve.final:.4g} "
                     f"in {curve.wall_time_s:.0f} s")
    figure = learning_curves_figure(
        {name: (c["steps"], c["test"]) for name, c in metrics["curves"].items()},
        task.baseline,
        f"baseline ({task.baseline_label})",
        f"test {task.metric}",
        f"{task.name} T={task.length}, hidden {config.hidden_size}, batch {config.batch_size}",
    )
    return finish_lab(run, asdict(config), metrics, figure, "learning_curves.png")


def long_range_table(metrics: dict[str, Any]) -> str:
    """Final and best test loss, the share of the baseline left, and wall time, per cell."""
    metric, baseline = metrics["metric"], metrics["baseline"]
    lines = [
        f"{metrics['task']} T={metrics['length']}: baseline test {metric} {baseline:.4g}",
        f"{'cell':<10}{'lr':>8}{'final':>10}{'best':>10}{'final/baseline':>16}{'time s':>8}",
    ]
    for name, m in metrics["metrics"].items():
        lines.append(
            f"{name:<10}{m['lr']:>8.0e}{m['final']:>10.4g}{m['best']:>10.4g}"
            f"{m['final'] / baseline:>16.3f}{m['wall_time_s']:>8.0f}"
        )
    return "\n".join(lines)
