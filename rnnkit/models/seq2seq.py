"""Many-to-many with different lengths: the attentional encoder-decoder (`Seq2Seq`) and the
`Translator` that trains it on a parallel corpus and translates with greedy or beam search.

Sutskever et al. 2014 read the source with one LSTM and write the target with another; Bahdanau
et al. 2015 and Luong et al. 2015 let the decoder attend to every source position instead of
one fixed vector. Here: a stacked, optionally bidirectional encoder (`Recurrent`) whose outputs
are the memory, whose final states start the decoder, and the shared `AttentionDecoder`, which
can copy source words and track coverage (`PointerGenerator`, See et al. 2017). The helpers
after the translator (`encode_texts`, `search_examples`, `perplexity`, `encoder_vectors`) are
what every estimator of this network shares (`rnnkit.models.summarizer` too).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.checks import check_choice, check_counts
from rnnkit.data.parallel import CorpusConfig, ParallelCorpus, Side, build_sides, read_sides
from rnnkit.data.summaries import Encoded, copy_loader, decode_extended, encode_example
from rnnkit.data.text import BucketSampler, pad_batch
from rnnkit.data.vectors import check_dimension, init_embedding, read_vectors
from rnnkit.errors import InputError
from rnnkit.evaluate.translation import corpus_scores
from rnnkit.io.weights import load_checked
from rnnkit.layers import CELLS, Recurrent
from rnnkit.models.attention import ATTENTIONS
from rnnkit.models.decoder import (
    AttentionDecoder,
    DecoderState,
    Hypotheses,
    Limits,
    Sampling,
    check_decoding,
    sequence_loss,
)
from rnnkit.models.estimator import Estimator
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.settings import TrainSettings


@dataclass
class Seq2SeqConfig:
    """The network (everything needed to rebuild it). The defaults are the model of
    ``benchmarks/multi30k.py`` (docs/translation.md): small enough for a CPU."""

    cell: str = "lstm"  # encoder and decoder cell: lstm, gru, ... (a name in CELLS)
    embedding_dim: int = 128  # token embeddings, both sides
    hidden_size: int = 128  # encoder units per direction; the decoder has this x directions
    num_layers: int = 1  # stacked layers in the encoder and in the decoder
    bidirectional: bool = True  # the encoder reads the source both ways
    attention: str = "additive"  # additive (Bahdanau et al. 2015), dot or general (Luong 2015)
    dropout: float = 0.3  # on embeddings, between layers, before the output layer
    teacher_forcing: float = 1.0  # share of training steps fed the true previous token
    label_smoothing: float = 0.1  # Szegedy et al. 2016; 0 = plain cross-entropy
    beam_size: int = 5  # default search of predict/evaluate (validation BLEU is greedy)
    alpha: float = 0.6  # length penalty exponent (Wu et al. 2016)
    write_unk: bool = False  # let the search write <unk> (never right in a translation)
    copy: bool = False  # p_gen mixes generating and copying source words (See et al. 2017)
    coverage: bool = False  # coverage vector as attention input + coverage loss (See et al.)
    coverage_weight: float = 1.0  # lambda of the coverage loss (See et al. 2017, eq. 13)
    vectors: str | None = None  # pretrained word vectors (GloVe, word2vec) for the encoder
    freeze_vectors: bool = False  # keep the encoder's pretrained embedding fixed
    src_vocab_size: int = 0  # the network's sizes: a Translator learns them from the data (in
    tgt_vocab_size: int = 0  # its ``network`` config) and leaves its own config as given

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        if self.cell not in CELLS:
            raise InputError(f"--cell {self.cell!r} is not known; choose one of {sorted(CELLS)}")
        check_choice("attention", self.attention, ATTENTIONS)
        check_counts(self, ("embedding_dim", "hidden_size", "num_layers"))
        if not 0 <= self.dropout < 1:
            raise InputError(f"--dropout {self.dropout}; expected a value in [0, 1)")
        if not 0 <= self.teacher_forcing <= 1:
            raise InputError(f"--teacher-forcing {self.teacher_forcing}; expected a ratio in "
                             "[0, 1]")
        check_decoding(self.label_smoothing, self.beam_size, self.alpha)
        if self.coverage_weight < 0:
            raise InputError(f"--coverage-weight {self.coverage_weight}; expected >= 0")
        if self.vectors is not None and not Path(self.vectors).is_file():
            raise InputError(f"--vectors {self.vectors}: no such file")


#: Training settings of the translator (as in ``benchmarks/multi30k.py``).
TRAINING = TrainSettings(epochs=12, batch_size=128, lr=2e-3, clip=1.0, patience=4,
                         lr_schedule="cosine")


class Seq2Seq(nn.Module):
    r"""Attentional encoder-decoder over token ids.

    The encoder reads the source :math:`x_1..x_S` (stacked, optionally bidirectional); its
    outputs are the memory :math:`m_s` (B, S, D*H) attended to by the decoder, and the final
    state of each encoder layer (both directions concatenated) starts the same layer of the
    decoder (Sutskever et al. 2014), whose hidden size is therefore D*H.

    Example:
        >>> net = Seq2Seq(Seq2SeqConfig(hidden_size=16, embedding_dim=8, src_vocab_size=20,
        ...                             tgt_vocab_size=30))
        >>> src, lengths = torch.randint(4, 20, (2, 7)), torch.tensor([7, 5])
        >>> tuple(net(src, lengths, torch.randint(4, 30, (2, 6))).shape)
        (2, 6, 30)
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        directions = 2 if c.bidirectional else 1
        between = c.dropout if c.num_layers > 1 else 0.0
        self.embedding = nn.Embedding(c.src_vocab_size, c.embedding_dim, padding_idx=0)
        self.encoder = Recurrent(c.cell, c.embedding_dim, c.hidden_size, c.num_layers,
                                 c.bidirectional, between)
        self.decoder = AttentionDecoder(c.tgt_vocab_size, c.embedding_dim,
                                        c.hidden_size * directions, c.hidden_size * directions,
                                        c.num_layers, c.cell, c.attention, c.dropout,
                                        copy=c.copy, coverage=c.coverage)
        self.dropout = nn.Dropout(c.dropout)

    def _bridge(self, state: Tensor) -> Tensor:
        """(L*D, B, H) encoder finals -> (L, B, D*H): each layer's directions side by side."""
        directions = self.encoder.num_directions
        L, B, H = state.shape[0] // directions, state.shape[1], state.shape[2]
        return state.view(L, directions, B, H).permute(0, 2, 1, 3).reshape(L, B, directions * H)

    def encode(self, source: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, DecoderState]:
        """Source ids (B, S) and lengths (B,) -> memory (B, S, D*H), mask (B, S) of real
        positions, and the decoder's initial state."""
        memory, final = self.encoder(self.dropout(self.embedding(source)), lengths=lengths)
        mask = torch.arange(source.shape[1], device=source.device) < lengths.to(
            source.device)[:, None]
        if isinstance(final, Tensor):
            rnn = self._bridge(final)
        else:
            rnn = type(final)(*(self._bridge(part) for part in final))
        return memory, mask, self.decoder.initial_state(rnn)

    def forward(self, source: Tensor, lengths: Tensor, target_in: Tensor) -> Tensor:
        """Logits (B, T, V) of each next target token, fed ``target_in`` (B, T) =
        ``<bos> y_1 .. y_{T-1}`` (teacher forcing at the configured ratio)."""
        memory, mask, state = self.encode(source, lengths)
        return self.decoder(target_in, memory, mask, state, self.config.teacher_forcing)

    def search(self, source: Tensor, lengths: Tensor, bos: int, eos: int, beam_size: int = 1,
               max_length: int = 100, alpha: float = 0.6, banned: Sequence[int] = (), *,
               extended: Tensor | None = None, limits: Limits | None = None,
               sampling: Sampling | None = None) -> Hypotheses:
        """Decode a batch by `AttentionDecoder.search`: greedy (``beam_size=1``) or beam search,
        or with ``sampling`` by sampling; the ``banned`` token ids are never written, `Limits`
        (minimum length, n-gram blocking) hold; ``extended`` (B, S): the source ids in the
        extended vocabulary, for a decoder that copies."""
        memory, mask, state = self.encode(source, lengths)
        limits = limits or Limits()
        if sampling is not None:
            return self.decoder.sample(memory, mask, state, bos, eos, max_length, banned,
                                       sampling=sampling, source=extended, limits=limits)
        return self.decoder.search(memory, mask, state, bos, eos, beam_size, max_length, alpha,
                                   banned, source=extended, min_length=limits.min_length,
                                   no_repeat_ngram=limits.no_repeat_ngram)


class PointerGenerator(Seq2Seq):
    r"""`Seq2Seq` whose decoder copies and covers as its config says (See et al. 2017): what
    the estimators train, with or without those options.

    ``forward(source, lengths, target_in, extended)`` returns the scores (B, T, V') and the
    per-step coverage loss (B, T) (zeros without coverage); the training loss
    (`copy_objective`) is :math:`-\log P(y_t) + \lambda \sum_s \min(a_{t,s}, c_{t,s})` per
    target token.
    """

    def forward(self, source: Tensor, lengths: Tensor, target_in: Tensor,
                extended: Tensor) -> tuple[Tensor, Tensor]:
        """(scores (B, T, V'), coverage loss (B, T)) for teacher-forced ``target_in``."""
        memory, mask, state = self.encode(source, lengths)
        out = self.decoder.decode(target_in, memory, mask, state, self.config.teacher_forcing,
                                  extended)
        coverage = out.coverage if out.coverage is not None else out.scores.new_zeros(
            target_in.shape)
        return out.scores, coverage


def copy_objective(coverage_weight: float, label_smoothing: float = 0.0) -> Any:
    """The training loss of `PointerGenerator`'s output against target ids (B, T): mean
    cross-entropy per real token + ``coverage_weight`` x mean coverage loss per real token."""

    def loss(output: tuple[Tensor, Tensor], target: Tensor) -> Tensor:
        scores, coverage = output
        real = target != 0
        penalty = (coverage * real).sum() / real.sum().clamp_min(1)
        return sequence_loss(scores, target, label_smoothing) + coverage_weight * penalty

    return loss


@dataclass
class Translation:
    """One translated sentence: its text, the source and output tokens, log P of the output
    (``<eos>`` included) and the attention weights (T_out, S) (rows: output tokens, then
    ``<eos>`` when produced; columns: source tokens)."""

    text: str
    source_tokens: list[str]
    tokens: list[str]
    score: float
    attention: Tensor
    truncated: bool


class Translator(Estimator):
    """Train a `PointerGenerator` on a parallel corpus and translate with it (an estimator).

    With ``copy`` the decoder may copy a source word into the output, even one outside the
    target vocabulary (a name, a number): the source is read in the target's extended
    vocabulary (`rnnkit.data.summaries.encode_example`). With ``vectors`` the encoder's
    embedding starts from pretrained word vectors.

    Example:
        >>> corpus = ParallelCorpus(["ein hund rennt .", "eine katze schläft ."],
        ...                         ["a dog runs .", "a cat sleeps ."], lines=[1, 2], origin="")
        >>> tr = Translator(Seq2SeqConfig(hidden_size=16, embedding_dim=8),
        ...                 CorpusConfig(min_freq=1), TrainSettings(epochs=2))
        >>> _ = tr.fit(corpus, valid=corpus, progress=False)
        >>> out = tr.translate(["ein hund schläft ."])[0]
        >>> out.source_tokens, out.attention.shape[1]  # attention (T_out, S) over the source
        (['ein', 'hund', 'schläft', '.'], 4)
    """

    SETTINGS = (("model", Seq2SeqConfig, "config"), ("corpus", CorpusConfig, "corpus_config"),
                ("train", TrainSettings, "train_config"))

    NAME = "translator"
    # learned by `fit` or `from_state`
    network: Seq2SeqConfig | None = None  # config with the vocabularies' sizes
    source: Side | None = None
    target: Side | None = None
    vectors: dict[str, Any] | None = None  # coverage report of ``config.vectors``
    net: PointerGenerator | None = None
    dropped_long = 0

    def __init__(self, config: Seq2SeqConfig | None = None, corpus: CorpusConfig | None = None,
                 train: TrainSettings | None = None) -> None:
        super().__init__(config or Seq2SeqConfig(), corpus or CorpusConfig(),
                         train or replace(TRAINING))

    # ---- training ---------------------------------------------------------------------------

    def check(self, train: ParallelCorpus, valid: ParallelCorpus) -> str:
        """Check every setting (`InputError` on the first bad one; vectors wider
        than the embedding too) and say in one line what `fit` will train; changes nothing."""
        c, corpus = self.config, self.corpus_config
        c.validate()
        corpus.validate()
        self.train_config.validate()
        if c.copy and corpus.tokenizer == "bpe" and not corpus.shared_vocab:
            raise InputError("--copy with --tokenizer bpe needs --shared-vocab: a copied "
                             "source subword must be a subword of the target side too")
        if c.vectors is not None:
            check_dimension(c.vectors, c.embedding_dim)
        return f"translate: {describe(c)}; {len(train)} training and {len(valid)} validation pairs"

    def fit(self, train: ParallelCorpus, valid: ParallelCorpus, *, progress: bool = True,
            checkpoint_dir: Path | None = None, resume: bool = False,
            parallel: Parallel | None = None, log_dir: Path | None = None) -> FitResult:
        """Train on ``train``; keep the epoch with the best greedy BLEU on ``valid``.

        The first call builds the vocabularies and the network; a later call continues from
        the kept weights (with a fresh optimiser) for ``train_config.epochs`` more epochs. The
        keywords are every estimator's (see `rnnkit.models.forecaster.Forecaster.fit`).
        """
        self.check(train, valid)
        c, t = self.config, self.train_config
        if self.net is None:
            self.source, self.target = build_sides(train, self.corpus_config)
            self.network = replace(c, src_vocab_size=len(self.source.vocab),
                                   tgt_vocab_size=len(self.target.vocab))
            torch.manual_seed(t.seed)
            self.net = PointerGenerator(self.network)
            self.vectors = encoder_vectors(self.net, self.source, c, t.seed)
        examples = self.training_pairs(train)
        held_out = self.encode(valid.source, valid.target)

        def val_bleu(model: nn.Module) -> float:
            found = search_examples(model, held_out, self.target, 1, 0.0, self.banned(),
                                    batch_size=256)
            return corpus_scores([self.output(e, ids)[0] for e, (ids, _, _) in
                                  zip(held_out, found, strict=True)], valid.target,
                                 self.corpus_config.lowercase)["bleu"]

        return fit(self.net, copy_objective(c.coverage_weight, c.label_smoothing),
                   copy_loader(examples, self.target, t.batch_size, shuffle=True, seed=t.seed),
                   copy_loader(held_out, self.target, 256, shuffle=False), t,
                   val_score=val_bleu, higher_is_better=True, progress=progress,
                   checkpoint_dir=checkpoint_dir, resume=resume, parallel=parallel,
                   log_dir=log_dir)

    def training_pairs(self, corpus: ParallelCorpus) -> list[Encoded]:
        """`Encoded` pairs of ``corpus`` for training, leaving out (and counting in
        ``dropped_long``) those with more than ``max_length`` tokens on a side (``<eos>``
        included on the target) or none."""
        limit = self.corpus_config.max_length
        kept = []
        for s, t in zip(corpus.source, corpus.target, strict=True):
            e = encode_example(self.source, s, limit, t, limit, self.target, self.config.copy)
            if e.source and e.target and not e.truncated and len(e.target) < limit:
                kept.append(e)
        self.dropped_long = len(corpus) - len(kept)
        if not kept:
            raise InputError(f"{corpus.origin}: every pair is longer than max_length={limit} "
                             "tokens; raise --max-length")
        return kept

    def perplexity(self, corpus: ParallelCorpus) -> float:
        """exp(total cross-entropy / total target tokens) on ``corpus``: per token, each
        sentence's ``<eos>`` included, so a long sentence weighs more than a short one (no
        label smoothing; over the extended vocabulary when the network copies)."""
        examples = self.encode(corpus.source, corpus.target)
        return perplexity(self.net, copy_loader(examples, self.target, 256, shuffle=False))

    # ---- translating ------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], targets: Sequence[str] | None = None
               ) -> list[Encoded]:
        """`Encoded` ids of each text (and its reference), cut to ``max_length`` tokens (the
        reference to one less, for its ``<eos>``); a text with no tokens is an `InputError`
        naming it."""
        self.check_trained()
        limit = self.corpus_config.max_length
        return encode_texts(self.source, self.target, texts, targets, limit, limit - 1,
                            self.config.copy, "sentence")

    def banned(self) -> tuple[int, ...]:
        """The ids the search never writes: ``<unk>`` unless ``write_unk``."""
        return () if self.config.write_unk else (self.target.vocab.unk_index,)

    def output(self, example: Encoded, ids: Sequence[int]) -> tuple[str, list[str]]:
        """The text and tokens of output ids (copied words through ``example``'s own)."""
        tokens = decode_extended(self.target, ids, example.oov)
        return self.target.tokenizer.detokenize(tokens), tokens

    def translate(self, texts: Sequence[str], beam_size: int | None = None,
                  alpha: float | None = None) -> list[Translation]:
        """Translate each text (order kept): beam search with the configured ``beam_size``
        and length penalty ``alpha`` unless given; ``beam_size=1`` is greedy."""
        examples = self.encode(texts)
        t = self.config
        beam = t.beam_size if beam_size is None else beam_size
        if beam < 1:
            raise InputError(f"--beam {beam}; expected at least 1 (1 = greedy search)")
        found = search_examples(self.net, examples, self.target, beam,
                                t.alpha if alpha is None else alpha, self.banned(),
                                batch_size=256)
        out = []
        for e, (ids, score, weights) in zip(examples, found, strict=True):
            text, tokens = self.output(e, ids)
            out.append(Translation(text, e.tokens, tokens, score, weights, e.truncated))
        return out

    def predict(self, texts: Sequence[str], beam_size: int | None = None) -> list[str]:
        """The translation of each text (the estimator contract's ``predict``; `translate`
        gives the tokens, scores and attention too)."""
        return [t.text for t in self.translate(texts, beam_size)]

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The run's config.json entries (the sides are a separate file)."""
        return {**self.settings(), "vectors": self.vectors}

    def sides_dict(self) -> dict[str, Any]:
        """The run's ``vocab.json``: both sides' tokenizer and vocabulary."""
        self.check_trained()
        return {"source": self.source.to_dict(), "target": self.target.to_dict()}

    @classmethod
    def from_state(cls, state: dict[str, Any], sides: Any, weights: dict[str, Tensor],
                   where: str) -> Translator:
        """Rebuild from `state`, `sides_dict` and a weights dict (from safetensors);
        anything that does not fit is refused."""
        tr = cls.from_settings(state, where)
        tr.source, tr.target = read_sides(sides, ("source", "target"), where)
        tr.network = replace(tr.config, src_vocab_size=len(tr.source.vocab),
                             tgt_vocab_size=len(tr.target.vocab))
        tr.net, tr.vectors = load_network(tr, PointerGenerator, weights, where), state.get(
            "vectors")
        return tr


# ---- what every estimator of a PointerGenerator shares ---------------------------------------


def describe(c: Seq2SeqConfig) -> str:
    """The network in words: ``1xbi-LSTM(128) encoder, additive attention + copy``."""
    kind = ("bi-" if c.bidirectional else "") + c.cell.upper()
    parts = "".join(f" + {p}" for p, on in (("copy", c.copy), ("coverage", c.coverage)) if on)
    return f"{c.num_layers}x{kind}({c.hidden_size}) encoder, {c.attention} attention{parts}"


def encode_texts(source: Side, target: Side, texts: Sequence[str],
                 targets: Sequence[str] | None, max_source: int, max_target: int, copy: bool,
                 noun: str, keep_last: bool = False) -> list[Encoded]:
    """`Encoded` ids of each text (and its target) by `encode_example` (``keep_last``: a
    long text keeps its last tokens); a text with no tokens is an `InputError` naming it
    (``noun`` k, from 1)."""
    out = []
    for k, text in enumerate(texts):
        e = encode_example(source, text, max_source, None if targets is None else targets[k],
                           max_target, target, copy, keep_last)
        if not e.source:
            raise InputError(f"{noun} {k + 1} has no tokens; give some words")
        out.append(e)
    return out


@torch.no_grad()
def search_examples(net: nn.Module, examples: Sequence[Encoded], side: Side, beam_size: int,
                    alpha: float, banned: Sequence[int] = (), max_length: int | None = None,
                    limits: Limits | None = None, sampling: Sampling | None = None,
                    batch_size: int = 128) -> list[tuple[list[int], float, Tensor]]:
    """(output ids, log P, attention (T, S)) per example, in order, by `Seq2Seq.search` on
    batches of similar length; ``side`` is the output's (its ``<bos>``/``<eos>``). Each
    batch writes at most ``max_length`` tokens (None: 1.5 x its longest source + 10)."""
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    results: list[Any] = [None] * len(examples)
    for index in BucketSampler([len(e.source) for e in examples], batch_size, shuffle=False):
        source, lengths = pad_batch([torch.as_tensor(examples[k].source) for k in index])
        extended, _ = pad_batch([torch.as_tensor(examples[k].extended) for k in index])
        limit = int(1.5 * source.shape[1]) + 10 if max_length is None else max_length
        hyps = net.search(source.to(device), lengths.to(device), side.bos_index,
                          side.eos_index, beam_size, limit, alpha, banned,
                          extended=extended.to(device), limits=limits, sampling=sampling)
        for row, k in enumerate(index):
            results[k] = (hyps.tokens[row], float(hyps.scores[row]),
                          hyps.attention[row][:, : len(examples[k].source)])
    net.train(was_training)
    return results


@torch.no_grad()
def perplexity(net: nn.Module, loader: Any) -> float:
    """exp(total cross-entropy / total target tokens) of a `PointerGenerator` over the
    batches of ``loader`` (`rnnkit.data.summaries.copy_loader`; padding, id 0, left out)."""
    device = next(net.parameters()).device
    net.eval()
    nll, tokens = 0.0, 0
    for x, y in loader:
        scores, _ = net(*(part.to(device) for part in x))  # (B, T, V')
        nll += float(F.cross_entropy(scores.flatten(0, 1).float(), y.flatten().to(device),
                                     ignore_index=0, reduction="sum"))
        tokens += int((y != 0).sum())
    return math.exp(nll / tokens)


def encoder_vectors(net: Seq2Seq, side: Side, config: Seq2SeqConfig,
                    seed: int) -> dict[str, Any] | None:
    """Start the encoder's embedding from ``config.vectors`` for ``side``'s words (frozen
    with ``freeze_vectors``; see `rnnkit.data.vectors.init_embedding`) and return the
    coverage report; None without vectors."""
    if config.vectors is None:
        return None
    vocab = side.vocab
    found = read_vectors(config.vectors, vocab.tokens[vocab.n_specials:])
    init_embedding(net.embedding, vocab.tokens, found, config.freeze_vectors, seed)
    return found.report()


def load_network(estimator: Any, network: Callable[[Any], Seq2Seq],
                 weights: dict[str, Tensor], where: str) -> Seq2Seq:
    """The trained ``network`` of an estimator rebuilt by ``from_state``: its settings
    checked (the vectors file is needed for training only), then the weights loaded."""
    replace(estimator.config, vectors=None).validate()
    estimator.corpus_config.validate()
    return load_checked(network(estimator.network), weights, where)
