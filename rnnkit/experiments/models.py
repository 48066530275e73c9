"""The contenders of the labs: a cell, its initialisation and its learning rate, by name.

The remedies for the vanishing gradient side by side, as the tutorial lists them: careful
initialisation (IRNN, orthogonal vs the default), and gated cells (LSTM, GRU). Each lab builds
the same small model around them: one `Recurrent` layer and a linear readout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnkit import init as rinit
from rnnkit.errors import InputError
from rnnkit.layers import Recurrent, Trace


@dataclass(frozen=True)
class Contender:
    """A named way to build the recurrent layer of a lab model.

    cell: a `Recurrent` cell name; initialiser: applied after torch's default, or None;
    lr: the Adam learning rate it trains well with on the adding problem (gradients clipped at
    norm 1): at 1e-3 the LSTM sat on the baseline for 3000+ steps at T=200 where 1e-2 left it
    after ~1750, and 1e-3 suits the IRNN once the rate cools down at the end (Le et al. 2015
    used 1e-4 to 1e-3); about: one line, with the source.
    """

    cell: str
    initialiser: Callable[[nn.Module], nn.Module] | None
    lr: float
    about: str


CONTENDERS: dict[str, Contender] = {
    "rnn": Contender("rnn", None, 1e-3, "tanh Elman RNN, torch's default init"),
    "rnn_orth": Contender(
        "rnn", rinit.orthogonal_, 1e-3, "tanh Elman RNN, orthogonal W_hh (Saxe et al. 2014)"
    ),
    "rnn_relu": Contender("rnn_relu", None, 1e-3, "relu Elman RNN, torch's default init"),
    "irnn": Contender(
        "irnn", None, 1e-3, "relu Elman RNN, W_hh = I, zero biases (Le et al. 2015)"
    ),
    "lstm": Contender(
        "lstm",
        rinit.unit_forget_bias_,
        1e-2,
        "LSTM, forget bias 1 (Hochreiter & Schmidhuber 1997; Jozefowicz et al. 2015)",
    ),
    "gru": Contender("gru", None, 1e-3, "GRU, torch's default init (Cho et al. 2014)"),
}


def parse_cells(cells: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"rnn,lstm"`` or ``["rnn", "lstm"]`` -> ``("rnn", "lstm")``; unknown names and empty
    or repeated lists are an `InputError` naming ``--cells``."""
    names = [c.strip() for c in cells.split(",")] if isinstance(cells, str) else list(cells)
    names = [c for c in names if c]
    if not names:
        raise InputError(f"--cells {cells!r} names no cell; choose from {', '.join(CONTENDERS)}")
    unknown = [c for c in names if c not in CONTENDERS]
    if unknown:
        raise InputError(
            f"--cells {','.join(names)}: unknown cell {unknown[0]!r}; "
            f"choose from {', '.join(CONTENDERS)}"
        )
    if len(set(names)) != len(names):
        raise InputError(f"--cells {','.join(names)} names a cell twice; list each once")
    return tuple(names)


class TaskModel(nn.Module):
    """One recurrent layer and a linear readout, at the last step or at every step.

    Shapes: x (B, T, H_in) -> (B, H_out) when ``every_step`` is False (adding problem),
    else (B, T, H_out) (copy task).
    """

    def __init__(
        self, rnn: Recurrent, output_size: int, every_step: bool
    ) -> None:
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, output_size)
        self.every_step = every_step

    def forward(self, x: Tensor, trace: bool = False) -> tuple[Tensor, Trace | None]:
        """The prediction, and the `Trace` of the recurrent layer when ``trace`` (else None)."""
        if trace:
            out, _, record = self.rnn(x, trace=True)
        else:
            (out, _), record = self.rnn(x), None
        return self.head(out if self.every_step else out[:, -1]), record


def build_model(
    name: str,
    input_size: int,
    output_size: int,
    hidden_size: int,
    every_step: bool,
    seed: int,
) -> TaskModel:
    """A `TaskModel` around contender ``name``, its weights drawn from ``seed`` (the caller's
    random state is left as it was), so every contender of a lab starts from the same seed."""
    contender = CONTENDERS[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rnn = Recurrent(contender.cell, input_size, hidden_size)
        if contender.initialiser is not None:
            contender.initialiser(rnn)
        return TaskModel(rnn, output_size, every_step)
