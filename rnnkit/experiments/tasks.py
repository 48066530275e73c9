"""The long-range tasks as learning problems: data, readout, loss and the baseline to beat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.data import synthetic
from rnnkit.errors import InputError


@dataclass(frozen=True)
class Task:
    """A synthetic task at one sequence length.

    sample(n, generator) -> (x, y) draws n sequences; every_step says whether the model is
    read out at every step (copy) or at the last one (adding); metric names what `loss`
    computes; baseline is that metric for the trivial, memoryless predictor.
    """

    name: str
    length: int
    input_size: int
    output_size: int
    every_step: bool
    metric: str
    baseline: float
    baseline_label: str
    sample: Callable[[int, torch.Generator], tuple[Tensor, Tensor]]

    def loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        """Mean squared error (adding) or mean cross-entropy per step in nats (copy)."""
        if self.metric == "mse":
            return F.mse_loss(prediction, target)
        return F.cross_entropy(prediction.flatten(0, 1), target.flatten())


TASKS = ("adding", "copy")


def make_task(name: str, length: int) -> Task:
    """The adding problem or the copy task with sequence length (delay for copy) T."""
    synthetic.check_length(length)
    if name == "adding":
        return Task(
            name="adding",
            length=length,
            input_size=2,
            output_size=1,
            every_step=False,
            metric="mse",
            baseline=synthetic.ADDING_BASELINE_MSE,
            baseline_label="predict 1: 0.167",
            sample=lambda n, gen: synthetic.adding_problem(n, length, gen),
        )
    if name == "copy":
        baseline = synthetic.copy_baseline_cross_entropy(length)
        return Task(
            name="copy",
            length=length,
            input_size=synthetic.COPY_ALPHABET,
            output_size=synthetic.COPY_ALPHABET,
            every_step=True,
            metric="cross-entropy",
            baseline=baseline,
            baseline_label=f"memoryless: {baseline:.3f}",
            sample=lambda n, gen: synthetic.copy_memory(n, length, gen),
        )
    raise InputError(f"task {name!r} is not known; choose one of {', '.join(TASKS)}")
