"""Many-to-many with different lengths: the attentional encoder-decoder (`Seq2Seq`) and the
`Translator` that trains it on a parallel corpus and translates with greedy or beam search.

Sutskever et al. 2014 read the source with one LSTM and write the target with another; Bahdanau
et al. 2015 and Luong et al. 2015 let the decoder attend to every source position instead of
one fixed vector. Here: a stacked, optionally bidirectional encoder (`Recurrent`) whose outputs
are the memory, whose final states start the decoder, and the shared `AttentionDecoder`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.checks import check_choice, check_counts
from rnnkit.data.parallel import (
    CorpusConfig,
    ParallelCorpus,
    Side,
    build_sides,
    encode_pairs,
    pair_loader,
)
from rnnkit.data.text import BucketSampler, pad_batch
from rnnkit.errors import InputError
from rnnkit.evaluate.translation import corpus_scores
from rnnkit.io.weights import load_checked
from rnnkit.layers import CELLS, Recurrent
from rnnkit.models.attention import ATTENTIONS
from rnnkit.models.decoder import (
    AttentionDecoder,
    DecoderState,
    Hypotheses,
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
                                        c.num_layers, c.cell, c.attention, c.dropout)
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
               max_length: int = 100, alpha: float = 0.6,
               banned: Sequence[int] = ()) -> Hypotheses:
        """Translate a batch by `AttentionDecoder.search`: greedy (``beam_size=1``) or beam search;
        the ``banned`` token ids are never written."""
        memory, mask, state = self.encode(source, lengths)
        return self.decoder.search(memory, mask, state, bos, eos, beam_size, max_length, alpha,
                                   banned)


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
    """Train a `Seq2Seq` on a parallel corpus and translate with it (an estimator).

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
    net: Seq2Seq | None = None
    dropped_long = 0

    def __init__(self, config: Seq2SeqConfig | None = None, corpus: CorpusConfig | None = None,
                 train: TrainSettings | None = None) -> None:
        super().__init__(config or Seq2SeqConfig(), corpus or CorpusConfig(),
                         train or replace(TRAINING))

    # ---- training ---------------------------------------------------------------------------

    def check(self, train: ParallelCorpus, valid: ParallelCorpus) -> str:
        """Check every setting (`InputError` on the first bad one) and say in one line what
        `fit` will train; changes nothing."""
        c = self.config
        c.validate()
        self.corpus_config.validate()
        self.train_config.validate()
        kind = ("bi-" if c.bidirectional else "") + c.cell.upper()
        return (f"translate: {c.num_layers}x{kind}({c.hidden_size}) encoder, {c.attention} "
                f"attention; {len(train)} training and {len(valid)} validation pairs")

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
            self.net = Seq2Seq(self.network)
        pairs = encode_pairs(train, self.source, self.target, self.corpus_config.max_length)
        self.dropped_long = pairs.dropped_long
        val_src, _ = self.encode_sources(valid.source)
        val_tgt = [ids[: self.corpus_config.max_length - 1]
                   for ids in (self.target.encode(s) for s in valid.target)]
        train_loader = pair_loader(pairs.source, pairs.target, self.target, t.batch_size,
                                   shuffle=True, seed=t.seed)
        val_loader = pair_loader(val_src, val_tgt, self.target, 256, shuffle=False)

        def val_bleu(model: nn.Module) -> float:
            hyps = self._search(model, val_src, beam_size=1)
            return corpus_scores([self.target.decode(h[0]) for h in hyps], valid.target,
                                 self.corpus_config.lowercase)["bleu"]

        return fit(self.net, partial(sequence_loss, label_smoothing=c.label_smoothing),
                   train_loader, val_loader, t, val_score=val_bleu, higher_is_better=True,
                   progress=progress, checkpoint_dir=checkpoint_dir, resume=resume,
                   parallel=parallel, log_dir=log_dir)

    @torch.no_grad()
    def perplexity(self, corpus: ParallelCorpus) -> float:
        """exp(total cross-entropy / total target tokens) on ``corpus``: per token, each
        sentence's ``<eos>`` included, so a long sentence weighs more than a short one (no
        label smoothing)."""
        self.check_trained()
        src, _ = self.encode_sources(corpus.source)
        tgt = [ids[: self.corpus_config.max_length - 1]
               for ids in (self.target.encode(s) for s in corpus.target)]
        loader = pair_loader(src, tgt, self.target, 256, shuffle=False)
        device = next(self.net.parameters()).device
        self.net.eval()
        nll, tokens = 0.0, 0
        for x, y in loader:
            logits = self.net(*(part.to(device) for part in x))  # (B, T, V)
            nll += float(nn.functional.cross_entropy(logits.flatten(0, 1),
                                                     y.flatten().to(device), ignore_index=0,
                                                     reduction="sum"))
            tokens += int((y != 0).sum())  # padding is id 0
        return math.exp(nll / tokens)

    # ---- translating ------------------------------------------------------------------------

    def encode_sources(self, texts: Sequence[str]) -> tuple[list[list[int]], list[bool]]:
        """Source ids of each text, cut to ``max_length`` tokens, and which texts were cut.
        A text with no tokens is an `InputError` naming it."""
        self.check_trained()
        limit = self.corpus_config.max_length
        ids, cut = [], []
        for k, text in enumerate(texts, start=1):
            encoded = self.source.encode(text)
            if not encoded:
                raise InputError(f"sentence {k} has no tokens; give some words")
            ids.append(encoded[:limit])
            cut.append(len(encoded) > limit)
        return ids, cut

    @torch.no_grad()
    def _search(self, model: nn.Module, ids: Sequence[Sequence[int]], beam_size: int,
                alpha: float = 0.0, batch_size: int = 256) -> list[tuple[list[int], float,
                                                                           Tensor]]:
        """(output ids, log P, attention (T, S)) per source, in order; batches of similar
        length, each decoded for at most 1.5 x its longest source + 10 tokens."""
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        bos, eos = self.target.bos_index, self.target.eos_index
        banned = () if self.config.write_unk else (self.target.vocab.unk_index,)
        results: list[Any] = [None] * len(ids)
        for index in BucketSampler([len(s) for s in ids], batch_size, shuffle=False):
            source, lengths = pad_batch([torch.as_tensor(ids[k]) for k in index])
            limit = int(1.5 * source.shape[1]) + 10
            hyps = model.search(source.to(device), lengths.to(device), bos, eos, beam_size,
                                limit, alpha, banned)
            for row, k in enumerate(index):
                results[k] = (hyps.tokens[row], float(hyps.scores[row]),
                              hyps.attention[row][:, : len(ids[k])])
        model.train(was_training)
        return results

    def translate(self, texts: Sequence[str], beam_size: int | None = None,
                  alpha: float | None = None) -> list[Translation]:
        """Translate each text (order kept): beam search with the configured ``beam_size``
        and length penalty ``alpha`` unless given; ``beam_size=1`` is greedy."""
        ids, cut = self.encode_sources(texts)
        t = self.config
        beam = t.beam_size if beam_size is None else beam_size
        if beam < 1:
            raise InputError(f"--beam {beam}; expected at least 1 (1 = greedy search)")
        found = self._search(self.net, ids, beam, t.alpha if alpha is None else alpha)
        out = []
        for text, src, truncated, (tokens, score, weights) in zip(texts, ids, cut, found,
                                                                  strict=True):
            out.append(Translation(
                self.target.decode(tokens), self.source.tokens(text)[: len(src)],
                self.target.vocab.decode(tokens, skip_specials=False), score, weights,
                truncated))
        return out

    def predict(self, texts: Sequence[str], beam_size: int | None = None) -> list[str]:
        """The translation of each text (the estimator contract's ``predict``; `translate`
        gives the tokens, scores and attention too)."""
        return [t.text for t in self.translate(texts, beam_size)]

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The run's config.json entries (the sides are a separate file)."""
        return self.settings()

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
        model = tr.config
        model.validate()
        tr.corpus_config.validate()
        if not isinstance(sides, dict) or set(sides) != {"source", "target"}:
            raise InputError(f"{where}: vocab.json has exactly 'source' and 'target'")
        tr.source = Side.from_dict(sides["source"], f"{where}: source side")
        tr.target = Side.from_dict(sides["target"], f"{where}: target side")
        tr.network = replace(model, src_vocab_size=len(tr.source.vocab),
                             tgt_vocab_size=len(tr.target.vocab))
        tr.net = load_checked(Seq2Seq(tr.network), weights, where)
        return tr
