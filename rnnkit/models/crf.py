r"""A linear-chain conditional random field over per-token scores (Lafferty et al. 2001), the
output layer of the BiLSTM-CRF taggers (Huang et al. 2015, Lample et al. 2016).

For emissions :math:`e_t \in \mathbb{R}^K` (one score per tag at each of the T real tokens),
a tag sequence :math:`y_{1..T}` scores

.. math::
    s(y) = \pi_{y_1} + \sum_{t=1}^{T} e_{t, y_t} + \sum_{t=2}^{T} A_{y_{t-1}, y_t} + \omega_{y_T}

with transition scores A (K, K), start scores :math:`\pi` and end scores :math:`\omega`, and
:math:`p(y \mid e) = \exp s(y) / Z`, :math:`Z = \sum_{y'} \exp s(y')`. Everything is batched
over B sentences padded to T steps, with a (B, T) mask of the real tokens (each sentence
has at least one; padding comes after them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.data.conll import split_tag

#: The score given to a forbidden transition: exp(-10000) is 0 in float32, and unlike -inf it
#: keeps every sum finite.
FORBIDDEN = -1.0e4


def allowed_transitions(tags: Sequence[str], scheme: str) -> tuple[Tensor, Tensor, Tensor]:
    """Which tag may follow which in ``scheme`` (``iob1``, ``iob2``, ``iobes``): boolean
    (K, K) ``allowed[i, j]`` (tag j after tag i), (K,) may start and (K,) may end a sentence.

    IOB2: ``I-X`` only after ``B-X`` or ``I-X``. IOB1: ``B-X`` only after ``B-X``/``I-X``
    (it separates two chunks of one type). IOBES: ``I-X``/``E-X`` only after ``B-X``/``I-X``,
    which must be followed by one of them; sentences start outside a chunk or with
    ``B``/``S`` and end with ``E``/``S``/``O``.

    >>> allowed, start, end = allowed_transitions(["O", "B-PER", "I-PER"], "iob2")
    >>> allowed.int().tolist(), start.tolist()
    ([[1, 1, 0], [1, 1, 1], [1, 1, 1]], [True, True, False])
    """
    split = [split_tag(t) for t in tags]

    def inside(prefix: str) -> bool:  # a chunk continues after this prefix (IOBES)
        return prefix in ("B", "I")

    def ok(prev: tuple[str, str], cur: tuple[str, str]) -> bool:
        (p, pt), (c, ct) = prev, cur
        if scheme == "iob2":
            return c != "I" or (p in ("B", "I") and pt == ct)
        if scheme == "iob1":
            return c != "B" or (p in ("B", "I") and pt == ct)
        if inside(p):
            return c in ("I", "E") and pt == ct
        return c not in ("I", "E")

    K = len(tags)
    allowed = torch.tensor([[ok(split[i], split[j]) for j in range(K)] for i in range(K)])
    if scheme == "iobes":
        start = torch.tensor([p not in ("I", "E") for p, _ in split])
        end = torch.tensor([not inside(p) for p, _ in split])
    else:
        start = torch.tensor([scheme == "iob1" or p != "I" for p, _ in split])
        end = torch.ones(K, dtype=torch.bool)
    return allowed, start, end


def _float32(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a CRF method on float32 emissions with autocast off: the sums and log-sum-exps
    over tag sequences lose too much in bfloat16 or float16 (mixed-precision training)."""

    @functools.wraps(method)
    def run(self: CRF, emissions: Tensor, *args: Tensor) -> Any:
        with torch.autocast(emissions.device.type, enabled=False):
            return method(self, emissions.float(), *args)

    return run


def viterbi(emissions: Tensor, mask: Tensor, A: Tensor, pi: Tensor,
            omega: Tensor) -> tuple[Tensor, Tensor]:
    r"""The best tag sequences (B, T) (0 on padding) and their scores (B,) under transitions
    A (K, K), start scores pi (K,) and end scores omega (K,) (`CRF.scores`):

    .. math::
        \delta_1 = \pi + e_1, \quad \delta_t(j) = e_{t,j} + \max_i(\delta_{t-1}(i) + A_{ij}),
        \quad \psi_t(j) = \arg\max_i(\ldots)

    then back from :math:`\arg\max_j(\delta_T(j) + \omega_j)` along :math:`\psi`. On
    padding :math:`\delta` is kept and :math:`\psi` is the identity, so the path walks back
    through the padding unchanged to the last real token. Written so that `torch.jit.script`
    compiles it (loops over any T), which puts the decoding into exported models.
    """
    B, T, K = emissions.shape
    delta = pi + emissions[:, 0]  # (B, K)
    identity = torch.arange(K, device=emissions.device).expand(B, K)
    pointers = [identity]  # psi_1 is never followed
    for t in range(1, T):
        best, arg = (delta[:, :, None] + A).max(dim=1)  # (B, K): over the previous tag
        real = mask[:, t, None]
        delta = torch.where(real, best + emissions[:, t], delta)
        pointers.append(torch.where(real, arg, identity))
    final, tag = (delta + omega).max(dim=1)
    path = [tag]  # y_T, y_{T-1}, ..., y_1
    for t in range(T - 1, 0, -1):
        tag = pointers[t].gather(1, tag[:, None]).squeeze(1)
        path.append(tag)
    tags = torch.stack(path, 1).flip(1)
    return tags.masked_fill(~mask, 0), final


class CRF(nn.Module):
    r"""Linear-chain CRF: the sequence score, the log-partition (forward algorithm), the
    best sequence (Viterbi) and the per-token marginals (forward-backward).

    Args:
        num_tags: K.
        allowed: optional ``(allowed (K, K), start (K,), end (K,))`` boolean masks (see
            `allowed_transitions`); forbidden moves score `FORBIDDEN` whatever was learned.

    Parameters ``transitions`` (K, K) (``transitions[i, j]``: tag j after tag i), ``start``
    and ``end`` (K,), zeros at first. Shapes: emissions (B, T, K), tags (B, T) long, mask
    (B, T) bool (True on real tokens, at least the first of each row). Every method computes
    in float32, whatever the precision of the emissions or an enclosing autocast.

    Example:
        >>> crf = CRF(3)
        >>> e, mask = torch.randn(2, 4, 3), torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]).bool()
        >>> tags, best = crf.decode(e, mask)
        >>> bool((crf.score(e, tags, mask) - best).abs().max() < 1e-5)
        True
        >>> bool(((crf.log_partition(e, mask) - best) >= 0).all())
        True
    """

    def __init__(self, num_tags: int,
                 allowed: tuple[Tensor, Tensor, Tensor] | None = None) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        masks = allowed or (torch.ones(num_tags, num_tags, dtype=torch.bool),
                            torch.ones(num_tags, dtype=torch.bool),
                            torch.ones(num_tags, dtype=torch.bool))
        # buffers, not saved: they follow from the tags and the scheme
        for name, mask in zip(("allowed", "allowed_start", "allowed_end"), masks, strict=True):
            self.register_buffer(name, mask.bool(), persistent=False)

    def scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """A, pi, omega with the forbidden moves set to `FORBIDDEN`."""
        return (self.transitions.masked_fill(~self.allowed, FORBIDDEN),
                self.start.masked_fill(~self.allowed_start, FORBIDDEN),
                self.end.masked_fill(~self.allowed_end, FORBIDDEN))

    @_float32
    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """s(y) of the given tag sequences (B,)."""
        A, pi, omega = self.scores()
        B, T, _ = emissions.shape
        m = mask.to(emissions.dtype)
        emitted = emissions.gather(2, tags[..., None]).squeeze(2)  # (B, T): e_{t, y_t}
        moved = A[tags[:, :-1], tags[:, 1:]]  # (B, T-1): A_{y_{t-1}, y_t}
        last = tags.gather(1, (mask.sum(1, keepdim=True) - 1).long()).squeeze(1)  # y_T
        return (pi[tags[:, 0]] + (emitted * m).sum(1) + (moved * m[:, 1:]).sum(1)
                + omega[last])

    @_float32
    def forward_scores(self, emissions: Tensor, mask: Tensor) -> Tensor:
        r"""The forward variables :math:`\alpha_t(j) = \log \sum_{y_{1..t}, y_t = j}
        \exp s(y_{1..t})` (B, T, K), in log space:

        .. math::
            \alpha_1 = \pi + e_1, \qquad
            \alpha_t(j) = e_{t, j} + \log \sum_i \exp(\alpha_{t-1}(i) + A_{ij});

        on padding :math:`\alpha_t = \alpha_{t-1}` (so the last column is that of the last
        real token)."""
        A, pi, _ = self.scores()
        alpha = pi + emissions[:, 0]  # (B, K)
        alphas = [alpha]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha[:, :, None] + A, dim=1) + emissions[:, t]  # (B, K)
            alpha = torch.where(mask[:, t, None], step, alpha)
            alphas.append(alpha)
        return torch.stack(alphas, 1)

    @_float32
    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        r""":math:`\log Z = \log \sum_j \exp(\alpha_T(j) + \omega_j)` (B,)."""
        _, _, omega = self.scores()
        return torch.logsumexp(self.forward_scores(emissions, mask)[:, -1] + omega, dim=1)

    @_float32
    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        r"""The negative log-likelihood :math:`\log Z - s(y)` of each sentence (B,)."""
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    @_float32
    def decode(self, emissions: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Viterbi (see `viterbi`): the best sequences (B, T) (0 on padding) and their
        scores (B,)."""
        return viterbi(emissions, mask, *self.scores())

    @_float32
    def marginals(self, emissions: Tensor, mask: Tensor) -> Tensor:
        r"""Per-token tag probabilities :math:`p(y_t = j \mid e)` (B, T, K) by forward-backward:

        .. math::
            \beta_T = \omega, \quad \beta_t(i) = \log \sum_j \exp(A_{ij} + e_{t+1,j} +
            \beta_{t+1}(j)), \quad p(y_t = j) = \exp(\alpha_t(j) + \beta_t(j) - \log Z)

        (:math:`\beta` of the last real token is :math:`\omega`; padding rows are 0)."""
        A, _, omega = self.scores()
        alphas = self.forward_scores(emissions, mask)  # (B, T, K)
        log_z = torch.logsumexp(alphas[:, -1] + omega, dim=1)  # (B,)
        T = emissions.shape[1]
        beta = omega.expand_as(emissions[:, 0])
        betas = [beta]
        for t in range(T - 2, -1, -1):
            step = torch.logsumexp(A + (emissions[:, t + 1] + beta)[:, None, :], dim=2)
            beta = torch.where(mask[:, t + 1, None], step, omega.expand_as(step))
            betas.append(beta)
        betas = torch.stack(betas[::-1], 1)
        probs = torch.exp(alphas + betas - log_z[:, None, None])
        return probs * mask[..., None]
