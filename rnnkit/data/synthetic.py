"""Long-range synthetic tasks: the adding problem and the copy-memory task.

Both are made so that the answer depends on inputs far back in time, with a trivial baseline
that any model reaches without memory; beating it by a wide margin means the model learned to
carry information across T steps. Each draw is reproducible: pass an integer seed, or one
``torch.Generator`` to draw many batches from one stream (fresh data at every training step).

Sources: Hochreiter & Schmidhuber 1997 (adding problem), in the form of Le et al. 2015 with
one marker in each half as in Arjovsky et al. 2016; copy-memory task: Arjovsky et al. 2016.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.errors import InputError

#: MSE of always predicting 1, the mean target: Var(U_1 + U_2) = 2/12 for U ~ U[0, 1].
ADDING_BASELINE_MSE = 1.0 / 6.0

#: Copy-memory alphabet: 0 is the blank, 1..8 are the data symbols, 9 the delimiter.
COPY_BLANK = 0
COPY_SYMBOLS = 8
COPY_DELIMITER = COPY_SYMBOLS + 1
COPY_ALPHABET = COPY_SYMBOLS + 2
#: How many symbols are shown and must be reproduced.
COPY_LENGTH = 10


def _generator(seed: int | torch.Generator) -> torch.Generator:
    return seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)


def check_length(length: int) -> None:
    """Both tasks need T >= 2; anything else is an `InputError` naming ``--length``."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 2:
        raise InputError(f"--length {length}: T must be an integer of at least 2")


def _check_count(n: int) -> None:
    if n < 1:
        raise InputError(f"n={n}: draw at least one sequence")


def adding_problem(n: int, length: int, seed: int | torch.Generator = 0) -> tuple[Tensor, Tensor]:
    r"""Draw n sequences of the adding problem.

    Channel 0 holds values :math:`u_t \sim U[0, 1]`; channel 1 is 0 except for two markers
    (value 1), one at a position uniform in the first half :math:`[0, \lfloor T/2 \rfloor)`,
    the other uniform in the second half. The target is :math:`u_a + u_b`, the sum of the two
    marked values, so the first one has to be remembered for at least T/2 steps. Predicting the
    constant 1 scores MSE 1/6 = 0.167 (`ADDING_BASELINE_MSE`).

    Args:
        n: number of sequences N.
        length: sequence length T >= 2.
        seed: an integer seed, or a generator to continue drawing from.

    Returns:
        x (N, T, 2) float32 and y (N, 1) float32, on the CPU.

    Example:
        >>> x, y = adding_problem(4, 100, seed=0)
        >>> tuple(x.shape), tuple(y.shape), x[..., 1].sum(1).tolist()
        ((4, 100, 2), (4, 1), [2.0, 2.0, 2.0, 2.0])
    """
    check_length(length)
    _check_count(n)
    gen = _generator(seed)
    half = length // 2
    values = torch.rand(n, length, generator=gen)
    first = torch.randint(0, half, (n,), generator=gen)
    second = torch.randint(half, length, (n,), generator=gen)
    rows = torch.arange(n)
    markers = torch.zeros(n, length)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=2)  # (N, T, 2)
    y = (values[rows, first] + values[rows, second])[:, None]  # (N, 1)
    return x, y


def copy_memory(n: int, length: int, seed: int | torch.Generator = 0) -> tuple[Tensor, Tensor]:
    """Draw n sequences of the copy-memory task with delay T: T + 20 steps each.

    Input tokens: 10 data symbols drawn uniformly from 1..8, T - 1 blanks (0), the delimiter
    (9), then 10 blanks. Target tokens: T + 10 blanks, then the 10 data symbols, in order. The
    model has to hold the 10 symbols for T + 10 steps and replay them after the delimiter.

    Args:
        n: number of sequences N.
        length: the delay T >= 2 (the sequences are T + 20 long).
        seed: an integer seed, or a generator to continue drawing from.

    Returns:
        x (N, T + 20, 10) float32, the tokens one-hot, and y (N, T + 20) int64 token ids.

    Example:
        >>> x, y = copy_memory(2, 5, seed=0)
        >>> tuple(x.shape), tuple(y.shape), bool((y[:, -10:] == x[:, :10].argmax(-1)).all())
        ((2, 25, 10), (2, 25), True)
    """
    check_length(length)
    _check_count(n)
    gen = _generator(seed)
    steps = length + 2 * COPY_LENGTH
    data = torch.randint(1, COPY_SYMBOLS + 1, (n, COPY_LENGTH), generator=gen)
    tokens = torch.full((n, steps), COPY_BLANK, dtype=torch.int64)
    tokens[:, :COPY_LENGTH] = data
    tokens[:, length + COPY_LENGTH - 1] = COPY_DELIMITER
    target = torch.full((n, steps), COPY_BLANK, dtype=torch.int64)
    target[:, -COPY_LENGTH:] = data
    return F.one_hot(tokens, COPY_ALPHABET).float(), target


def copy_baseline_cross_entropy(length: int) -> float:
    r"""Cross-entropy per step of the best memoryless strategy on the copy task with delay T.

    Predict the blank for the first T + 10 steps (certain, loss 0), then each data symbol with
    probability 1/8 for the last 10: :math:`10 \log 8 / (T + 20)` nats per step.
    """
    check_length(length)
    return COPY_LENGTH * math.log(COPY_SYMBOLS) / (length + 2 * COPY_LENGTH)
