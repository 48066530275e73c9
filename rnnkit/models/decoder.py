"""The attentional recurrent decoder and its search (greedy and batched beam search).

Written once for every encoder-decoder in rnnkit: a decoder only sees an encoder's *memory*
(B, S, H_m), a mask of the real positions (B, S) and an initial recurrent state, so a text
encoder (`Seq2Seq`) and an image encoder (a CNN's feature grid as S positions) share it.

    decoder = AttentionDecoder(vocab_size, embedding_dim, hidden_size, memory_size)
    state = decoder.initial_state(rnn_state)                 # or None: zeros
    logits = decoder(targets_in, memory, mask, state)        # training, teacher forcing
    best = beam_search(decoder, memory, mask, state, bos, eos, beam_size=5)
    best.tokens[0], best.scores[0], best.attention[0]        # ids, log P, (T, S) weights

Two options make it a pointer-generator (See et al. 2017), each off by default: ``copy=True``
mixes the vocabulary distribution with the attention over the source tokens, so a source word
can be copied even when it is outside the vocabulary (an *extended* vocabulary: the ids
``V, V+1, ..`` name each source's own unknown words, see
`rnnkit.data.summaries.extend_source`), and
``coverage=True`` feeds the attention summed so far back into the attention and measures the
repeated attention that `coverage_loss` penalises. With copy the decoder's scores are
log-probabilities over the extended vocabulary (a softmax leaves them unchanged, so the
searches and the cross-entropy loss take them as they are).
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
    (B, S, A), the mask of real positions (B, S, bool) and, for copying, the source's ids in
    the extended vocabulary (B, S) (None without copy)."""

    memory: Tensor
    keys: Tensor
    mask: Tensor
    source: Tensor | None = None

    def index_select(self, index: Tensor) -> DecoderMemory:
        """The rows ``index`` (N,) of each part: to expand for beams or reorder."""
        return DecoderMemory(*(None if part is None else part.index_select(0, index)
                               for part in self))


class DecoderState(NamedTuple):
    """The decoder's state between steps: the recurrent state (h (L, B, H), or
    ``LSTMState(h, c)``), the last attentional vector ``feed`` (B, H) and, with coverage,
    the attention summed over the steps so far (B, S) (None before the first step)."""

    rnn: Any
    feed: Tensor
    coverage: Tensor | None = None


class Decoded(NamedTuple):
    """A teacher-forced pass (`AttentionDecoder.decode`): ``scores`` (B, T, V') (logits, or
    log-probabilities over the extended vocabulary with copy), ``attention`` (B, T, S),
    ``p_gen`` (B, T) (None without copy) and the per-step coverage loss (B, T) (None without
    coverage)."""

    scores: Tensor
    attention: Tensor
    p_gen: Tensor | None
    coverage: Tensor | None


def coverage_loss(attention: Tensor) -> Tensor:
    r"""See et al. 2017 (eq. 12): per step, :math:`\sum_s \min(a_{t,s}, c_{t,s})` with the
    coverage :math:`c_t = \sum_{t' < t} a_{t'}`: the attention given again to positions already
    covered. ``attention`` (B, T, S) -> (B, T).

    Example:
        >>> a = torch.tensor([[[0.5, 0.5], [0.9, 0.1]]])
        >>> coverage_loss(a)  # step 2: min(0.9, 0.5) + min(0.1, 0.5)
        tensor([[0.0000, 0.6000]])
    """
    covered = attention.cumsum(1) - attention  # (B, T, S), exclusive sum
    return torch.minimum(attention, covered).sum(-1)


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
        copy: mix in copying (the pointer-generator of See et al. 2017, eq. 8-9):

            .. math::
                p_{gen} = \sigma(w_c^\top c_t + w_h^\top h_t + w_x^\top E y_{t-1} + b),\quad
                P(w) = p_{gen} P_{vocab}(w) + (1 - p_{gen}) \textstyle\sum_{s: x_s = w} a_{t,s}

            over the extended vocabulary (the source ids passed to `prepare`).
        coverage: give the attention the coverage vector :math:`c_t = \sum_{t'<t} a_{t'}` as
            an input (See et al. 2017, eq. 11); `decode` then reports `coverage_loss`.
        unk_index: the ``<unk>`` id that extended ids (>= V) are read as when fed back in.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, memory_size: int,
                 num_layers: int = 1, cell: str = "lstm", attention: str = "general",
                 dropout: float = 0.0, copy: bool = False, coverage: bool = False,
                 unk_index: int = 1) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        self.unk_index = unk_index
        self.coverage = coverage
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.rnn = Recurrent(cell, embedding_dim + hidden_size, hidden_size, num_layers,
                             dropout=dropout if num_layers > 1 else 0.0)
        self.attention = make_attention(attention, hidden_size, memory_size, coverage)
        self.combine = nn.Linear(memory_size + hidden_size, hidden_size, bias=False)  # W_c
        self.out = nn.Linear(hidden_size, vocab_size)  # W_o
        self.dropout = nn.Dropout(dropout)
        # [w_c; w_h; w_x], b of p_gen (None: no copying)
        self.gate = nn.Linear(memory_size + hidden_size + embedding_dim, 1) if copy else None

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

    @property
    def copies(self) -> bool:
        """Whether this decoder copies (its scores are then over the extended vocabulary)."""
        return self.gate is not None

    def prepare(self, memory: Tensor, mask: Tensor,
                source: Tensor | None = None) -> DecoderMemory:
        """The memory (B, S, H_m), its attention keys, the mask (B, S) of real positions and,
        for a decoder that copies, the source ids (B, S) in the extended vocabulary."""
        if self.copies and source is None:
            raise ValueError("a decoder with copy=True needs the source ids (extended "
                             "vocabulary) to prepare its memory")
        return DecoderMemory(memory, self.attention.keys(memory), mask,
                             source if self.copies else None)

    def embed(self, tokens: Tensor) -> Tensor:
        """Embeddings (..., E) of tokens; extended ids (copied words) are read as ``<unk>``."""
        tokens = tokens.masked_fill(tokens >= self.vocab_size, self.unk_index)
        return self.dropout(self.embedding(tokens))

    def attend(self, embedded: Tensor, state: DecoderState, memory: DecoderMemory
               ) -> tuple[Tensor, DecoderState, Tensor, Tensor | None]:
        """One step from an embedded token (B, E): (attentional vector (B, H), new state,
        attention weights (B, S), p_gen (B,) or None without copy)."""
        x = torch.cat([embedded, state.feed], dim=-1)[:, None, :]  # (B, 1, E + H)
        out, rnn_state = self.rnn(x, state.rnn)
        h = out[:, 0]  # (B, H), the top layer
        coverage = state.coverage
        if self.coverage and coverage is None:
            coverage = memory.mask.to(h.dtype) * 0.0  # (B, S) nothing covered yet
        context, weights = self.attention(h, memory.keys, memory.memory, memory.mask, coverage)
        feed = torch.tanh(self.combine(torch.cat([context, h], dim=-1)))  # (B, H)
        p_gen = None
        if self.gate is not None:
            p_gen = torch.sigmoid(self.gate(torch.cat([context, h, embedded], -1)))[:, 0]
        coverage = coverage + weights if self.coverage else None
        return feed, DecoderState(rnn_state, feed, coverage), weights, p_gen

    def project(self, feed: Tensor) -> Tensor:
        """Logits over the vocabulary from attentional vectors (..., H) -> (..., V)."""
        return self.out(self.dropout(feed))

    def mix(self, logits: Tensor, weights: Tensor, p_gen: Tensor, source: Tensor) -> Tensor:
        """Log P over the extended vocabulary (..., V + n_oov) from vocabulary logits
        (..., V), attention weights (..., S), p_gen (...) and source ids (B, S) (eq. 9 of
        See et al. 2017). ``...`` is (B,) or (B, T)."""
        extended = max(self.vocab_size, int(source.max()) + 1)
        vocab = p_gen[..., None] * F.softmax(logits.float(), dim=-1)
        probs = F.pad(vocab, (0, extended - self.vocab_size))  # (..., V + n_oov)
        index = source if weights.dim() == 2 else source[:, None, :].expand_as(weights)
        probs = probs.scatter_add(-1, index, (1 - p_gen)[..., None] * weights.float())
        return probs.clamp_min(1e-12).log()

    def scores(self, feed: Tensor, weights: Tensor, p_gen: Tensor | None,
               memory: DecoderMemory) -> Tensor:
        """What a step outputs: logits (..., V), or with copy `mix`'s log-probabilities."""
        logits = self.project(feed)
        return logits if p_gen is None else self.mix(logits, weights, p_gen, memory.source)

    def step(self, tokens: Tensor, state: DecoderState,
             memory: DecoderMemory) -> tuple[Tensor, DecoderState, Tensor]:
        """One decoding step from the previous tokens (B,): (scores (B, V'), state,
        weights)."""
        feed, state, weights, p_gen = self.attend(self.embed(tokens), state, memory)
        return self.scores(feed, weights, p_gen, memory), state, weights

    def reorder_state(self, state: DecoderState, index: Tensor) -> DecoderState:
        """The state of rows ``index`` (N,): for beams, expanded or following back-pointers."""
        rnn = state.rnn
        if isinstance(rnn, Tensor):
            rnn = rnn.index_select(1, index)
        else:
            rnn = type(rnn)(*(part.index_select(1, index) for part in rnn))
        coverage = None if state.coverage is None else state.coverage.index_select(0, index)
        return DecoderState(rnn, state.feed.index_select(0, index), coverage)

    def decode(self, targets_in: Tensor, memory: Tensor, mask: Tensor,
               state: DecoderState | None = None, teacher_forcing: float = 1.0,
               source: Tensor | None = None) -> Decoded:
        """Teacher-forced pass over ``targets_in`` (B, T) (``<bos> y_1 .. y_{T-1}``): the
        scores, attention, p_gen and coverage loss of every step (see `Decoded`); ``source``
        (B, S): the extended source ids, for a decoder that copies.

        With ``teacher_forcing`` < 1 (training only), each step's input is, for each row
        independently with probability 1 - ratio, the model's own previous prediction
        instead of the true token (scheduled sampling, Bengio et al. 2015); teacher forcing
        itself is Williams & Zipser 1989.
        """
        B, T = targets_in.shape
        prepared = self.prepare(memory, mask, source)
        state = state or self.initial_state(batch=B, device=memory.device)
        embedded = self.embed(targets_in)  # (B, T, E)
        sampling = self.training and teacher_forcing < 1.0
        feeds, scores, weights, gates = [], [], [], []
        for t in range(T):
            x = embedded[:, t]
            if sampling and t > 0:
                own = scores[-1].argmax(-1)
                use_own = torch.rand(B, device=own.device) >= teacher_forcing
                x = torch.where(use_own[:, None], self.embed(own), x)
            feed, state, w, p_gen = self.attend(x, state, prepared)
            weights.append(w)
            gates.append(p_gen)
            if sampling:
                scores.append(self.scores(feed, w, p_gen, prepared))
            else:
                feeds.append(feed)
        attention = torch.stack(weights, dim=1)  # (B, T, S)
        p_gen = torch.stack(gates, dim=1) if self.copies else None  # (B, T)
        if sampling:
            out = torch.stack(scores, dim=1)
        else:  # one (B*T, H) x (H, V) product
            out = self.scores(torch.stack(feeds, dim=1), attention, p_gen, prepared)
        return Decoded(out, attention, p_gen, coverage_loss(attention) if self.coverage else None)

    def forward(self, targets_in: Tensor, memory: Tensor, mask: Tensor,
                state: DecoderState | None = None, teacher_forcing: float = 1.0,
                source: Tensor | None = None) -> Tensor:
        """Scores (B, T, V') for the inputs ``targets_in`` (B, T): `decode`'s ``scores``
        (logits over the vocabulary; with copy, log-probabilities over the extended one)."""
        return self.decode(targets_in, memory, mask, state, teacher_forcing, source).scores

    def search(self, memory: Tensor, mask: Tensor, state: DecoderState, bos: int, eos: int,
               beam_size: int = 1, max_length: int = 100, alpha: float = 0.6,
               banned: Sequence[int] = (), *, source: Tensor | None = None,
               min_length: int = 0, no_repeat_ngram: int = 0) -> Hypotheses:
        """Decode from the memory (B, S, H_m): `greedy_search` with ``beam_size=1``, else
        `beam_search` with ``beam_size`` beams and length penalty ``alpha``; the ``banned``
        token ids are never written, ``<eos>`` not before ``min_length`` tokens, and no
        n-gram of ``no_repeat_ngram`` tokens twice (0: no blocking). ``source``: the extended
        source ids (B, S) of a decoder that copies."""
        prepared = self.prepare(memory, mask, source)
        limits = Limits(min_length, no_repeat_ngram)
        if beam_size == 1:
            return greedy_search(self, prepared, mask, state, bos, eos, max_length, banned,
                                 limits)
        return beam_search(self, prepared, mask, state, bos, eos, beam_size, max_length, alpha,
                           banned, limits)

    def sample(self, memory: Tensor, mask: Tensor, state: DecoderState, bos: int, eos: int,
               max_length: int = 100, banned: Sequence[int] = (), *,
               sampling: Sampling | None = None, source: Tensor | None = None,
               limits: Limits | None = None) -> Hypotheses:
        """Decode by sampling each token (see `sample_search`)."""
        return sample_search(self, self.prepare(memory, mask, source), mask, state, bos, eos,
                             max_length, banned, sampling or Sampling(), limits or Limits())


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


@dataclass
class Limits:
    """What every search may not write: ``<eos>`` before ``min_length`` tokens, and an n-gram
    of ``no_repeat_ngram`` tokens that the output already holds (0: no blocking; Paulus et al.
    2018 block repeated trigrams in summaries)."""

    min_length: int = 0
    no_repeat_ngram: int = 0

    def apply(self, logp: Tensor, written: Tensor, eos: int, open_rows: Tensor) -> Tensor:
        """Rule out in ``logp`` (N, V) what the rows ``open_rows`` (N,) of ``written`` (N, t)
        (the tokens so far) may not write next; finished rows are left alone."""
        t = written.shape[1]
        if t < self.min_length:
            logp[open_rows, eos] = float("-inf")
        n = self.no_repeat_ngram
        if n and t >= n - 1:
            rows = written.tolist()
            for r in open_rows.nonzero()[:, 0].tolist():
                seq = rows[r]
                prefix = tuple(seq[t - n + 1:]) if n > 1 else ()
                seen = [seq[k + n - 1] for k in range(t - n + 1)
                        if tuple(seq[k: k + n - 1]) == prefix]
                if seen:
                    logp[r, seen] = float("-inf")
        return logp


def _memory(decoder: Searchable, memory: Tensor | DecoderMemory, mask: Tensor) -> DecoderMemory:
    """The prepared memory: as given, or prepared by the decoder from (B, S, H_m)."""
    return memory if isinstance(memory, DecoderMemory) else decoder.prepare(memory, mask)


@dataclass
class Sampling:
    """How `sample_search` draws each token: the softmax at ``temperature``, restricted to
    the ``top_k`` most probable tokens (0: all; Fan et al. 2018) and to the smallest set
    whose mass reaches ``top_p`` (1: all; nucleus sampling, Holtzman et al. 2020); ``seed``
    makes the draws repeatable."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        if self.temperature <= 0:
            raise InputError(f"--temperature {self.temperature}; expected a value > 0")
        if self.top_k < 0:
            raise InputError(f"--top-k {self.top_k}; expected 0 (all tokens) or more")
        if not 0 < self.top_p <= 1:
            raise InputError(f"--top-p {self.top_p}; expected a share in (0, 1]")

    def filter(self, logp: Tensor) -> Tensor:
        """Log-probabilities (N, V) at the temperature, outside top-k and top-p set to -inf."""
        logp = F.log_softmax(logp / self.temperature, dim=-1)
        if self.top_k:
            kth = logp.topk(min(self.top_k, logp.shape[-1]), dim=-1).values[:, -1:]
            logp = logp.masked_fill(logp < kth, float("-inf"))
        if self.top_p < 1:
            ordered, order = logp.sort(dim=-1, descending=True)
            before = ordered.exp().cumsum(-1) - ordered.exp()  # mass of the better tokens
            beyond = before >= self.top_p  # (N, V) in sorted order; the best always stays
            drop = torch.zeros_like(beyond).scatter(-1, order, beyond)
            logp = logp.masked_fill(drop, float("-inf"))
        return logp


@torch.no_grad()
def greedy_search(decoder: Searchable, memory: Tensor | DecoderMemory, mask: Tensor, state: Any,
                  bos: int, eos: int, max_length: int, banned: Sequence[int] = (),
                  limits: Limits | None = None) -> Hypotheses:
    """Decode each row by taking the most probable token at every step, until ``<eos>`` or
    ``max_length`` tokens (Sutskever et al. 2014 decode with such a left-to-right search).

    Args:
        decoder: an `AttentionDecoder` (or anything `Searchable`).
        memory: (B, S, H_m) encoder memory (or a `DecoderMemory` already prepared);
            mask: (B, S) real positions.
        state: the decoder's initial state for B rows.
        bos, eos: ids of the start and end tokens.
        max_length: most tokens generated per row (``<eos>`` included).
        banned: token ids never written (e.g. ``<unk>``: an output word that is never right).
        limits: minimum length and n-gram blocking (`Limits`; default none).
    """
    return _left_to_right(decoder, memory, mask, state, bos, eos, max_length, banned,
                          limits or Limits(), None)


@torch.no_grad()
def sample_search(decoder: Searchable, memory: Tensor | DecoderMemory, mask: Tensor,
                  state: Any, bos: int, eos: int, max_length: int, banned: Sequence[int] = (),
                  sampling: Sampling | None = None, limits: Limits | None = None) -> Hypotheses:
    """Decode each row by drawing every token from the model's distribution as `Sampling`
    shapes it (temperature, top-k, top-p); arguments as `greedy_search`. Scores are the
    model's own log P of the drawn tokens."""
    sampling = sampling or Sampling()
    sampling.validate()
    return _left_to_right(decoder, memory, mask, state, bos, eos, max_length, banned,
                          limits or Limits(), sampling)


def _left_to_right(decoder: Searchable, memory: Tensor | DecoderMemory, mask: Tensor,
                   state: Any, bos: int, eos: int, max_length: int, banned: Sequence[int],
                   limits: Limits, sampling: Sampling | None) -> Hypotheses:
    """Greedy (``sampling`` None) or sampled decoding, one token per row and step."""
    prepared = _memory(decoder, memory, mask)
    B, device = mask.shape[0], mask.device
    generator = None
    if sampling is not None and sampling.seed is not None:
        generator = torch.Generator(device=device).manual_seed(sampling.seed)
    previous = torch.full((B,), bos, dtype=torch.long, device=device)
    finished = torch.zeros(B, dtype=torch.bool, device=device)
    lengths = torch.zeros(B, dtype=torch.long, device=device)
    scores = torch.zeros(B, device=device)
    tokens, weights = [], []
    for _ in range(max_length):
        logits, state, w = decoder.step(previous, state, prepared)
        logp = _never_written(F.log_softmax(logits.float(), dim=-1), bos, banned)  # (B, V)
        written = torch.stack(tokens, 1) if tokens else previous.new_zeros(B, 0)
        logp = limits.apply(logp, written, eos, ~finished)
        if sampling is None:
            choice = logp.argmax(-1)
        else:
            choice = torch.multinomial(sampling.filter(logp).exp(), 1, generator=generator)[:, 0]
        word = torch.where(finished, eos, choice)
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
def beam_search(decoder: Searchable, memory: Tensor | DecoderMemory, mask: Tensor, state: Any,
                bos: int, eos: int, beam_size: int = 5, max_length: int = 100,
                alpha: float = 0.6, banned: Sequence[int] = (),
                limits: Limits | None = None) -> Hypotheses:
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
    device = mask.device
    limits = limits or Limits()
    flat = torch.arange(B, device=device).repeat_interleave(K)  # (B*K,) row of each beam
    prepared = _memory(decoder, memory, mask).index_select(flat)
    state = decoder.reorder_state(state, flat)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # K copies of one start: only the first may expand at step 1
    finished = torch.zeros(B, K, dtype=torch.bool, device=device)
    lengths = torch.zeros(B, K, dtype=torch.long, device=device)
    tokens = torch.full((B * K, 0), bos, dtype=torch.long, device=device)
    weights = prepared.memory.new_zeros(B * K, 0, S)
    previous = torch.full((B * K,), bos, dtype=torch.long, device=device)
    offsets = (torch.arange(B, device=device) * K)[:, None]  # (B, 1)
    for _ in range(max_length):
        logits, state, w = decoder.step(previous, state, prepared)
        logp = _never_written(F.log_softmax(logits.float(), dim=-1), bos, banned)
        logp = limits.apply(logp, tokens, eos, ~finished.view(-1)).view(B, K, -1)
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
