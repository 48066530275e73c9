"""Attention over an encoder's memory: additive (Bahdanau et al. 2015) and multiplicative
dot/general (Luong et al. 2015) scores, a softmax masked to the real (unpadded) positions.

Every attention here is used in two steps, so that the part that depends only on the memory is
computed once per sequence, not once per decoding step:

    keys = attention.keys(memory)                           # (B, S, A), once
    context, weights = attention(query, keys, memory, mask) # each step

``weights`` (B, S) are >= 0 and sum to 1 over the positions where ``mask`` is True; padded
positions get exactly 0. ``context = sum_s weights_s * memory_s`` (B, H_m).

With ``coverage=True`` (See et al. 2017, eq. 11) the attention also reads the coverage vector
c (B, S), the attention summed over the earlier decoding steps: each key gets ``w_c c_s``
added, so the additive score is ``v^T tanh(W_q q + W_k m_s + w_c c_s)`` and the
multiplicative ones ``q^T (W_a m_s + w_c c_s)``; the model can learn to avoid what it
already attended to.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

ATTENTIONS = ("additive", "dot", "general")


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over the last dimension of ``scores`` (B, S), with positions where ``mask``
    (B, S, bool) is False given weight exactly 0. Every row needs one True position."""
    return F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


class Attention(nn.Module):
    """Base: ``score(query, keys)`` (B, S) -> masked softmax -> weighted sum of the memory.
    `with_coverage` adds the coverage input ``w_c`` (a vector of the keys' size)."""

    def __init__(self) -> None:
        super().__init__()
        self.cover: nn.Linear | None = None

    def with_coverage(self, key_size: int) -> Attention:
        """Give this attention a coverage input: ``w_c c_s`` is added to every key."""
        self.cover = nn.Linear(1, key_size, bias=False)  # w_c
        return self

    def keys(self, memory: Tensor) -> Tensor:
        """What the score needs from the memory (B, S, H_m), computed once per sequence."""
        return memory

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalised scores (B, S) of a query (B, H_q) against keys (B, S, A)."""
        raise NotImplementedError

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor,
                coverage: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(context (B, H_m), weights (B, S))`` for a query (B, H_q); ``coverage`` (B, S) is
        read only by an attention made `with_coverage`."""
        if self.cover is not None:
            keys = keys + self.cover(coverage[..., None])  # (B, S, A)
        weights = masked_softmax(self.score(query, keys), mask)
        context = torch.bmm(weights[:, None, :], memory)[:, 0]  # (B, H_m)
        return context, weights


class AdditiveAttention(Attention):
    r"""Bahdanau et al. 2015 (eq. 6), "concat" in Luong et al. 2015:

    .. math:: e_s = v^\top \tanh(W_q q + W_k m_s)

    Args:
        query_size: H_q, the decoder state's size.
        memory_size: H_m, the size of one memory vector m_s.
        attention_size: A, the hidden size of the scoring network.
    """

    def __init__(self, query_size: int, memory_size: int, attention_size: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_size, attention_size, bias=False)
        self.key = nn.Linear(memory_size, attention_size)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """``W_k m_s`` for every position: (B, S, A)."""
        return self.key(memory)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """``v^T tanh(W_q q + W_k m_s)``: (B, S)."""
        return self.v(torch.tanh(self.query(query)[:, None, :] + keys))[..., 0]


class DotAttention(Attention):
    r"""Luong et al. 2015, "dot": :math:`e_s = q^\top m_s` (needs H_q = H_m; no parameters)."""

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """``q . m_s``: (B, S)."""
        return torch.bmm(keys, query[:, :, None])[..., 0]


class GeneralAttention(DotAttention):
    r"""Luong et al. 2015, "general": :math:`e_s = q^\top W_a m_s`; ``W_a m_s`` is the key."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.key = nn.Linear(memory_size, query_size, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """``W_a m_s`` for every position: (B, S, H_q)."""
        return self.key(memory)


def make_attention(kind: str, query_size: int, memory_size: int,
                   coverage: bool = False) -> Attention:
    """An attention by name (see `ATTENTIONS`); the additive one scores in ``query_size``
    dimensions; ``coverage`` gives it the coverage input (keys of every kind have
    ``query_size`` entries). ``dot`` with ``query_size != memory_size`` raises ValueError."""
    if kind == "additive":
        attention: Attention = AdditiveAttention(query_size, memory_size, query_size)
    elif kind == "general":
        attention = GeneralAttention(query_size, memory_size)
    elif kind == "dot":
        if query_size != memory_size:
            raise ValueError(f"dot attention needs equal query and memory sizes; got "
                             f"{query_size} and {memory_size}: use 'general' or 'additive'")
        attention = DotAttention()
    else:
        raise ValueError(f"attention={kind!r} is not known; choose one of {ATTENTIONS}")
    return attention.with_coverage(query_size) if coverage else attention
