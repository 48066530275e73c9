"""Deep ensembles (Lakshminarayanan et al. 2017): several copies of one network, each
initialised and regularised (dropout masks) at random on its own, trained side by side on the
same batches, each with its own loss; their averaged probabilities are the prediction.

    net = Ensemble([SequenceClassifier(config) for _ in range(3)])
    net.train(); net(tokens, lengths).shape      # (B, K, C): one row of logits per member
    loss = member_cross_entropy(net(...), labels)  # the mean of the members' own losses
    net.eval();  net(tokens, lengths).shape      # (B, C): log of the mean probability

Training each member on its own loss (not the loss of the average) keeps them independent,
which is what makes averaging them pay off; in eval mode the output is a log-probability
vector, so softmax, argmax and cross-entropy read it like any classifier's logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class Ensemble(nn.Module):
    """K member networks with the same inputs and a (B, C) logits output each.

    ``forward(*args)``: in training mode the members' logits stacked as (B, K, C); in eval
    mode :math:`\\log \\frac{1}{K}\\sum_k \\mathrm{softmax}(z_k)` (B, C). With ``trace=True``
    (eval) also the first member's `Trace`: the glass box shows one member's gates.
    ``config`` and ``rnn`` are the first member's (all members share the config).
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members; got {len(members)}")
        self.members = nn.ModuleList(members)

    @property
    def config(self) -> Any:
        """The members' common config."""
        return self.members[0].config

    @property
    def rnn(self) -> nn.Module:
        """The first member's recurrent layers (what the glass box traces)."""
        return self.members[0].rnn

    def forward(self, *args: Any, trace: bool = False) -> Tensor | tuple[Tensor, Any]:
        """Members' logits (B, K, C) when training, else log mean probabilities (B, C)."""
        traced = None
        outputs = []
        for k, member in enumerate(self.members):
            if trace and k == 0:
                out, traced = member(*args, trace=True)
            else:
                out = member(*args)
            outputs.append(out)
        stacked = torch.stack(outputs, dim=1)  # (B, K, C)
        if self.training and not trace:
            return stacked
        averaged = torch.logsumexp(F.log_softmax(stacked, -1), dim=1) - math.log(len(outputs))
        return (averaged, traced) if trace else averaged


def member_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy of (B, C) logits, or the mean of each member's cross-entropy for an
    `Ensemble`'s training output (B, K, C) against the same (B,) targets."""
    if logits.dim() == 3:
        k = logits.shape[1]
        return F.cross_entropy(logits.flatten(0, 1), target.repeat_interleave(k))
    return F.cross_entropy(logits, target)
