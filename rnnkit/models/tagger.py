"""Many-to-many, synchronous: one label per input token (named entities, chunks, part of
speech) with a BiLSTM-CRF tagger (Huang et al. 2015, Lample et al. 2016, Ma & Hovy 2016)."""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from rnnkit.checks import check_choice, check_counts, check_fractions
from rnnkit.data.conll import TaggedSentences, detect_scheme
from rnnkit.data.text import BucketSampler, Vocab
from rnnkit.data.vectors import Vectors, check_dimension, init_embedding, read_vectors
from rnnkit.diagnose.gates import token_gates
from rnnkit.errors import InputError
from rnnkit.evaluate.tagging import chunk_scores, token_accuracy
from rnnkit.io.weights import load_checked
from rnnkit.layers import CELLS, Recurrent, Trace
from rnnkit.models.crf import CRF, allowed_transitions
from rnnkit.models.estimator import Estimator
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.settings import TrainSettings

CHAR_FEATURES = ("lstm", "cnn", "none")
OUTPUTS = ("crf", "softmax")
#: Tag id of padding in a batch's (B, T) tags.
PAD_TAG = -1
#: Each sentence's feature values: ``features[k][t][j]`` is token t's value of column j.
Features = Sequence[Sequence[Sequence[str]]]


def feature_count(data: TaggedSentences) -> int:
    """How many feature columns ``data``'s tokens carry (0 without ``features``)."""
    return len(data.features[0][0]) if data.features else 0


@dataclass
class TaggerConfig:
    """The network and its word handling (everything needed to rebuild it). Defaults follow
    Lample et al. 2016 (char BiLSTM 25+25, word BiLSTM 100 per direction, dropout 0.5, CRF)."""

    cell: str = "lstm"  # any name in rnnkit.layers.CELLS, for the sentence
    embedding_dim: int = 100  # E, word vectors (at least the --vectors file's dimension)
    hidden_size: int = 100  # H, units per sentence layer and direction
    num_layers: int = 1  # stacked sentence layers
    bidirectional: bool = True
    char_features: str = "lstm"  # "lstm" (Lample et al.), "cnn" (Ma & Hovy) or "none"
    char_dim: int = 25  # character embedding size
    char_hidden: int = 25  # char BiLSTM units per direction, or char CNN filters
    char_kernel: int = 3  # width of the char CNN's filters (Ma & Hovy: 3)
    feature_dim: int = 20  # embedding of each feature column's values (NCRF++'s default: 20)
    output: str = "crf"  # "crf" (Viterbi over a linear-chain CRF) or "softmax" (per token)
    constraints: bool = True  # CRF: forbid moves the chunk scheme forbids (e.g. O -> I-X)
    lowercase: bool = True  # words are looked up lower-cased (the characters keep the case)
    zeros: bool = True  # digits are looked up as 0 (Lample et al.)
    min_freq: int = 1  # rarer training words become <unk>
    word_dropout: float = 0.05  # training: a word becomes <unk> with this chance
    dropout: float = 0.5  # on the word+char features and on the sentence layer's output
    vectors: str | None = None  # text file of pretrained word vectors (GloVe, word2vec)
    freeze_vectors: bool = False  # keep the pretrained embedding fixed
    # with vectors: the file's first (most frequent) words that training never shows get a
    # row too, so a dev/test word keeps its vector instead of <unk> (Lample et al. 2016 give
    # every pretrained word a row); 100,000 x 50d is 20 MB of weights
    vectors_vocab: int = 100_000
    vocab_size: int = 0  # the network's sizes: a Tagger learns them from the data (in its
    char_vocab_size: int = 0  # ``network`` config) and leaves its own config as given
    num_tags: int = 0
    fixed_words: int = 0  # of vocab_size, the last rows: words only the vectors file has
    feature_vocab_sizes: list[int] = field(default_factory=list)  # one per feature column

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        if self.cell not in CELLS:
            raise InputError(f"--cell {self.cell!r} is not known; choose one of {sorted(CELLS)}")
        check_choice("char-features", self.char_features, CHAR_FEATURES)
        check_choice("output", self.output, OUTPUTS)
        check_counts(self, ("embedding_dim", "hidden_size", "num_layers", "char_dim",
                            "char_hidden", "char_kernel", "feature_dim", "min_freq"))
        if self.vectors_vocab < 0:
            raise InputError(f"--vectors-vocab {self.vectors_vocab}; expected 0 (only the "
                             "training words) or more")
        check_fractions(self, ("word_dropout", "dropout"))
        if self.vectors is not None and not Path(self.vectors).is_file():
            raise InputError(f"--vectors {self.vectors}: no such file")


#: Training settings of the tagger: Adam with clipping (Lample et al. used SGD at 0.01 with
#: clipping 5.0; Adam converges in fewer epochs), early stopping on the dev score.
TRAINING = TrainSettings(epochs=30, batch_size=32, lr=2e-3, clip=5.0, patience=4)


class CharFeatures(nn.Module):
    r"""One vector per word from its characters: the final states of a character BiLSTM,
    forwards and backwards (Lample et al. 2016), or a CNN max-pooled over the characters
    (Ma & Hovy 2016): :math:`c = \max_k \mathrm{conv}(E_c[w_{1..L}])_k`.

    Shapes: chars (N, L) long (0-padded), char lengths (N,) >= 1 -> (N, ``size``).
    """

    def __init__(self, config: TaggerConfig) -> None:
        super().__init__()
        c = config
        self.kind = c.char_features
        self.embedding = nn.Embedding(c.char_vocab_size, c.char_dim, padding_idx=0)
        if self.kind == "lstm":
            self.rnn = Recurrent("lstm", c.char_dim, c.char_hidden, bidirectional=True)
            self.size = 2 * c.char_hidden
        else:
            self.conv = nn.Conv1d(c.char_dim, c.char_hidden, c.char_kernel,
                                  padding=c.char_kernel // 2)
            self.size = c.char_hidden

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        """(N, L) characters and (N,) lengths -> (N, size)."""
        x = self.embedding(chars)  # (N, L, C)
        if self.kind == "lstm":
            _, (h, _) = self.rnn(x, lengths=lengths)  # h: (2, N, H)
            return torch.cat([h[0], h[1]], dim=-1)
        out = self.conv(x.transpose(1, 2)).transpose(1, 2)  # (N, L, F)
        real = torch.arange(chars.shape[1], device=chars.device)[None] < lengths[:, None]
        return out.masked_fill(~real[..., None], float("-inf")).amax(1)


class SequenceTagger(nn.Module):
    r"""Words (+ characters, + feature columns) -> stacked (bidirectional) recurrent layers ->
    per-token tag scores -> CRF or softmax.

    .. math::
        x_t = [E[w_t]; \mathrm{char}(w_t); F_1[f_{t,1}]; \dots; F_m[f_{t,m}]], \quad
        o_{1..T} = \mathrm{RNN}(\mathrm{drop}(x_{1..T})), \quad
        e_t = W\,\mathrm{drop}(o_t) + b \in \mathbb{R}^K

    and :math:`p(y \mid e)` from the `CRF` (or a softmax per token). The word table E is
    ``embedding`` (the training words, tuned unless frozen) followed by ``fixed`` (the last
    ``fixed_words`` ids: words only the vectors file has; no training sentence reaches them,
    so they get no gradient and are kept out of the optimiser). :math:`F_j` is the table of
    feature column j (``features[j]``, ``feature_dim`` wide; e.g. part of speech, as NCRF++
    reads it). Shapes: words (B, T) long (padded with ``Vocab.pad_index``), chars (B, T, L)
    long, lengths (B,), features (B, T, m) long (m = ``len(feature_vocab_sizes)``; None when
    m = 0) -> emissions (B, T, K).

    Example:
        >>> c = TaggerConfig(embedding_dim=8, hidden_size=8, char_dim=4, char_hidden=4,
        ...                  vocab_size=20, char_vocab_size=10, num_tags=3)
        >>> net = SequenceTagger(c)
        >>> e = net(torch.randint(2, 20, (2, 5)), torch.randint(1, 10, (2, 5, 4)),
        ...         torch.tensor([5, 3]))
        >>> tuple(e.shape), tuple(net.decode(e, torch.tensor([5, 3])).shape)
        ((2, 5, 3), (2, 5))
    """

    def __init__(self, config: TaggerConfig, tags: Sequence[str] = (),
                 scheme: str | None = None) -> None:
        super().__init__()
        c = self.config = config
        if c.vocab_size - c.fixed_words < 3 or c.num_tags < 1:
            raise InputError(f"vocab_size={c.vocab_size} (fixed_words={c.fixed_words}) and "
                             f"num_tags={c.num_tags}; expected at least 3 tuned words and 1 tag "
                             "(they come from the training data)")
        self.embedding = nn.Embedding(c.vocab_size - c.fixed_words, c.embedding_dim,
                                      padding_idx=Vocab.pad_index)
        self.fixed = nn.Embedding(c.fixed_words, c.embedding_dim).requires_grad_(False) \
            if c.fixed_words else None
        self.chars = None if c.char_features == "none" else CharFeatures(c)
        self.features = nn.ModuleList(nn.Embedding(n, c.feature_dim, padding_idx=Vocab.pad_index)
                                      for n in c.feature_vocab_sizes)
        width = c.embedding_dim + (0 if self.chars is None else self.chars.size) \
            + c.feature_dim * len(self.features)
        self.drop = nn.Dropout(c.dropout)
        self.rnn = Recurrent(c.cell, width, c.hidden_size, c.num_layers, c.bidirectional,
                             dropout=c.dropout if c.num_layers > 1 else 0.0)
        self.head = nn.Linear(c.hidden_size * self.rnn.num_directions, c.num_tags)
        allowed = allowed_transitions(tags, scheme) \
            if c.output == "crf" and c.constraints and scheme else None
        self.crf = CRF(c.num_tags, allowed) if c.output == "crf" else None

    def forward(self, words: Tensor, chars: Tensor, lengths: Tensor,
                features: Tensor | None = None,
                trace: bool = False) -> Tensor | tuple[Tensor, Trace]:
        """Emissions (B, T, K); with ``trace`` also the sentence layers' `Trace`."""
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.config.word_dropout
            words = words.masked_fill(drop & (words != Vocab.pad_index), Vocab.unk_index)
        x = [self.embed(words)]  # (B, T, E)
        if self.chars is not None:
            x.append(self.spell(chars))  # (B, T, C)
        for j, table in enumerate(self.features):
            x.append(table(features[..., j]))  # (B, T, feature_dim)
        result = self.rnn(self.drop(torch.cat(x, dim=-1)), lengths=lengths, trace=trace)
        emissions = self.head(self.drop(result[0]))
        return (emissions, result[2]) if trace else emissions

    def embed(self, words: Tensor) -> Tensor:
        """The word vectors (B, T, E) of ids (B, T): rows of ``embedding``, then of ``fixed``."""
        tuned = self.embedding.num_embeddings
        x = self.embedding(words.clamp(max=tuned - 1))
        if self.fixed is None:
            return x
        return torch.where((words >= tuned)[..., None], self.fixed((words - tuned).clamp(min=0)), x)

    def spell(self, chars: Tensor) -> Tensor:
        """The character features (B, T, C) of the words spelled by chars (B, T, L)."""
        B, T, L = chars.shape
        # each distinct spelling once: a batch repeats its words ("the", ",", padding)
        spellings, inverse = torch.unique(chars.reshape(B * T, L), dim=0,
                                          return_inverse=True)  # (U, L), (B*T,)
        char_lengths = (spellings != 0).sum(1).clamp(min=1)  # padding words: one pad char
        return self.chars(spellings, char_lengths)[inverse].reshape(B, T, -1)  # (B, T, C)

    @staticmethod
    def mask(lengths: Tensor, steps: int) -> Tensor:
        """(B, T) True on the real tokens."""
        return torch.arange(steps, device=lengths.device)[None] < lengths[:, None]

    def loss(self, emissions: Tensor, tags: Tensor) -> Tensor:
        """Mean CRF negative log-likelihood per sentence, or mean token cross-entropy;
        ``tags`` (B, T) hold `PAD_TAG` on padding."""
        mask = tags != PAD_TAG
        if self.crf is None:
            return F.cross_entropy(emissions.transpose(1, 2), tags, ignore_index=PAD_TAG)
        return self.crf.nll(emissions, tags.clamp(min=0), mask).mean()

    def decode(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """The best tags (B, T): Viterbi through the CRF, else the per-token argmax."""
        mask = self.mask(lengths.to(emissions.device), emissions.shape[1])
        if self.crf is None:
            return emissions.argmax(-1).masked_fill(~mask, 0)
        return self.crf.decode(emissions, mask)[0]

    def probabilities(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """Per-token tag probabilities (B, T, K): CRF marginals, else the softmax."""
        mask = self.mask(lengths.to(emissions.device), emissions.shape[1])
        if self.crf is None:
            return F.softmax(emissions, -1) * mask[..., None]
        return self.crf.marginals(emissions, mask)


# ---- batches --------------------------------------------------------------------------------


class TaggedBatches(Dataset):
    """Encoded sentences, indexed by a list of indices to give whole batches
    ``((words (B, T), chars (B, T, L), lengths (B,), features (B, T, m)), tags (B, T))``,
    padded to the batch's longest sentence and word (tags padded with `PAD_TAG`);
    ``features[k][t]`` holds token t's m feature ids (default: m = 0)."""

    def __init__(self, words: Sequence[Sequence[int]], chars: Sequence[Sequence[Sequence[int]]],
                 tags: Sequence[Sequence[int]] | None = None,
                 features: Sequence[Sequence[Sequence[int]]] | None = None) -> None:
        self.words, self.chars = words, chars
        self.tags = tags if tags is not None else [[PAD_TAG] * len(s) for s in words]
        self.features = features if features is not None else [[[]] * len(s) for s in words]

    def __len__(self) -> int:
        return len(self.words)

    def __getitem__(self, index: list[int]
                    ) -> tuple[tuple[Tensor, Tensor, Tensor, Tensor], Tensor]:
        lengths = torch.tensor([len(self.words[k]) for k in index])
        T = int(lengths.max())
        L = max(len(w) for k in index for w in self.chars[k])
        m = len(self.features[index[0]][0])
        words = torch.zeros(len(index), T, dtype=torch.long)
        chars = torch.zeros(len(index), T, L, dtype=torch.long)
        features = torch.zeros(len(index), T, m, dtype=torch.long)
        tags = torch.full((len(index), T), PAD_TAG, dtype=torch.long)
        for row, k in enumerate(index):
            n = len(self.words[k])
            words[row, :n] = torch.as_tensor(self.words[k])
            tags[row, :n] = torch.as_tensor(self.tags[k])
            features[row, :n] = torch.as_tensor(self.features[k], dtype=torch.long).view(n, m)
            for t, word in enumerate(self.chars[k]):
                chars[row, t, : len(word)] = torch.as_tensor(word)
        return (words, chars, lengths, features), tags


def tagged_loader(data: TaggedBatches, batch_size: int, shuffle: bool,
                  seed: int = 0) -> DataLoader:
    """Length-bucketed batches of `TaggedBatches`."""
    sampler = BucketSampler([len(s) for s in data.words], batch_size, shuffle, seed)
    return DataLoader(data, sampler=sampler, batch_size=None)


# ---- the estimator --------------------------------------------------------------------------


class Tagger(Estimator):
    """A sequence tagger estimator: ``fit`` on tagged sentences, then tag any tokens.

    The word and character vocabularies and the tag set come from the training sentences
    (with ``vectors``, the word vocabulary also takes the file's ``vectors_vocab`` most
    frequent words, so words first met at test time keep their pretrained vector), and so
    does one vocabulary per feature column when the sentences have ``features`` (values
    training never shows are ``<unk>``); the network is built from their sizes at fit time.
    A tagger trained with features needs them wherever it tags (``features=``). The dev
    score that early stopping follows is conlleval's F1 for chunk tags, else token accuracy.

    Example:
        >>> s = TaggedSentences([["Paris", "is", "big"], ["John", "is", "here"]] * 4,
        ...                     [["B-LOC", "O", "O"], ["B-PER", "O", "O"]] * 4, [1] * 8, "")
        >>> tagger = Tagger(TaggerConfig(embedding_dim=8, hidden_size=8, char_dim=4,
        ...                              char_hidden=4, dropout=0.0),
        ...                 TrainSettings(epochs=15, lr=0.05, patience=None))
        >>> _ = tagger.fit(s, s, progress=False)
        >>> tagger.predict([["Paris", "is", "here"]])
        [['B-LOC', 'O', 'O']]
    """

    SETTINGS = (("model", TaggerConfig, "config"), ("train", TrainSettings, "train_config"))

    def __init__(self, config: TaggerConfig | None = None,
                 train: TrainSettings | None = None) -> None:
        self.config = config or TaggerConfig()
        self.train_config = train or replace(TRAINING)
        self.network: TaggerConfig | None = None
        self.words: Vocab | None = None
        self.chars: Vocab | None = None
        self.features: list[Vocab] = []  # one per feature column
        self.tags: list[str] = []
        self.scheme: str | None = None
        self.vectors: dict[str, Any] | None = None  # coverage report of --vectors
        self.fixed_words = 0  # the vocabulary's last words: from the vectors file alone
        self.net: SequenceTagger | None = None
        self.device = torch.device("cpu")

    # ---- training ---------------------------------------------------------------------------

    def normalise(self, word: str, known: Container[str] | None = None) -> str:
        """How a word is looked up: lower-cased when so configured; then, unless the word is
        ``known`` as it is (default: in the vocabulary), `digits_as_zero`. So number words
        with a pretrained vector ("1996", "10th") keep it and the others share one row."""
        if self.config.lowercase:
            word = word.lower()
        return word if word in (self.words if known is None else known) \
            else self.digits_as_zero(word)

    def digits_as_zero(self, word: str) -> str:
        """Every digit as 0 when ``zeros`` is set (Lample et al. 2016), else the word."""
        return re.sub(r"\d", "0", word) if self.config.zeros else word

    def check(self, train: TaggedSentences, dev: TaggedSentences) -> str:
        """Validate the settings and the data and say in one line what `fit` will train;
        changes nothing. Raises `InputError` for a bad setting (vectors wider than the
        embedding too), data without tags, or a dev tag that training never shows."""
        c = self.config
        c.validate()
        self.train_config.validate()
        if c.vectors is not None:
            check_dimension(c.vectors, c.embedding_dim)
        for data in (train, dev):
            if data.tags is None:
                raise InputError(f"{data.source} has no tags; training needs tagged sentences")
        if feature_count(train) != feature_count(dev):
            raise InputError(f"{train.source} has {feature_count(train)} feature column(s) and "
                             f"{dev.source} {feature_count(dev)}; read both with the same ones")
        known = {t for s in train.tags for t in s}
        for k, sentence in enumerate(dev.tags):
            unseen = [t for t in sentence if t not in known]
            if unseen:
                raise InputError(f"{dev.source}, sentence at line {dev.lines[k]}: tag "
                                 f"{unseen[0]!r} never occurs in {train.source}")
        kind = ("Bi" if c.bidirectional else "") + c.cell.upper()
        chars = "" if c.char_features == "none" else f"char {c.char_features.upper()} + "
        m = feature_count(train)
        features = f"{m} feature column(s) ({c.feature_dim}d) + " if m else ""
        return (f"tag: {chars}{features}{c.num_layers}x{kind}({c.hidden_size}) + "
                f"{c.output.upper()}, "
                f"{len(known)} tags, {len(train)} training and {len(dev)} dev sentences")

    def _read_vectors(self, sentences: Sequence[Sequence[str]]) -> Vectors:
        """The vectors of the training words, each asked as it is (lower-cased when so
        configured) and in the `digits_as_zero` form that `normalise` falls back to, and of
        the file's ``vectors_vocab`` first words."""
        cased = dict.fromkeys(w.lower() if self.config.lowercase else w
                              for s in sentences for w in s)
        return read_vectors(self.config.vectors,
                            list(cased | dict.fromkeys(map(self.digits_as_zero, cased))),
                            top=self.config.vectors_vocab)

    def encode(self, sentences: Sequence[Sequence[str]],
               features: Features | None = None) -> TaggedBatches:
        """Word, character and feature ids of tokenised sentences (unknown -> ``<unk>``);
        ``features[k][t]`` are token t's values of the feature columns, which a tagger
        trained with them needs."""
        self._check_ready()
        words = [self.words.encode([self.normalise(w) for w in s]) for s in sentences]
        chars = [[self.chars.encode(list(w)) for w in s] for s in sentences]
        return TaggedBatches(words, chars, features=self._feature_ids(sentences, features))

    def _feature_ids(self, sentences: Sequence[Sequence[str]],
                     features: Features | None) -> list[list[list[int]]]:
        m = len(self.features)
        if features is None and m:
            raise InputError(f"this tagger reads {m} feature column(s) beside the words; give "
                             "each token's values (features=...)")
        if features is None:
            return [[[]] * len(s) for s in sentences]
        if len(features) != len(sentences):
            raise InputError(f"{len(features)} sentences of features for {len(sentences)} "
                             "sentences; give one per sentence")
        for k, (sentence, values) in enumerate(zip(sentences, features, strict=True)):
            if len(values) != len(sentence) or any(len(v) != m for v in values):
                raise InputError(f"sentence {k + 1} has {len(sentence)} tokens; each needs the "
                                 f"values of the tagger's {m} feature column(s)")
        return [[[vocab.index.get(v, Vocab.unk_index)
                  for vocab, v in zip(self.features, token, strict=True)]
                 for token in values] for values in features]

    def fit(self, train: TaggedSentences, dev: TaggedSentences, *, progress: bool = True,
            checkpoint_dir: Path | None = None, resume: bool = False,
            parallel: Parallel | None = None, log_dir: Path | None = None) -> FitResult:
        """Train on ``train``; keep the epoch with the best dev score (F1 or accuracy). The
        keywords are every estimator's (see `rnnkit.models.forecaster.Forecaster.fit`)."""
        self.check(train, dev)
        c, t = self.config, self.train_config
        self.tags = sorted({tag for s in train.tags for tag in s},
                           key=lambda tag: (tag != "O", tag))
        self.scheme = detect_scheme(train.tags)
        found = self._read_vectors(train.tokens) if c.vectors is not None else None
        known = () if found is None else found.vectors
        tuned = Vocab.build([[self.normalise(w, known) for w in s] for s in train.tokens],
                            c.min_freq)
        added = [] if found is None else [w for w in found.frequent if w not in tuned]
        self.words = Vocab([*tuned.tokens, *added], tuned.n_specials)
        self.fixed_words = len(added)
        self.chars = Vocab.build([list(w) for s in train.tokens for w in s])
        self.features = [Vocab.build([[token[j] for token in s] for s in train.features])
                         for j in range(feature_count(train))]
        self.network = replace(c, vocab_size=len(self.words), char_vocab_size=len(self.chars),
                               num_tags=len(self.tags), fixed_words=self.fixed_words,
                               feature_vocab_sizes=[len(v) for v in self.features])
        torch.manual_seed(t.seed)
        self.net = SequenceTagger(self.network, self.tags, self.scheme)
        self.vectors = None
        if found is not None:
            found = found.only(tuned.tokens[tuned.n_specials:])
            init_embedding(self.net.embedding, tuned.tokens, found, c.freeze_vectors, t.seed)
            if added:
                with torch.no_grad():
                    self.net.fixed.weight[:, :found.dim].copy_(torch.from_numpy(
                        np.stack([found.frequent[w] for w in added])))
            self.vectors = {**found.report(), "added": len(added)}
        index = {tag: k for k, tag in enumerate(self.tags)}
        train_data = self.encode(train.tokens, train.features)
        train_data.tags = [[index[tag] for tag in s] for s in train.tags]
        dev_data = self.encode(dev.tokens, dev.features)
        dev_data.tags = [[index[tag] for tag in s] for s in dev.tags]
        dev_batches = list(tagged_loader(dev_data, 128, shuffle=False))
        chunked = self.scheme is not None

        def dev_score(model: nn.Module) -> float:
            gold, predicted = [], []
            for x, y in dev_batches:
                device = next(model.parameters()).device
                best = model.decode(model(*(v.to(device) for v in x)), x[2]).cpu()
                for row, n in enumerate(x[2].tolist()):
                    gold.append([self.tags[k] for k in y[row, :n].tolist()])
                    predicted.append([self.tags[k] for k in best[row, :n].tolist()])
            if chunked:
                return chunk_scores(gold, predicted)["f1"]
            return token_accuracy(gold, predicted)

        net = self.net
        result = fit(net, lambda emissions, tags: net.loss(emissions, tags),
                     tagged_loader(train_data, t.batch_size, shuffle=True, seed=t.seed),
                     tagged_loader(dev_data, 128, shuffle=False), t, val_score=dev_score,
                     higher_is_better=True, progress=progress, checkpoint_dir=checkpoint_dir,
                     resume=resume, parallel=parallel, log_dir=log_dir)
        self.device = next(self.net.parameters()).device
        return result

    # ---- tagging ----------------------------------------------------------------------------

    def _check_ready(self) -> None:
        if self.words is None or self.chars is None:
            raise InputError("this tagger is not trained yet; call fit() or load a run")

    @torch.no_grad()
    def _run(self, sentences: Sequence[Sequence[str]], features: Features | None,
             batch_size: int, probabilities: bool) -> list[np.ndarray]:
        for k, sentence in enumerate(sentences):
            if not sentence:
                raise InputError(f"sentence {k + 1} has no tokens; give some words")
        data = self.encode(sentences, features)
        self.net.eval()
        out: list[np.ndarray | None] = [None] * len(sentences)
        for index in BucketSampler([len(s) for s in data.words], batch_size, shuffle=False):
            (words, chars, lengths, ids), _ = data[index]
            emissions = self.net(words.to(self.device), chars.to(self.device),
                                 lengths.to(self.device), ids.to(self.device))
            result = self.net.probabilities(emissions, lengths) if probabilities \
                else self.net.decode(emissions, lengths)
            for row, k in enumerate(index):
                out[k] = result[row, : int(lengths[row])].cpu().numpy()
        return out

    def predict(self, sentences: Sequence[Sequence[str]], batch_size: int = 128, *,
                features: Features | None = None) -> list[list[str]]:
        """The best tags of each tokenised sentence (Viterbi with a CRF output); ``features``
        as in `encode`."""
        return [[self.tags[k] for k in best]
                for best in self._run(sentences, features, batch_size, probabilities=False)]

    def predict_proba(self, sentences: Sequence[Sequence[str]], batch_size: int = 128, *,
                      features: Features | None = None) -> list[np.ndarray]:
        """Per-token tag probabilities (T, K) of each sentence, columns in the order of
        ``tags``: the CRF's marginals (forward-backward), else the softmax."""
        return self._run(sentences, features, batch_size, probabilities=True)

    @torch.no_grad()
    def gates(self, sentence: Sequence[str], layer: int = 0, *,
              features: Sequence[Sequence[str]] | None = None) -> dict[str, np.ndarray]:
        """Gate activity of one sentence layer while it reads ``sentence`` (and its tokens'
        ``features``) (trace path): per gate the cell has, an array (D, T, H) (direction,
        token, unit), the backward direction put back in token order."""
        data = self.encode([sentence], None if features is None else [features])
        (words, chars, lengths, ids), _ = data[[0]]
        self.net.eval()
        _, trace = self.net(words.to(self.device), chars.to(self.device),
                            lengths.to(self.device), ids.to(self.device), trace=True)
        return token_gates(trace, layer)

    def transitions(self) -> np.ndarray | None:
        """The CRF's learned transition scores (K, K) (row: previous tag; forbidden moves
        NaN), or None for a softmax output."""
        self._check_ready()
        if self.net.crf is None:
            return None
        crf = self.net.crf
        return crf.transitions.detach().masked_fill(~crf.allowed, float("nan")).cpu().numpy()

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The run's config.json entries (the vocabularies are a separate file)."""
        return {**self.settings(), "tags": list(self.tags), "scheme": self.scheme,
                "vectors": self.vectors, "fixed_words": self.fixed_words}

    def vocabularies(self) -> dict[str, Any]:
        """The run's vocab.json: the word and character vocabularies, and one per feature
        column."""
        self._check_ready()
        return {"words": self.words.to_dict(), "chars": self.chars.to_dict(),
                "features": [v.to_dict() for v in self.features]}

    @classmethod
    def from_state(cls, state: dict[str, Any], vocabularies: Any,
                   weights: dict[str, Tensor], where: str) -> Tagger:
        """Rebuild from `state`, `vocabularies` and a weights dict (from safetensors);
        anything that does not fit is refused."""
        tagger = cls.from_settings(state, where)
        model = tagger.config
        try:
            tags = [str(t) for t in state["tags"]]
            scheme = state["scheme"]
            words, chars = vocabularies["words"], vocabularies["chars"]
            features = list(vocabularies.get("features", []))  # runs before features had none
        except (KeyError, TypeError) as err:
            raise InputError(f"{where}: missing or malformed entry {err}") from err
        if scheme is not None and scheme not in ("iob1", "iob2", "iobes"):
            raise InputError(f"{where}: scheme {scheme!r} is not known")
        tagger.words = Vocab.from_dict(words, f"{where}: word vocabulary")
        tagger.chars = Vocab.from_dict(chars, f"{where}: character vocabulary")
        tagger.features = [Vocab.from_dict(v, f"{where}: vocabulary of feature {j + 1}")
                           for j, v in enumerate(features)]
        tagger.tags, tagger.scheme, tagger.vectors = tags, scheme, state.get("vectors")
        tagger.fixed_words = state.get("fixed_words", 0)  # runs before it had none
        if not isinstance(tagger.fixed_words, int) or \
                not 0 <= tagger.fixed_words <= len(tagger.words) - 3:
            raise InputError(f"{where}: fixed_words={tagger.fixed_words!r} does not fit a "
                             f"vocabulary of {len(tagger.words)} words")
        tagger.network = replace(model, vectors=None, vocab_size=len(tagger.words),
                                 char_vocab_size=len(tagger.chars), num_tags=len(tags),
                                 fixed_words=tagger.fixed_words,
                                 feature_vocab_sizes=[len(v) for v in tagger.features])
        tagger.network.validate()
        tagger.net = load_checked(SequenceTagger(tagger.network, tags, scheme), weights, where)
        return tagger
