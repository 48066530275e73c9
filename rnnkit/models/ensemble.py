"""Deep ensembles (Lakshminarayanan et al. 2017): several copies of one network, each
initialised and regularised (dropout masks) at random on its own, whose averaged predictions
are the prediction.

    net = Ensemble([SequenceClassifier(config) for _ in range(3)])
    net.train(); net(tokens, lengths).shape      # (B, K, C): one row of logits per member
    loss = member_cross_entropy(net(...), labels)  # the mean of the members' own losses
    net.eval();  net(tokens, lengths).shape      # (B, C): log of the mean probability

    net = Ensemble([forecaster_0.net, forecaster_1.net], combine="mean")
    net.eval();  net(x).shape                    # (B, H, n): the mean forecast

Two ways to train them. Classifiers train their members side by side on the same batches,
each on its own loss (not the loss of the average, which would couple them). Forecasters
train each member as a forecaster of its own, one after another, each with its own seed
(initial weights, batch order, dropout masks) and its own early stopping, and join the
trained networks (`rnnkit.models.forecaster.Forecaster.join`): on ETTh1, members trained
side by side ended nearly alike (the same batches, the same stopping epoch) while separate
seeds did not, and diversity is what averaging pays for.
Classifiers combine probabilities: in eval mode the output is a log-probability vector, so
softmax, argmax and cross-entropy read it like any classifier's logits. Regressors
(forecasters) combine by the plain mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

#: How the members' outputs become one: "probability" (classifier logits, last dimension the
#: classes) or "mean" (regression outputs of any shape).
COMBINE = ("probability", "mean")


class Ensemble(nn.Module):
    """K member networks with the same inputs and outputs of one shape (B, ...) each.

    ``forward(*args)``: in training mode the members' outputs stacked as (B, K, ...); in eval
    mode one (B, ...) output: with ``combine="probability"`` (logits (B, C))
    :math:`\\log \\frac{1}{K}\\sum_k \\mathrm{softmax}(z_k)`, with ``"mean"``
    :math:`\\frac{1}{K}\\sum_k y_k`. With ``trace=True`` (eval) also the first member's
    `Trace`: the glass box shows one member's gates. ``config`` and ``rnn`` are the first
    member's (all members share the config).
    """

    def __init__(self, members: Sequence[nn.Module], combine: str = "probability") -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members; got {len(members)}")
        if combine not in COMBINE:
            raise ValueError(f"combine={combine!r}; expected one of {COMBINE}")
        self.members = nn.ModuleList(members)
        self.combine = combine

    @property
    def config(self) -> Any:
        """The members' common config."""
        return self.members[0].config

    @property
    def rnn(self) -> nn.Module:
        """The first member's recurrent layers (what the glass box traces)."""
        return self.members[0].rnn

    def forward(self, *args: Any, trace: bool = False) -> Tensor | tuple[Tensor, Any]:
        """Members' outputs (B, K, ...) when training, else their combination (B, ...)."""
        traced = None
        outputs = []
        for k, member in enumerate(self.members):
            if trace and k == 0:
                out, traced = member(*args, trace=True)
            else:
                out = member(*args)
            outputs.append(out)
        stacked = torch.stack(outputs, dim=1)  # (B, K, ...)
        if self.training and not trace:
            return stacked
        if self.combine == "mean":
            averaged = stacked.mean(1)
        else:
            averaged = torch.logsumexp(F.log_softmax(stacked, -1), dim=1) - math.log(len(outputs))
        return (averaged, traced) if trace else averaged


def one_or_ensemble(make: Callable[[], nn.Module], k: int,
                    combine: str = "probability") -> nn.Module:
    """``make()`` once when ``k`` is 1, else an `Ensemble` of ``k`` of them (each initialised
    from the random generator in turn)."""
    if k == 1:
        return make()
    return Ensemble([make() for _ in range(k)], combine)


def member_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy of (B, C) logits, or the mean of each member's cross-entropy for an
    `Ensemble`'s training output (B, K, C) against the same (B,) targets."""
    if logits.dim() == 3:
        k = logits.shape[1]
        return F.cross_entropy(logits.flatten(0, 1), target.repeat_interleave(k))
    return F.cross_entropy(logits, target)
