"""Text to shorter text with the translation stack: the pointer-generator network (See et al.
2017) and the estimators that train it, `Summarizer` and `Chatbot`.

The network is `rnnkit.models.seq2seq.PointerGenerator`: `Seq2Seq`'s encoder and the shared
`AttentionDecoder` with its copy and coverage options; source and target share one vocabulary,
so a copied source word is the same word in the output, and a source word outside the
vocabulary is copied through the extended vocabulary
(`rnnkit.data.summaries.extend_source`). A chatbot is the same estimator reading a dialogue's
last turns and writing the reply (copying off by default): one class, two defaults; it may
read the turns with a hierarchical encoder (`HierarchicalPointerGenerator`, HRED).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.checks import check_choice
from rnnkit.data.dialogues import TURN
from rnnkit.data.parallel import CorpusConfig, Side, read_sides
from rnnkit.data.summaries import Encoded, copy_loader, decode_extended
from rnnkit.data.vectors import check_dimension
from rnnkit.errors import InputError
from rnnkit.layers import Recurrent
from rnnkit.models.decoder import DecoderState, Limits, Sampling
from rnnkit.models.estimator import Estimator
from rnnkit.models.seq2seq import (
    PointerGenerator,
    Seq2SeqConfig,
    Translation,
    copy_objective,
    describe,
    encode_texts,
    encoder_vectors,
    load_network,
    perplexity,
    search_examples,
)
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.settings import TrainSettings


@dataclass
class SummarizerConfig(Seq2SeqConfig):
    """The network and its search (`Seq2SeqConfig`'s fields, then the pointer-generator's).
    The defaults are the summariser of ``benchmarks/aeslc.py``: small enough for a CPU."""

    hidden_size: int = 128
    embedding_dim: int = 96
    dropout: float = 0.2
    label_smoothing: float = 0.0  # the copy distribution is scored as it is
    beam_size: int = 4
    alpha: float = 1.0  # length penalty exponent (Wu et al. 2016)
    copy: bool = True  # p_gen mixes generating and copying (See et al. 2017)
    max_source_tokens: int = 150  # longer sources are truncated (and counted)
    min_length: int = 1  # tokens before <eos> may be written
    no_repeat_ngram: int = 3  # no n-gram written twice (0: no blocking)
    encoder: str = "flat"  # "flat" (one RNN over the source) or "hierarchical" (HRED, turns)
    turn_index: int = -1  # the network's id of the turn token (-1: none; learned, as the sizes)

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        super().validate()
        check_choice("encoder", self.encoder, ENCODERS)
        if self.max_source_tokens < 1:
            raise InputError(f"--max-source-tokens {self.max_source_tokens}; expected >= 1")
        if self.min_length < 0 or self.no_repeat_ngram < 0:
            raise InputError(f"--min-length {self.min_length} / --no-repeat-ngram "
                             f"{self.no_repeat_ngram}; expected 0 or more")


#: The encoders a `SummarizerConfig` names: every source read at once, or turn by turn.
ENCODERS = ("flat", "hierarchical")
#: The summariser's vocabulary: one, shared by source and target (copying needs it);
#: ``max_length`` is the longest target kept for training (longer ones are cut).
CORPUS = CorpusConfig(lowercase=True, min_freq=2, max_vocab=20000, shared_vocab=True,
                      max_length=30)
#: Training settings of the summariser.
TRAINING = TrainSettings(epochs=15, batch_size=64, lr=2e-3, clip=2.0, patience=3)


class HierarchicalPointerGenerator(PointerGenerator):
    r"""A `PointerGenerator` whose encoder reads a dialogue's context turn by turn: HRED
    (Serban et al. 2016) in front of the attentional decoder.

    The context's turns are split after each turn token (``config.turn_index``; the token
    closes its turn). The utterance-level encoder (`Seq2Seq`'s, stacked and optionally
    bidirectional) reads each turn alone; a context-level RNN reads the turn vectors
    :math:`u_k` (the top layer's final states, both directions) in order, and its final
    state starts the decoder:

    .. math::
        o_{k,1..n_k},\ u_k = \mathrm{RNN}_{utt}(E x_{k,1..n_k}), \quad
        c_{1..K} = \mathrm{RNN}_{ctx}(u_1..u_K), \quad s_0 = \text{state of } c_K

    The decoder attends to every token's utterance-level output :math:`o_{k,i}` (B, S, D*H),
    so attention, copying and the explanations still point at source words.
    """

    def __init__(self, config: SummarizerConfig) -> None:
        super().__init__(config)
        c = config
        size = c.hidden_size * self.encoder.num_directions
        self.context = Recurrent(c.cell, size, size, c.num_layers,
                                 dropout=c.dropout if c.num_layers > 1 else 0.0)

    def encode(self, source: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, DecoderState]:
        """Source ids (B, S) and lengths (B,) -> memory (B, S, D*H) (each token's output of
        its own turn), mask (B, S), and the decoder's initial state (the context RNN's)."""
        B, S = source.shape
        position = torch.arange(S, device=source.device)
        real = position < lengths.to(source.device)[:, None]  # (B, S)
        closes = (source == self.config.turn_index) & real  # a turn token ends its turn
        turn = closes.long().cumsum(1) - closes.long()  # (B, S) turn of each token
        opens = F.pad(closes, (1, 0))[:, :-1]  # (B, S) the first token of a later turn
        at = position - torch.where(opens, position, 0).cummax(1).values  # place in its turn
        turns = torch.where(real, turn, -1).max(1).values + 1  # (B,) turns per context
        K = int(turns.max())
        slot = (torch.arange(B, device=source.device)[:, None] * K + turn)[real]  # (N_tok,)
        sizes = torch.bincount(slot, minlength=B * K)  # (B*K,) tokens per turn
        utterances = source.new_zeros(B * K, int(sizes.max()))
        utterances[slot, at[real]] = source[real]
        rows = (sizes > 0).nonzero()[:, 0]  # the real turns, in order
        out, final = self.encoder(self.dropout(self.embedding(utterances[rows])),
                                  lengths=sizes[rows])  # (N, L_u, D*H)
        row_of = torch.full_like(sizes, -1)
        row_of[rows] = torch.arange(len(rows), device=source.device)
        memory = out.new_zeros(B, S, out.shape[-1])
        memory[real] = out[row_of[slot], at[real]]
        h = final if isinstance(final, Tensor) else final[0]
        vectors = out.new_zeros(B * K, out.shape[-1])
        vectors[rows] = self._bridge(h)[-1]  # (N, D*H): u_k, the top layer's final states
        _, state = self.context(vectors.view(B, K, -1), lengths=turns)
        return memory, real, self.decoder.initial_state(state)


def pointer_network(config: SummarizerConfig) -> PointerGenerator:
    """The network a config names: flat or hierarchical encoder (``config.encoder``)."""
    if config.encoder == "hierarchical":
        return HierarchicalPointerGenerator(config)
    return PointerGenerator(config)


@dataclass
class Summary(Translation):
    """One output (a `Translation`'s fields: text, source tokens, output tokens, log P, the
    attention (T_out, S), truncated) and, from `Summarizer.explain`, per output token p_gen
    and whether it was copied (None before)."""

    p_gen: list[float] | None = None
    copied: list[bool] | None = None


class Summarizer(Estimator):
    """Train a `PointerGenerator` on (text, summary) pairs and summarise with it.

    ``train``/``valid`` are anything with ``source`` and ``target`` lists of texts (a
    `rnnkit.data.summaries.SummaryCorpus`, dialogue pairs).

    Example:
        >>> from rnnkit.data.summaries import SummaryCorpus
        >>> data = SummaryCorpus(["meeting on friday at 10 with Lay .", "call me at 5 ."],
        ...                      ["meeting friday", "call"], [["meeting friday"], ["call"]], "")
        >>> s = Summarizer(SummarizerConfig(hidden_size=8, embedding_dim=8),
        ...                replace(CORPUS, min_freq=1), TrainSettings(epochs=1))
        >>> _ = s.fit(data, data, progress=False)
        >>> len(s.summarize(["meeting with Skilling"])[0].source_tokens)
        3
    """

    SETTINGS = (("model", SummarizerConfig, "config"), ("corpus", CorpusConfig, "corpus_config"),
                ("train", TrainSettings, "train_config"))
    NAME = "summarizer"
    DEFAULTS = (SummarizerConfig(), CORPUS, TRAINING)  # copied for each new estimator
    KEEP_LAST = False  # a source longer than max_source_tokens keeps its first tokens
    # learned by `fit` or `from_state`
    network: SummarizerConfig | None = None
    side: Side | None = None
    vectors: dict[str, Any] | None = None  # coverage report of ``config.vectors``
    net: PointerGenerator | None = None
    truncated = 0  # training sources cut to max_source_tokens

    def __init__(self, config: SummarizerConfig | None = None,
                 corpus: CorpusConfig | None = None, train: TrainSettings | None = None) -> None:
        model, corpus_default, train_default = self.DEFAULTS
        super().__init__(config or replace(model), corpus or replace(corpus_default),
                         train or replace(train_default))

    # ---- training ---------------------------------------------------------------------------

    def check(self, train: Any, valid: Any) -> str:
        """Check every setting (`InputError` on the first bad one; vectors wider
        than the embedding too) and say in one line what `fit` will train; changes nothing."""
        c = self.config
        c.validate()
        self.corpus_config.validate()
        self.train_config.validate()
        if not self.corpus_config.shared_vocab:
            raise InputError(f"the {self.NAME} reads and writes one vocabulary; drop "
                             "--separate-vocab")
        if c.vectors is not None:
            check_dimension(c.vectors, c.embedding_dim)
        kind = " (hierarchical)" if c.encoder == "hierarchical" else ""
        return (f"{self.NAME}: {describe(c)}{kind}; {len(train.source)} training and "
                f"{len(valid.source)} validation pairs")

    def encode(self, texts: Sequence[str], targets: Sequence[str] | None = None
               ) -> list[Encoded]:
        """`Encoded` ids of each text (and its target), the source cut to
        ``max_source_tokens`` (its first, or for a chatbot its last: the latest turns); a text
        with no tokens is an `InputError` naming it."""
        self.check_trained()
        return encode_texts(self.side, self.side, texts, targets, self.config.max_source_tokens,
                            self.corpus_config.max_length - 1, self.config.copy, "text",
                            self.KEEP_LAST)

    def fit(self, train: Any, valid: Any, *, progress: bool = True,
            checkpoint_dir: Path | None = None, resume: bool = False,
            parallel: Parallel | None = None, log_dir: Path | None = None) -> FitResult:
        """Train on ``train``; keep the epoch with the lowest validation loss on ``valid``.

        The first call builds the shared vocabulary and the network; a later call continues
        from the kept weights. The keywords are every estimator's (see
        `rnnkit.models.forecaster.Forecaster.fit`).
        """
        self.check(train, valid)
        c, t = self.config, self.train_config
        if self.net is None:
            self.side = Side.build([*train.source, *train.target], self.corpus_config)
            self.network = self._network()
            torch.manual_seed(t.seed)
            self.net = pointer_network(self.network)
            self.vectors = encoder_vectors(self.net, self.side, c, t.seed)
        examples = [e for e in self.encode(train.source, train.target) if e.target]
        self.truncated = sum(e.truncated for e in examples)
        held_out = self.encode(valid.source, valid.target)
        return fit(self.net, copy_objective(c.coverage_weight, c.label_smoothing),
                   copy_loader(examples, self.side, t.batch_size, shuffle=True, seed=t.seed),
                   copy_loader(held_out, self.side, 128, shuffle=False), t, progress=progress,
                   checkpoint_dir=checkpoint_dir, resume=resume, parallel=parallel,
                   log_dir=log_dir)

    def _network(self) -> SummarizerConfig:
        """The config with what the vocabulary gives: its size and the turn token's id."""
        size = len(self.side.vocab)
        return replace(self.config, src_vocab_size=size, tgt_vocab_size=size,
                       turn_index=self.side.vocab.index.get(TURN, -1))

    def perplexity(self, sources: Sequence[str], targets: Sequence[str]) -> float:
        """exp(total cross-entropy / total target tokens), ``<eos>`` included: per token,
        over the extended vocabulary when the network copies."""
        examples = self.encode(sources, targets)
        return perplexity(self.net, copy_loader(examples, self.side, 128, shuffle=False))

    # ---- writing ----------------------------------------------------------------------------

    def limits(self) -> Limits:
        """The configured minimum length and n-gram blocking."""
        return Limits(self.config.min_length, self.config.no_repeat_ngram)

    def summarize(self, texts: Sequence[str], beam_size: int | None = None,
                  sampling: Sampling | None = None,
                  limits: Limits | None = None) -> list[Summary]:
        """The output for each text (order kept): beam search with the configured beam size,
        length penalty and `limits` unless given (``beam_size=1``: greedy), or sampling."""
        examples = self.encode(texts)
        beam = self.config.beam_size if beam_size is None else beam_size
        if beam < 1:
            raise InputError(f"--beam {beam}; expected at least 1 (1 = greedy search)")
        found = search_examples(self.net, examples, self.side, beam, self.config.alpha,
                                () if self.config.write_unk else (self.side.vocab.unk_index,),
                                self.corpus_config.max_length, limits or self.limits(),
                                sampling)
        out = []
        for e, (ids, score, weights) in zip(examples, found, strict=True):
            tokens = decode_extended(self.side, ids, e.oov)
            out.append(Summary(self.side.tokenizer.detokenize(tokens), e.tokens, tokens, score,
                               weights, e.truncated))
        return out

    def predict(self, texts: Sequence[str], beam_size: int | None = None) -> list[str]:
        """The output text for each text (the estimator contract's ``predict``)."""
        return [s.text for s in self.summarize(texts, beam_size)]

    @torch.no_grad()
    def explain(self, text: str, beam_size: int | None = None) -> Summary:
        """`summarize` one text, then read the network on its own output (teacher forced, no
        dropout) for each output token's p_gen and attention; a token is *copied* when most
        of its probability came through the attention: (1 - p_gen) sum_{s: x_s = w} a_s >
        P(w) / 2 (always so for a word outside the vocabulary)."""
        summary = self.summarize([text], beam_size)[0]
        e = self.encode([text])[0]
        ids = self._output_ids(summary.tokens, e)
        device = next(self.net.parameters()).device
        source = torch.as_tensor([e.source], device=device)
        extended = torch.as_tensor([e.extended], device=device)
        target_in = torch.as_tensor([[self.side.bos_index, *ids]], device=device)
        target_in = target_in.masked_fill(target_in >= len(self.side.vocab),
                                          self.side.vocab.unk_index)
        memory, mask, state = self.net.encode(source, torch.as_tensor([len(e.source)]))
        out = self.net.decoder.decode(target_in, memory, mask, state, 1.0, extended)
        weights = out.attention[0]  # (T, S)
        summary.attention = weights.cpu()
        if out.p_gen is None:
            summary.p_gen = [1.0] * len(weights)
            summary.copied = [False] * len(summary.tokens)
            return summary
        p_gen = out.p_gen[0]
        summary.p_gen = p_gen.tolist()
        probs = out.scores[0].exp()  # (T, V')
        copied = []
        for t, k in enumerate(ids[:-1]):  # the output words, not the final <eos>
            through = float((1 - p_gen[t]) * weights[t][extended[0] == k].sum())
            copied.append(k >= len(self.side.vocab) or through > float(probs[t, k]) / 2)
        summary.copied = copied
        return summary

    def _output_ids(self, tokens: Sequence[str], e: Encoded) -> list[int]:
        """Output tokens back to extended ids (``<eos>`` appended)."""
        V = len(self.side.vocab)
        oov = {w: V + k for k, w in enumerate(e.oov)}
        ids = [oov.get(w, self.side.vocab.index.get(w, self.side.vocab.unk_index))
               for w in tokens]
        return [*ids, self.side.eos_index]

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The run's config.json entries (the vocabulary is a separate file)."""
        return {**self.settings(), "vectors": self.vectors}

    def sides_dict(self) -> dict[str, Any]:
        """The run's ``vocab.json``: the shared tokenizer and vocabulary."""
        self.check_trained()
        return {"shared": self.side.to_dict()}

    @classmethod
    def from_state(cls, state: dict[str, Any], sides: Any, weights: dict[str, Tensor],
                   where: str) -> Summarizer:
        """Rebuild from `state`, `sides_dict` and a weights dict (from safetensors);
        anything that does not fit is refused."""
        s = cls.from_settings(state, where)
        (s.side,) = read_sides(sides, ("shared",), where)
        s.network = s._network()
        s.net, s.vectors = load_network(s, pointer_network, weights, where), state.get(
            "vectors")
        return s


#: The chatbot's defaults: no copying (a reply is not an excerpt of its context), a shorter
#: context budget, and sampling-friendly searches blocked from repeating trigrams.
CHAT_MODEL = replace(SummarizerConfig(), copy=False, max_source_tokens=60, alpha=0.6, beam_size=5,
                     min_length=2)
CHAT_CORPUS = replace(CORPUS, max_vocab=12000, max_length=25)
CHAT_TRAINING = replace(TRAINING, batch_size=128)


class Chatbot(Summarizer):
    """A `Summarizer` that reads a dialogue's context (its last turns, see
    `rnnkit.data.dialogues`) and writes the reply; only its defaults differ (`CHAT_MODEL`).
    """

    NAME = "chatbot"
    DEFAULTS = (CHAT_MODEL, CHAT_CORPUS, CHAT_TRAINING)
    KEEP_LAST = True  # a long context keeps its latest turns, which the reply answers
