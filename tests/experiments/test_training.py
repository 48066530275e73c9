import math

import pytest
import torch

from rnnkit.errors import InputError
from rnnkit.experiments.models import build_model
from rnnkit.experiments.tasks import make_task
from rnnkit.experiments.training import check_training, train


def setup(length=4, hidden=8):
    task = make_task("adding", length)
    generator = torch.Generator().manual_seed(0)
    test_set = task.sample(256, generator)
    return task, build_model("gru", 2, 1, hidden, False, seed=0), test_set, generator


def test_training_learns_a_short_adding_problem():
    task, model, test_set, generator = setup()
    curve = train(model, task, test_set, generator, 200, 32, 1e-2, 1.0, 50)
    assert curve.steps == [0, 50, 100, 150, 200]
    assert math.isnan(curve.train[0]) and all(math.isfinite(v) for v in curve.train[1:])
    assert curve.final < 0.5 * task.baseline < curve.test[0]
    assert curve.diverged_at is None and curve.wall_time_s > 0


def test_divergence_stops_training_and_is_recorded():
    task, model, test_set, generator = setup()
    curve = train(model, task, test_set, generator, 20, 8, 1e30, 0.0, 5)
    assert curve.diverged_at is not None and math.isnan(curve.final)
    assert len(curve.steps) < 5


@pytest.mark.parametrize(
    "args,message",
    [
        ((0, 8, 1e-3, 1.0), "--steps 0: train for at least 1 step"),
        ((10, 0, 1e-3, 1.0), "--batch-size 0: use at least 1 sequence per batch"),
        ((10, 8, -1.0, 1.0), "--lr -1.0: the learning rate must be positive"),
        ((10, 8, None, -1.0), "--clip -1.0: give a positive max gradient norm, or 0 for none"),
    ],
)
def test_bad_training_settings(args, message):
    with pytest.raises(InputError, match=message):
        check_training(*args)
