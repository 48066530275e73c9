"""The training loop of the labs: fresh batches every step, Adam, gradient-norm clipping.

Deliberately plain (no Lightning): the labs compare cells on identical data, so every
contender sees the same test set and the same stream of training batches, drawn from one seed.
Training runs on the fused fast path; the trace path is kept for the gradient measurements.
The learning rate is constant, then falls linearly to 0 over the last `COOLDOWN` share of the
steps, so that the final test loss is not a snapshot of Adam's oscillations (the IRNN's, in
particular, swing by a factor of 5 from one evaluation to the next at a constant rate).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import Tensor

from rnnkit.errors import InputError
from rnnkit.experiments.models import TaskModel
from rnnkit.experiments.tasks import Task

#: Share of the training steps at the end over which the learning rate falls to 0.
COOLDOWN = 0.2


@dataclass
class LearningCurve:
    """Test loss at step 0 and every ``eval_every`` steps, the training loss averaged over the
    steps since the previous point, and the wall time of the training (evaluation included).

    ``diverged_at``: the evaluation step at which the mean training loss since the previous
    one was found not finite (training stopped there), else None.
    """

    steps: list[int] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    wall_time_s: float = 0.0
    diverged_at: int | None = None

    @property
    def final(self) -> float:
        """The last test loss (NaN when training diverged)."""
        return self.test[-1] if self.diverged_at is None else math.nan


def check_training(steps: int, batch_size: int, lr: float | None, clip: float) -> None:
    """Validate the shared training arguments; each error names its option."""
    if steps < 1:
        raise InputError(f"--steps {steps}: train for at least 1 step")
    if batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: use at least 1 sequence per batch")
    if lr is not None and not lr > 0:
        raise InputError(f"--lr {lr}: the learning rate must be positive")
    if not clip >= 0:
        raise InputError(f"--clip {clip}: give a positive max gradient norm, or 0 for none")


@torch.no_grad()
def evaluate(model: TaskModel, task: Task, x: Tensor, y: Tensor) -> float:
    """The task's loss of ``model`` on (x, y), in eval mode, on the fast path."""
    was_training = model.training
    model.eval()
    loss = task.loss(model(x)[0], y).item()
    model.train(was_training)
    return loss


def train(
    model: TaskModel,
    task: Task,
    test_set: tuple[Tensor, Tensor],
    generator: torch.Generator,
    steps: int,
    batch_size: int,
    lr: float,
    clip: float,
    eval_every: int,
) -> LearningCurve:
    """Train ``model`` with Adam for ``steps`` steps on fresh batches drawn from ``generator``.

    Gradients are clipped to total norm ``clip`` (0: no clipping; Pascanu et al. 2013); the
    learning rate ``lr`` cools down to 0 over the last `COOLDOWN` of the steps. The model and
    the test set must be on the same device; batches follow the model there. A non-finite
    training loss (checked at each evaluation) stops training.
    """
    device = next(model.parameters()).device
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    cooldown = max(1.0, COOLDOWN * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda done: min(1.0, (steps - done) / cooldown)
    )
    curve = LearningCurve()
    curve.steps.append(0)
    curve.test.append(evaluate(model, task, *test_set))
    curve.train.append(math.nan)
    start = time.perf_counter()
    since_eval: list[Tensor] = []
    model.train()
    for step in range(1, steps + 1):
        x, y = (t.to(device) for t in task.sample(batch_size, generator))
        loss = task.loss(model(x)[0], y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        schedule.step()
        since_eval.append(loss.detach())
        if step % eval_every == 0 or step == steps:
            train_loss = torch.stack(since_eval).mean().item()
            since_eval.clear()
            if not math.isfinite(train_loss):
                curve.diverged_at = step
                break
            curve.steps.append(step)
            curve.test.append(evaluate(model, task, *test_set))
            curve.train.append(train_loss)
    curve.wall_time_s = time.perf_counter() - start
    return curve
