import math

import pytest
import torch

from rnnkit.errors import InputError
from rnnkit.experiments.tasks import make_task


def test_adding_task():
    task = make_task("adding", 10)
    x, y = task.sample(4, torch.Generator().manual_seed(0))
    assert (task.input_size, task.output_size, task.every_step) == (2, 1, False)
    assert x.shape == (4, 10, 2) and task.baseline == pytest.approx(1 / 6)
    assert task.loss(torch.ones_like(y), y) == torch.nn.functional.mse_loss(torch.ones_like(y), y)


def test_copy_task_loss_is_cross_entropy_per_step():
    task = make_task("copy", 30)
    x, y = task.sample(4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 50, 10) and task.every_step
    assert task.baseline == pytest.approx(10 * math.log(8) / 50)
    uniform = torch.zeros(4, 50, 10)
    assert task.loss(uniform, y).item() == pytest.approx(math.log(10))


def test_unknown_task_and_bad_length():
    with pytest.raises(InputError, match="task 'add' is not known; choose one of adding, copy"):
        make_task("add", 10)
    with pytest.raises(InputError, match="--length 0: T must be an integer of at least 2"):
        make_task("copy", 0)
