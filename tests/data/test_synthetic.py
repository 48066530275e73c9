import math

import pytest
import torch
from torch.nn import functional as F

from rnnkit.data.synthetic import (
    ADDING_BASELINE_MSE,
    COPY_ALPHABET,
    COPY_DELIMITER,
    adding_problem,
    copy_baseline_cross_entropy,
    copy_memory,
)
from rnnkit.errors import InputError


def test_adding_problem_has_two_markers_one_per_half_and_their_sum_as_target():
    x, y = adding_problem(500, 30, seed=1)
    assert x.shape == (500, 30, 2) and y.shape == (500, 1)
    assert x.dtype == y.dtype == torch.float32
    values, markers = x[..., 0], x[..., 1]
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert (markers[:, :15].sum(1) == 1).all() and (markers[:, 15:].sum(1) == 1).all()
    torch.testing.assert_close(y[:, 0], (values * markers).sum(1))


def test_adding_problem_distribution_and_baseline():
    x, y = adding_problem(20_000, 20, seed=0)
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= 0 and values.max() < 1
    assert values.mean().item() == pytest.approx(0.5, abs=0.005)
    assert values.var().item() == pytest.approx(1 / 12, abs=0.002)
    # each position of a half is marked equally often (2000 expected per position)
    counts = markers.sum(0)
    assert counts.min() > 1800 and counts.max() < 2200
    # predicting the mean target 1 scores the stated baseline, 1/6 = 0.167
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)
    assert F.mse_loss(torch.ones_like(y), y).item() == pytest.approx(ADDING_BASELINE_MSE, abs=0.005)
    assert ADDING_BASELINE_MSE == pytest.approx(0.1667, abs=1e-4)


def test_seed_reproduces_and_a_generator_continues_the_stream():
    a = adding_problem(4, 10, seed=3)
    b = adding_problem(4, 10, seed=3)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    gen = torch.Generator().manual_seed(3)
    first, second = adding_problem(4, 10, gen), adding_problem(4, 10, gen)
    assert torch.equal(first[0], a[0]) and not torch.equal(second[0], a[0])
    x_copy, _ = copy_memory(4, 10, seed=3)
    assert torch.equal(x_copy, copy_memory(4, 10, seed=3)[0])


def test_copy_memory_layout():
    T = 7
    x, y = copy_memory(50, T, seed=0)
    assert x.shape == (50, T + 20, COPY_ALPHABET) and y.shape == (50, T + 20)
    tokens = x.argmax(-1)
    assert (x.sum(-1) == 1).all()  # one-hot
    data = tokens[:, :10]
    assert data.min() >= 1 and data.max() <= 8
    assert (tokens[:, 10 : T + 9] == 0).all()
    assert (tokens[:, T + 9] == COPY_DELIMITER).all()
    assert (tokens[:, T + 10 :] == 0).all()
    assert (y[:, : T + 10] == 0).all()
    assert torch.equal(y[:, T + 10 :], data)


@pytest.mark.parametrize("T", [2, 100, 500])
def test_copy_baseline_is_the_memoryless_cross_entropy(T):
    assert copy_baseline_cross_entropy(T) == pytest.approx(10 * math.log(8) / (T + 20))
    # the memoryless strategy: certain blank for T + 10 steps, then uniform over the 8 symbols
    _, y = copy_memory(200, T, seed=0)
    log_p = torch.full((200, T + 20, COPY_ALPHABET), -math.inf)
    log_p[:, : T + 10, 0] = 0.0
    log_p[:, T + 10 :, 1:9] = -math.log(8)
    loss = F.nll_loss(log_p.flatten(0, 1), y.flatten())
    assert loss.item() == pytest.approx(copy_baseline_cross_entropy(T), rel=1e-5)


@pytest.mark.parametrize("make", [adding_problem, copy_memory])
def test_bad_lengths_and_counts_name_the_fix(make):
    with pytest.raises(InputError, match="--length 1: T must be an integer of at least 2"):
        make(4, 1)
    with pytest.raises(InputError, match="n=0: draw at least one sequence"):
        make(0, 10)
    with pytest.raises(InputError, match="--length 1"):
        copy_baseline_cross_entropy(1)
