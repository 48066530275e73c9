"""The attentional recurrent decoder and its search (greedy and batched beam search).

Written once for every encoder-decoder in rnnkit: a decoder only sees an encoder's *memory*
(B, S, H_m), a mask of the real positions (B, S) and an initial recurrent state, so a text
encoder (`Seq2Seq`) and an image encoder (a CNN's feature grid as S positions) share it.

    decoder = AttentionDecoder(vocab_size, embedding_dim, hidden_size, memory_size)
    state = decoder.initial_state(rnn_state)                 # or None: zeros
    logits = decoder(targets_in, memory, mask, state)        # training, teacher forcing
    best = beam_search(decoder, memory, mask, state, bos, eos, beam_size=5)
    best.tokens[0], best.scores[0], best.attention[0]        # ids, log P, (T, S) weights
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.errors import InputError
from rnnkit.layers import Recurrent
from rnnkit.models.attention import make_attention


class DecoderMemory(NamedTuple):
    """What the decoder attends to, prepared once: memory (B, S, H_m), the attention's keys
    (B, S, A) and the mask of real positions (B, S, bool)."""

    memory: Tensor
    keys: Tensor
    mask: Tensor

    def index_select(self, index: Tensor) -> DecoderMemory:
        """The rows ``index`` (N,) of each part: to expand for beams or reorder."""
        return DecoderMemory(*(part.index_select(0, index) for part in self))


class DecoderState(NamedTuple):
    """The decoder's state between steps: the recurrent state (h (L, B, H), or
    ``LSTMState(h, c)``) and the last attentional vector ``feed`` (B, H)."""

    rnn: Any
    feed: Tensor


class Searchable(Protocol):
    """What `greedy_search` and `beam_search` need from a decoder."""

    def prepare(self, memory: Tensor, mask: Tensor) -> DecoderMemory:
        """Precompute what every step needs from the memory."""

    def step(self, tokens: Tensor, state: Any, memory: DecoderMemory
             ) -> tuple[Tensor, Any, Tensor]:
        """One step from the previous tokens (B,): (logits (B, V), state, weights (B, S))."""

    def reorder_state(self, state: Any, index: Tensor) -> Any:
        """The state of the rows ``index`` (N,)."""


class AttentionDecoder(nn.Module):
    r"""A recurrent decoder with attention and input feeding (Luong et al. 2015, sec. 3.3).

    At step t, from the previous token :math:`y_{t-1}` and attentional vector
    :math:`\tilde h_{t-1}`:

    .. math::
        h_t &= \mathrm{RNN}([E y_{t-1}; \tilde h_{t-1}],\ h_{t-1}) \\
        a_t &= \mathrm{softmax}_{s \in \mathrm{real}}\ \mathrm{score}(h_t, m_s),\quad
        c_t = \textstyle\sum_s a_{t,s} m_s \\
        \tilde h_t &= \tanh(W_c [c_t; h_t]),\quad
        p(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_o \tilde h_t)

    with ``score`` additive (Bahdanau et al. 2015) or dot/general (Luong et al. 2015), see
    `rnnkit.models.attention`. Feeding :math:`\tilde h_{t-1}` back in lets the decoder know
    what it attended to before.

    Args:
        vocab_size: V, output tokens (id 0 is padding).
        embedding_dim: E, size of the token embeddings.
        hidden_size: H, units of each recurrent layer.
        memory_size: H_m, size of one memory vector.
        num_layers: L, stacked recurrent layers.
        cell: ``"lstm"`` or ``"gru"`` (any name `Recurrent` knows).
        attention: ``"additive"``, ``"dot"`` or ``"general"``.
        dropout: on embeddings, between layers, and on the attentional vector.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, memory_size: int,
                 num_layers: int = 1, cell: str = "lstm", attention: str = "general",
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.rnn = Recurrent(cell, embedding_dim + hidden_size, hidden_size, num_layers,
                             dropout=dropout if num_layers > 1 else 0.0)
        self.attention = make_attention(attention, hidden_size, memory_size)
        self.combine = nn.Linear(memory_size + hidden_size, hidden_size, bias=False)  # W_c
        self.out = nn.Linear(hidden_size, vocab_size)  # W_o
        self.dropout = nn.Dropout(dropout)

    def initial_state(self, rnn_state: Any = None, batch: int | None = None,
                      device: torch.device | None = None) -> DecoderState:
        """The state before the first step: ``rnn_state`` (h (L, B, H) or ``LSTMState``;
        None: zeros for ``batch`` rows) and a zero attentional vector."""
        if rnn_state is None:
            zeros = torch.zeros(self.rnn.num_layers, batch, self.hidden_size, device=device)
            rnn_state = self.rnn.state_type(*(zeros for _ in self.rnn.state_type._fields))
            rnn_state = rnn_state if len(rnn_state) > 1 else rnn_state[0]
        h = rnn_state if isinstance(rnn_state, Tensor) else rnn_state[0]
        return DecoderState(rnn_state, h.new_zeros(h.shape[1], self.hidden_size))

    def prepare(self, memory: Tensor, mask: Tensor) -> DecoderMemory:
        """The memory (B, S, H_m), its attention keys and the mask (B, S) of real positions."""
        return DecoderMemory(memory, self.attention.keys(memory), mask)

    def attend(self, embedded: Tensor, state: DecoderState,
               memory: DecoderMemory) -> tuple[Tensor, DecoderState, Tensor]:
        """One step from an embedded token (B, E): (attentional vector (B, H), new state,
        attention weights (B, S))."""
        x = torch.cat([embedded, state.feed], dim=-1)[:, None, :]  # (B, 1, E + H)
        out, rnn_state = self.rnn(x, state.rnn)
        h = out[:, 0]  # (B, H), the top layer
        context, weights = self.attention(h, memory.keys, memory.memory, memory.mask)
        feed = torch.tanh(self.combine(torch.cat([context, h], dim=-1)))  # (B, H)
        return feed, DecoderState(rnn_state, feed), weights

    def project(self, feed: Tensor) -> Tensor:
        """Logits over the vocabulary from attentional vectors (..., H) -> (..., V)."""
        return self.out(self.dropout(feed))

    def step(self, tokens: Tensor, state: DecoderState,
             memory: DecoderMemory) -> tuple[Tensor, DecoderState, Tensor]:
        """One decoding step from the previous tokens (B,): (logits (B, V), state, weights)."""
        feed, state, weights = self.attend(self.dropout(self.embedding(tokens)), state, memory)
        return self.project(feed), state, weights

    def reorder_state(self, state: DecoderState, index: Tensor) -> DecoderState:
        """The state of rows ``index`` (N,): for beams, expanded or following back-pointers."""
        rnn = state.rnn
        if isinstance(rnn, Tensor):
            rnn = rnn.index_select(1, index)
        else:
            rnn = type(rnn)(*(part.index_select(1, index) for part in rnn))
        return DecoderState(rnn, state.feed.index_select(0, index))

    def forward(self, targets_in: Tensor, memory: Tensor, mask: Tensor,
                state: DecoderState | None = None, teacher_forcing: float = 1.0) -> Tensor:
        """Logits (B, T, V) for the inputs ``targets_in`` (B, T) (``<bos> y_1 .. y_{T-1}``).

        With ``teacher_forcing`` < 1 (training only), each step's input is, for each row
        independently with probability 1 - ratio, the model's own previous prediction
        instead of the true token (scheduled sampling, Bengio et al. 2015); teacher forcing
        itself is Williams & Zipser 1989.
        """
        B, T = targets_in.shape
        prepared = self.prepare(memory, mask)
        state = state or self.initial_state(batch=B, device=memory.device)
        embedded = self.dropout(self.embedding(targets_in))  # (B, T, E)
        sampling = self.training and teacher_forcing < 1.0
        feeds, logits = [], []
        for t in range(T):
            x = embedded[:, t]
            if sampling and t > 0:
                own = logits[-1].argmax(-1)
                use_own = torch.rand(B, device=own.device) >= teacher_forcing
                x = torch.where(use_own[:, None], self.dropout(self.embedding(own)), x)
            feed, state, _ = self.attend(x, state, prepared)
            if sampling:
                logits.append(self.project(feed))
            else:
                feeds.append(feed)
        if sampling:
            return torch.stack(logits, dim=1)
        return self.project(torch.stack(feeds, dim=1))  # one (B*T, H) x (H, V) product

    def search(self, memory: Tensor, mask: Tensor, state: DecoderState, bos: int, eos: int,
               beam_size: int = 1, max_length: int = 100, alpha: float = 0.6,
               banned: Sequence[int] = ()) -> Hypotheses:
        """Decode from the memory (B, S, H_m): `greedy_search` with ``beam_size=1``, else
        `beam_search` with ``beam_size`` beams and length penalty ``alpha``; the ``banned``
        token ids are never written."""
        if beam_size == 1:
            return greedy_search(self, memory, mask, state, bos, eos, max_length, banned)
        return beam_search(self, memory, mask, state, bos, eos, beam_size, max_length, alpha,
                           banned)


def sequence_loss(logits: Tensor, target: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy per real target token: logits (B, T, V), target (B, T), padding
    (id 0) ignored; ``label_smoothing`` spreads that share of the target mass uniformly."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                           ignore_index=0, label_smoothing=label_smoothing)


# ---- search -----------------------------------------------------------------------------------


@dataclass
class Hypotheses:
    """The output of a search, one entry per input row.

    ``tokens[b]``: the ids (no ``<bos>``, no ``<eos>``); ``scores[b]``: log P(tokens, <eos> | x)
    (the whole hypothesis, unnormalised); ``attention[b]``: (T_b, S) weights of each output
    step (T_b counts the final ``<eos>`` when there is one).
    """

    tokens: list[list[int]]
    scores: Tensor
    attention: list[Tensor]


def length_penalty(lengths: Tensor, alpha: float) -> Tensor:
    r"""Wu et al. 2016 (GNMT, eq. 14): :math:`lp(Y) = ((5 + |Y|) / 6)^\alpha`; beam search
    ranks finished hypotheses by :math:`\log P(Y|X) / lp(Y)`. ``alpha = 0``: raw log P."""
    return ((5.0 + lengths.float()) / 6.0) ** alpha


def _collect(tokens: Tensor, lengths: Tensor, ended: Tensor, weights: Tensor,
             scores: Tensor) -> Hypotheses:
    """Cut each row of tokens (N, T) and weights (N, T, S) at its length."""
    rows, attention = [], []
    for seq, n, done, w in zip(tokens.tolist(), lengths.tolist(), ended.tolist(), weights,
                               strict=True):
        rows.append(seq[: n - 1] if done else seq[:n])
        attention.append(w[:n])
    return Hypotheses(rows, scores, attention)


def _never_written(logp: Tensor, bos: int, banned: Sequence[int] = ()) -> Tensor:
    """Log-probabilities (N, V) with padding (id 0), ``<bos>`` and the ``banned`` ids ruled
    out: a search never writes them, however the model scores them."""
    logp[:, [0, bos, *banned]] = float("-inf")
    return logp


@torch.no_grad()
def greedy_search(decoder: Searchable, memory: Tensor, mask: Tensor, state: Any, bos: int,
                  eos: int, max_length: int, banned: Sequence[int] = ()) -> Hypotheses:
    """Decode each row by taking the most probable token at every step, until ``<eos>`` or
    ``max_length`` tokens (Sutskever et al. 2014 decode with such a left-to-right search).

    Args:
        decoder: an `AttentionDecoder` (or anything `Searchable`).
        memory: (B, S, H_m) encoder memory; mask: (B, S) real positions.
        state: the decoder's initial state for B rows.
        bos, eos: ids of the start and end tokens.
        max_length: most tokens generated per row (``<eos>`` included).
        banned: token ids never written (e.g. ``<unk>``: an output word that is never right).
    """
    prepared = decoder.prepare(memory, mask)
    B = memory.shape[0]
    previous = torch.full((B,), bos, dtype=torch.long, device=memory.device)
    finished = torch.zeros(B, dtype=torch.bool, device=memory.device)
    lengths = torch.zeros(B, dtype=torch.long, device=memory.device)
    scores = torch.zeros(B, device=memory.device)
    tokens, weights = [], []
    for _ in range(max_length):
        logits, state, w = decoder.step(previous, state, prepared)
        logp = _never_written(F.log_softmax(logits.float(), dim=-1), bos, banned)  # (B, V)
        word = torch.where(finished, eos, logp.argmax(-1))
        scores += torch.where(finished, 0.0, logp.gather(1, word[:, None])[:, 0])
        lengths += ~finished
        finished |= word == eos
        tokens.append(word)
        weights.append(w)
        previous = word
        if bool(finished.all()):
            break
    return _collect(torch.stack(tokens, 1), lengths, finished, torch.stack(weights, 1).cpu(),
                    scores.cpu())


@torch.no_grad()
def beam_search(decoder: Searchable, memory: Tensor, mask: Tensor, state: Any, bos: int,
                eos: int, beam_size: int = 5, max_length: int = 100,
                alpha: float = 0.6, banned: Sequence[int] = ()) -> Hypotheses:
    r"""Batched beam search: keep the ``beam_size`` most probable prefixes of every row.

    All B x K beams run as one batch of B*K rows. At each step every beam is extended by every
    token, :math:`\log P(y_{\le t}) = \log P(y_{<t}) + \log p(y_t \mid y_{<t}, x)`, and the
    K best of the K x V candidates of each row are kept (one ``topk`` per step, back-pointers
    gathered with tensor indexing: no loop over rows or beams). A beam that produced
    ``<eos>`` is finished: it is only extended by ``<eos>`` at no cost, so it keeps its score
    and competes with the open beams. The search ends when every beam is finished or after
    ``max_length`` tokens; the answer is the beam with the highest
    :math:`\log P / lp` (`length_penalty`, Wu et al. 2016). ``beam_size=1`` is greedy search.

    Args and returns: as `greedy_search`, plus ``beam_size`` K and ``alpha`` (the length
    penalty's exponent; 0 ranks by raw log-probability, which favours short outputs).
    """
    if beam_size < 1:
        raise ValueError(f"beam_size={beam_size}; expected at least 1")
    B, S = mask.shape
    K = beam_size
    device = memory.device
    flat = torch.arange(B, device=device).repeat_interleave(K)  # (B*K,) row of each beam
    prepared = decoder.prepare(memory, mask).index_select(flat)
    state = decoder.reorder_state(state, flat)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # K copies of one start: only the first may expand at step 1
    finished = torch.zeros(B, K, dtype=torch.bool, device=device)
    lengths = torch.zeros(B, K, dtype=torch.long, device=device)
    tokens = torch.full((B * K, 0), bos, dtype=torch.long, device=device)
    weights = memory.new_zeros(B * K, 0, S)
    previous = torch.full((B * K,), bos, dtype=torch.long, device=device)
    offsets = (torch.arange(B, device=device) * K)[:, None]  # (B, 1)
    for _ in range(max_length):
        logits, state, w = decoder.step(previous, state, prepared)
        logp = _never_written(F.log_softmax(logits.float(), dim=-1), bos, banned).view(B, K, -1)
        V = logp.shape[-1]
        closed = torch.full_like(logp[0, 0], float("-inf"))
        closed[eos] = 0.0  # a finished beam continues with <eos> only, at no cost
        logp = torch.where(finished[..., None], closed, logp)
        best, index = (scores[..., None] + logp).view(B, K * V).topk(K, dim=-1)  # (B, K)
        origin, word = index // V, index % V
        source = (offsets + origin).view(-1)  # (B*K,) back-pointers into the flat beams
        scores = best
        finished = finished.gather(1, origin)
        lengths = lengths.gather(1, origin) + ~finished
        finished = finished | (word == eos)
        tokens = torch.cat([tokens[source], word.view(-1, 1)], dim=1)
        weights = torch.cat([weights[source], w[source][:, None]], dim=1)
        state = decoder.reorder_state(state, source)
        previous = word.view(-1)
        if bool(finished.all()):
            break
    ranked = scores / length_penalty(lengths, alpha)
    pick = (offsets[:, 0] + ranked.argmax(-1))  # (B,) the chosen flat beam per row
    return _collect(tokens[pick], lengths.view(-1)[pick], finished.view(-1)[pick],
                    weights[pick].cpu(), scores.view(-1)[pick].cpu())


def check_decoding(label_smoothing: float, beam_size: int, alpha: float) -> None:
    """Raise `InputError` naming the first bad setting of a decoder's objective and search."""
    if not 0 <= label_smoothing < 1:
        raise InputError(f"--label-smoothing {label_smoothing}; expected [0, 1)")
    if beam_size < 1:
        raise InputError(f"--beam-size {beam_size}; expected at least 1 (1 = greedy search)")
    if alpha < 0:
        raise InputError(f"--alpha {alpha}; expected a length penalty >= 0")
