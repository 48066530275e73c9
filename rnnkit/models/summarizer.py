"""Text to shorter text with the translation stack: the pointer-generator network (See et al.
2017) and the estimators that train it, `Summarizer` and `Chatbot`.

The network is `Seq2Seq`'s encoder and the shared `AttentionDecoder` with its copy and
coverage options; source and target share one vocabulary, so a copied source word is the same
word in the output, and a source word outside the vocabulary is copied through the extended
vocabulary (`rnnkit.data.summaries.extend_source`). A chatbot is the same estimator reading a
dialogue's last turns and writing the reply (copying off by default): one class, two defaults.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.data.parallel import CorpusConfig, Side
from rnnkit.data.summaries import Encoded, copy_loader, decode_extended, encode_example
from rnnkit.data.text import BucketSampler, pad_batch
from rnnkit.errors import InputError
from rnnkit.io.weights import load_checked
from rnnkit.models.decoder import AttentionDecoder, Hypotheses, Limits, Sampling, sequence_loss
from rnnkit.models.estimator import Estimator
from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig
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
    coverage: bool = False  # coverage vector as attention input + coverage loss
    coverage_weight: float = 1.0  # lambda of the coverage loss (See et al. 2017, eq. 13)
    max_source_tokens: int = 150  # longer sources are truncated (and counted)
    min_length: int = 1  # tokens before <eos> may be written
    no_repeat_ngram: int = 3  # no n-gram written twice (0: no blocking)

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        super().validate()
        if self.coverage_weight < 0:
            raise InputError(f"--coverage-weight {self.coverage_weight}; expected >= 0")
        if self.max_source_tokens < 1:
            raise InputError(f"--max-source-tokens {self.max_source_tokens}; expected >= 1")
        if self.min_length < 0 or self.no_repeat_ngram < 0:
            raise InputError(f"--min-length {self.min_length} / --no-repeat-ngram "
                             f"{self.no_repeat_ngram}; expected 0 or more")


#: The summariser's vocabulary: one, shared by source and target (copying needs it);
#: ``max_length`` is the longest target kept for training (longer ones are cut).
CORPUS = CorpusConfig(lowercase=True, min_freq=2, max_vocab=20000, shared_vocab=True,
                      max_length=30)
#: Training settings of the summariser.
TRAINING = TrainSettings(epochs=15, batch_size=64, lr=2e-3, clip=2.0, patience=3)


class PointerGenerator(Seq2Seq):
    r"""`Seq2Seq` whose decoder copies and covers as its config says (See et al. 2017).

    ``forward(source, lengths, target_in, extended)`` returns the scores (B, T, V') and the
    per-step coverage loss (B, T) (zeros without coverage); the training loss is
    :math:`-\log P(y_t) + \lambda \sum_s \min(a_{t,s}, c_{t,s})` per target token.
    """

    def __init__(self, config: SummarizerConfig) -> None:
        super().__init__(config)
        c = config
        size = c.hidden_size * (2 if c.bidirectional else 1)
        self.decoder = AttentionDecoder(c.tgt_vocab_size, c.embedding_dim, size, size,
                                        c.num_layers, c.cell, c.attention, c.dropout,
                                        copy=c.copy, coverage=c.coverage)

    def forward(self, source: Tensor, lengths: Tensor, target_in: Tensor,
                extended: Tensor) -> tuple[Tensor, Tensor]:
        """(scores (B, T, V'), coverage loss (B, T)) for teacher-forced ``target_in``."""
        memory, mask, state = self.encode(source, lengths)
        out = self.decoder.decode(target_in, memory, mask, state, self.config.teacher_forcing,
                                  extended)
        coverage = out.coverage if out.coverage is not None else out.scores.new_zeros(
            target_in.shape)
        return out.scores, coverage

    def generate(self, source: Tensor, lengths: Tensor, extended: Tensor, bos: int, eos: int,
                 beam_size: int, max_length: int, alpha: float, banned: Sequence[int],
                 limits: Limits, sampling: Sampling | None = None) -> Hypotheses:
        """Search (greedy or beam) or, with ``sampling``, sample outputs for a batch."""
        memory, mask, state = self.encode(source, lengths)
        if sampling is not None:
            return self.decoder.sample(memory, mask, state, bos, eos, max_length, banned,
                                       sampling=sampling, source=extended, limits=limits)
        return self.decoder.search(memory, mask, state, bos, eos, beam_size, max_length, alpha,
                                   banned, source=extended, min_length=limits.min_length,
                                   no_repeat_ngram=limits.no_repeat_ngram)


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
class Summary:
    """One output: its text and tokens, the source tokens it read, log P of the output,
    the attention (T_out, S) and, from `Summarizer.explain`, per output token p_gen and
    whether it was copied (None before)."""

    text: str
    source_tokens: list[str]
    tokens: list[str]
    score: float
    attention: Tensor
    truncated: bool
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
    # learned by `fit` or `from_state`
    network: SummarizerConfig | None = None
    side: Side | None = None
    net: PointerGenerator | None = None
    truncated = 0  # training sources cut to max_source_tokens

    def __init__(self, config: SummarizerConfig | None = None,
                 corpus: CorpusConfig | None = None, train: TrainSettings | None = None) -> None:
        model, corpus_default, train_default = self.DEFAULTS
        super().__init__(config or replace(model), corpus or replace(corpus_default),
                         train or replace(train_default))

    # ---- training ---------------------------------------------------------------------------

    def check(self, train: Any, valid: Any) -> str:
        """Check every setting (`InputError` on the first bad one) and say in one line what
        `fit` will train; changes nothing."""
        c = self.config
        c.validate()
        self.corpus_config.validate()
        self.train_config.validate()
        if not self.corpus_config.shared_vocab:
            raise InputError(f"the {self.NAME} reads and writes one vocabulary; drop "
                             "--separate-vocab")
        parts = [p for p, on in (("copy", c.copy), ("coverage", c.coverage)) if on]
        kind = ("bi-" if c.bidirectional else "") + c.cell.upper()
        return (f"{self.NAME}: {c.num_layers}x{kind}({c.hidden_size}) encoder, {c.attention} "
                f"attention{''.join(' + ' + p for p in parts)}; {len(train.source)} training "
                f"and {len(valid.source)} validation pairs")

    def encode(self, texts: Sequence[str], targets: Sequence[str] | None = None
               ) -> list[Encoded]:
        """`Encoded` ids of each text (and its target), the source cut to
        ``max_source_tokens``; a text with no tokens is an `InputError` naming it."""
        self.check_trained()
        V, unk = len(self.side.vocab), self.side.vocab.unk_index
        out = []
        for k, text in enumerate(texts):
            target = None if targets is None else targets[k]
            e = encode_example(self.side, text, self.config.max_source_tokens, target,
                               self.corpus_config.max_length - 1)
            if not e.source:
                raise InputError(f"text {k + 1} has no tokens; give some words")
            if not self.config.copy:  # without copying an unknown target word is <unk>
                e.target = [unk if i >= V else i for i in e.target]
            out.append(e)
        return out

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
            size = len(self.side.vocab)
            self.network = replace(c, src_vocab_size=size, tgt_vocab_size=size)
            torch.manual_seed(t.seed)
            self.net = PointerGenerator(self.network)
        examples = [e for e in self.encode(train.source, train.target) if e.target]
        self.truncated = sum(e.truncated for e in examples)
        held_out = self.encode(valid.source, valid.target)
        return fit(self.net, copy_objective(c.coverage_weight, c.label_smoothing),
                   copy_loader(examples, self.side, t.batch_size, shuffle=True, seed=t.seed),
                   copy_loader(held_out, self.side, 128, shuffle=False), t, progress=progress,
                   checkpoint_dir=checkpoint_dir, resume=resume, parallel=parallel,
                   log_dir=log_dir)

    @torch.no_grad()
    def perplexity(self, sources: Sequence[str], targets: Sequence[str]) -> float:
        """exp(total cross-entropy / total target tokens), ``<eos>`` included: per token,
        over the extended vocabulary when the network copies."""
        self.check_trained()
        loader = copy_loader(self.encode(sources, targets), self.side, 128, shuffle=False)
        device = next(self.net.parameters()).device
        self.net.eval()
        nll, tokens = 0.0, 0
        for x, y in loader:
            scores, _ = self.net(*(part.to(device) for part in x))
            nll += float(F.cross_entropy(scores.flatten(0, 1).float(), y.flatten().to(device),
                                         ignore_index=0, reduction="sum"))
            tokens += int((y != 0).sum())
        return math.exp(nll / tokens)

    # ---- writing ----------------------------------------------------------------------------

    def limits(self) -> Limits:
        """The configured minimum length and n-gram blocking."""
        return Limits(self.config.min_length, self.config.no_repeat_ngram)

    @torch.no_grad()
    def _generate(self, examples: Sequence[Encoded], beam_size: int, alpha: float,
                  limits: Limits, sampling: Sampling | None,
                  batch_size: int = 128) -> list[tuple[list[int], float, Tensor]]:
        """(output ids, log P, attention (T, S)) per example, in order."""
        net = self.net
        net.eval()
        device = next(net.parameters()).device
        side = self.side
        banned = () if self.config.write_unk else (side.vocab.unk_index,)
        results: list[Any] = [None] * len(examples)
        for index in BucketSampler([len(e.source) for e in examples], batch_size,
                                   shuffle=False):
            source, lengths = pad_batch([torch.as_tensor(examples[k].source) for k in index])
            extended, _ = pad_batch([torch.as_tensor(examples[k].extended) for k in index])
            hyps = net.generate(source.to(device), lengths.to(device), extended.to(device),
                                side.bos_index, side.eos_index, beam_size,
                                self.corpus_config.max_length, alpha, banned, limits, sampling)
            for row, k in enumerate(index):
                results[k] = (hyps.tokens[row], float(hyps.scores[row]),
                              hyps.attention[row][:, : len(examples[k].source)])
        return results

    def summarize(self, texts: Sequence[str], beam_size: int | None = None,
                  sampling: Sampling | None = None,
                  limits: Limits | None = None) -> list[Summary]:
        """The output for each text (order kept): beam search with the configured beam size,
        length penalty and `limits` unless given (``beam_size=1``: greedy), or sampling."""
        examples = self.encode(texts)
        beam = self.config.beam_size if beam_size is None else beam_size
        if beam < 1:
            raise InputError(f"--beam {beam}; expected at least 1 (1 = greedy search)")
        found = self._generate(examples, beam, self.config.alpha, limits or self.limits(),
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
        return self.settings()

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
        s.config.validate()
        s.corpus_config.validate()
        if not isinstance(sides, dict) or set(sides) != {"shared"}:
            raise InputError(f"{where}: vocab.json has exactly 'shared'")
        s.side = Side.from_dict(sides["shared"], f"{where}: vocabulary")
        size = len(s.side.vocab)
        s.network = replace(s.config, src_vocab_size=size, tgt_vocab_size=size)
        s.net = load_checked(PointerGenerator(s.network), weights, where)
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
