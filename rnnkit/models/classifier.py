"""Many-to-one text classification: a sentence in, one judgement out (sentiment analysis)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.checks import check_choice, check_counts, check_fractions
from rnnkit.data.text import (
    TOKENIZERS,
    BucketSampler,
    TextTable,
    Tokenizer,
    Vocab,
    build_tokenizer,
    encode_texts,
    label_classes,
    label_indices,
    pad_batch,
    text_loader,
    tokenizer_from_dict,
)
from rnnkit.data.vectors import check_dimension, init_embedding, read_vectors
from rnnkit.diagnose.gates import token_gates
from rnnkit.errors import InputError
from rnnkit.io.weights import load_checked
from rnnkit.layers import CELLS, Recurrent, Trace
from rnnkit.models.ensemble import Ensemble, member_cross_entropy, one_or_ensemble
from rnnkit.models.estimator import Estimator
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.settings import TrainSettings

POOLINGS = ("last", "mean", "max", "attention")


@dataclass
class ClassifierConfig:
    """The network and its text handling (everything needed to rebuild it).

    The defaults were chosen on SST-2 (docs/sentiment.md): a 2-layer BiLSTM with max pooling
    and strong dropout, trained from scratch.
    """

    tokenizer: str = "word"  # "word" (Penn-Treebank-like) or "bpe" (subwords, trained on train)
    lowercase: bool = True  # lower-case the text before tokenizing (SST-2 is lower case)
    bpe_vocab_size: int = 8000  # subwords the bpe tokenizer learns
    min_freq: int = 1  # training tokens seen fewer times become <unk>
    max_vocab: int | None = None  # at most this many vocabulary entries (specials included)
    cell: str = "lstm"  # any name in rnnkit.layers.CELLS: lstm, gru, rnn, ...
    embedding_dim: int = 128  # E, size of a word vector (its first columns from --vectors if given)
    hidden_size: int = 128  # H, units per recurrent layer and direction
    num_layers: int = 2  # stacked recurrent layers
    bidirectional: bool = True  # read the sentence both ways (outputs 2H)
    pooling: str = "max"  # sentence vector: "last" state, "mean", "max" or "attention"
    word_dropout: float = 0.2  # training: a token becomes <unk> with this chance (Iyyer 2015)
    embedding_dropout: float = 0.5  # dropout on the word vectors
    dropout: float = 0.3  # between recurrent layers
    output_dropout: float = 0.5  # on the sentence vector, before the linear layer
    ensemble: int = 1  # networks trained side by side, probabilities averaged (1: one)
    vectors: str | None = None  # text file of pretrained word vectors (GloVe, word2vec)
    freeze_vectors: bool = False  # keep the pretrained embedding fixed
    vocab_size: int = 0  # the network's sizes: a TextClassifier learns them from the data
    num_classes: int = 0  # (in its ``network`` config) and leaves its own config as given

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        check_choice("tokenizer", self.tokenizer, TOKENIZERS)
        if self.cell not in CELLS:
            raise InputError(f"--cell {self.cell!r} is not known; choose one of {sorted(CELLS)}")
        check_choice("pooling", self.pooling, POOLINGS)
        check_counts(self, ("embedding_dim", "hidden_size", "num_layers", "min_freq", "ensemble"))
        if self.bpe_vocab_size < 100:
            raise InputError(f"--bpe-vocab-size {self.bpe_vocab_size}; expected at least 100")
        check_fractions(self, ("word_dropout", "embedding_dropout", "dropout", "output_dropout"))
        if self.vectors is not None and not Path(self.vectors).is_file():
            raise InputError(f"--vectors {self.vectors}: no such file")


#: Training settings of the text classifier (chosen on SST-2, docs/sentiment.md). A moving
#: average of the weights (``ema``) and ``lr_schedule`` are options that did not beat them there.
TRAINING = TrainSettings(epochs=10, batch_size=128, lr=2e-3, clip=5.0, patience=3)


class SequenceClassifier(nn.Module):
    r"""Embedding -> stacked (bidirectional) recurrent layers -> pooling -> dropout -> linear.

    .. math::
        e_t = E[w_t], \quad o_{1..T}, h_T = \mathrm{RNN}(e_{1..T}), \quad
        s = \mathrm{pool}(o_{1..T}), \quad \mathrm{logits} = W\,\mathrm{drop}(s) + b

    Pooling over the real (unpadded) steps: ``last``, the final state of the top layer (both
    directions: h_T forwards and h_1 backwards); ``mean`` or ``max`` over time, feature by
    feature (max: Conneau et al. 2017); ``attention``, :math:`\alpha = \mathrm{softmax}_t(v^T
    \tanh(W o_t))`, :math:`s = \sum_t \alpha_t o_t` (Yang et al. 2016).

    Shapes: tokens (B, T) long, padded with ``Vocab.pad_index``; lengths (B,) (None: all T);
    logits (B, C). With ``lengths`` the recurrent layers run packed on the fast path.

    Example:
        >>> net = SequenceClassifier(ClassifierConfig(vocab_size=100, num_classes=3))
        >>> tuple(net(torch.randint(2, 100, (4, 9)), torch.tensor([9, 5, 2, 7])).shape)
        (4, 3)
    """

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        c = self.config = config
        if c.vocab_size < 3 or c.num_classes < 2:
            raise InputError(f"vocab_size={c.vocab_size} and num_classes={c.num_classes}; "
                             "expected at least 3 and 2 (they come from the training data)")
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=Vocab.pad_index)
        self.embedding_dropout = nn.Dropout(c.embedding_dropout)
        self.rnn = Recurrent(c.cell, c.embedding_dim, c.hidden_size, c.num_layers,
                             c.bidirectional, dropout=c.dropout if c.num_layers > 1 else 0.0)
        features = c.hidden_size * self.rnn.num_directions
        if c.pooling == "attention":
            self.attention = nn.Sequential(nn.Linear(features, features), nn.Tanh(),
                                           nn.Linear(features, 1, bias=False))
        self.drop = nn.Dropout(c.output_dropout)
        self.head = nn.Linear(features, c.num_classes)

    def forward(self, tokens: Tensor, lengths: Tensor | None = None,
                trace: bool = False) -> Tensor | tuple[Tensor, Trace]:
        """(B, T) token ids and (B,) lengths -> (B, C) logits; with ``trace`` also the
        recurrent layers' `Trace` (every gate at every step; the explicit loop, slower)."""
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(tokens.shape, device=tokens.device) < self.config.word_dropout
            tokens = tokens.masked_fill(drop & (tokens != Vocab.pad_index), Vocab.unk_index)
        x = self.embedding_dropout(self.embedding(tokens))  # (B, T, E)
        result = self.rnn(x, lengths=lengths, trace=trace)
        out, state = result[0], result[1]  # (B, T, D*H), final state
        B, T = tokens.shape
        mask = torch.ones(B, T, dtype=torch.bool, device=tokens.device) if lengths is None \
            else torch.arange(T, device=tokens.device)[None, :] < lengths.to(tokens.device)[:, None]
        logits = self.head(self.drop(self.pool(out, state, mask)))
        return (logits, result[2]) if trace else logits

    def pool(self, out: Tensor, state: Any, mask: Tensor) -> Tensor:
        """The sentence vector (B, D*H) from outputs (B, T, D*H), the final state and the
        (B, T) mask of real steps."""
        pooling = self.config.pooling
        if pooling == "last":
            h = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
            D = self.rnn.num_directions
            return h[-D:].transpose(0, 1).reshape(out.shape[0], -1)  # top layer, both ways
        if pooling == "mean":
            return (out * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        if pooling == "max":
            return out.masked_fill(~mask[..., None], float("-inf")).amax(1)
        scores = self.attention(out).squeeze(-1).masked_fill(~mask, float("-inf"))  # (B, T)
        return (F.softmax(scores, dim=1)[..., None] * out).sum(1)


def build_network(config: ClassifierConfig) -> SequenceClassifier | Ensemble:
    """One `SequenceClassifier`, or an `Ensemble` of ``config.ensemble`` of them."""
    return one_or_ensemble(lambda: SequenceClassifier(config), config.ensemble)


class TextClassifier(Estimator):
    """A text classifier estimator: ``fit`` on labelled texts, then classify any text.

    The tokenizer, vocabulary and classes come from the training texts only; the network is
    built from their sizes at fit time. With ``config.vectors`` the embedding (of every
    ensemble member) starts from pretrained vectors for the vocabulary's words.

    Example:
        >>> good = ["a good film", "good , funny and charming", "a charming story", "funny"]
        >>> bad = ["a bad film", "dull and bad", "a dull story", "boring"]
        >>> train = TextTable(5 * good + 5 * bad, 20 * ["pos"] + 20 * ["neg"], [*range(40)], "")
        >>> clf = TextClassifier(ClassifierConfig(hidden_size=16, embedding_dim=16, num_layers=1),
        ...                      TrainSettings(epochs=10, batch_size=8, lr=1e-2))
        >>> _ = clf.fit(train, dev=train, progress=False)
        >>> clf.classes, clf.predict(["a charming , funny film", "a dull , boring film"])
        (['neg', 'pos'], ['pos', 'neg'])
        >>> clf.predict_proba(["a charming , funny film"]).shape
        (1, 2)
    """

    SETTINGS = (("model", ClassifierConfig, "config"), ("train", TrainSettings, "train_config"))
    NAME = "classifier"
    # learned by `fit` or `from_state`
    network: ClassifierConfig | None = None  # config with the data's sizes
    tokenizer: Tokenizer | None = None
    vocab: Vocab | None = None
    classes: Sequence[str] = ()
    net: SequenceClassifier | Ensemble | None = None
    vectors: dict[str, Any] | None = None  # coverage report of ``config.vectors``
    device = torch.device("cpu")

    def __init__(self, config: ClassifierConfig | None = None,
                 train: TrainSettings | None = None) -> None:
        super().__init__(config or ClassifierConfig(), train or replace(TRAINING))

    # ---- training ---------------------------------------------------------------------------

    def _classes(self, train: TextTable, dev: TextTable) -> list[str]:
        classes = label_classes(train.labels or [])
        if len(classes) < 2:
            raise InputError(f"{train.source} has {len(classes)} distinct label(s) {classes}; "
                             "a classifier needs at least 2")
        label_indices(dev, classes)
        return classes

    def check(self, train: TextTable, dev: TextTable) -> str:
        """Validate the settings and the data and say in one line what `fit` will train;
        changes nothing. Raises `InputError` for a bad setting (vectors wider than the
        embedding too), fewer than 2 classes in ``train``, or a label in ``dev`` that
        ``train`` does not have."""
        c = self.config
        c.validate()
        self.train_config.validate()
        classes = self._classes(train, dev)
        if c.vectors is not None:
            check_dimension(c.vectors, c.embedding_dim)
        kind = ("Bi" if c.bidirectional else "") + c.cell.upper()
        return (f"classify: {c.num_layers}x{kind}({c.hidden_size}), {c.pooling} pooling"
                f"{f' x {c.ensemble}' if c.ensemble > 1 else ''}, {len(classes)} classes, "
                f"{len(train)} training and {len(dev)} dev texts")

    def fit(self, train: TextTable, dev: TextTable, *, progress: bool = True,
            checkpoint_dir: Path | None = None, resume: bool = False,
            parallel: Parallel | None = None, log_dir: Path | None = None) -> FitResult:
        """Train on ``train``; keep the epoch with the best accuracy on ``dev``. The keywords
        are every estimator's (see `rnnkit.models.forecaster.Forecaster.fit`)."""
        self.check(train, dev)
        c, t = self.config, self.train_config
        classes = self._classes(train, dev)
        y_train, y_dev = label_indices(train, classes), label_indices(dev, classes)
        tokenizer = build_tokenizer(c.tokenizer, train.texts, c.lowercase, c.bpe_vocab_size)
        tokens = [tokenizer.tokenize(text) for text in train.texts]
        vocab = Vocab.build(tokens, c.min_freq, c.max_vocab)
        self.network = replace(c, vocab_size=len(vocab), num_classes=len(classes))
        self.tokenizer, self.vocab, self.classes = tokenizer, vocab, classes
        torch.manual_seed(t.seed)
        self.net = build_network(self.network)
        if c.vectors is not None:
            found = read_vectors(c.vectors, vocab.tokens[vocab.n_specials:])
            members = self.net.members if isinstance(self.net, Ensemble) else [self.net]
            for k, member in enumerate(members):
                init_embedding(member.embedding, vocab.tokens, found, c.freeze_vectors, t.seed + k)
            self.vectors = found.report()
        x_train = [vocab.encode(seq) for seq in tokens]
        x_dev = encode_texts(dev.texts, tokenizer, vocab)
        train_loader = text_loader(x_train, y_train, t.batch_size, shuffle=True, seed=t.seed)
        dev_loader = text_loader(x_dev, y_dev, 256, shuffle=False)
        dev_batches = list(dev_loader)

        def dev_accuracy(model: nn.Module) -> float:
            device = next(model.parameters()).device
            correct = sum(int((model(x.to(device), n).argmax(-1).cpu() == y).sum())
                          for (x, n), y in dev_batches)
            return correct / len(y_dev)

        result = fit(self.net, member_cross_entropy, train_loader, dev_loader, t,
                     val_score=dev_accuracy, higher_is_better=True, progress=progress,
                     checkpoint_dir=checkpoint_dir, resume=resume, parallel=parallel,
                     log_dir=log_dir)
        self.device = next(self.net.parameters()).device
        return result

    # ---- classifying ------------------------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (unknown words -> ``<unk>``)."""
        self.check_trained()
        return encode_texts(texts, self.tokenizer, self.vocab)

    @torch.no_grad()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, C), columns in the order of ``classes``."""
        ids = self.encode(texts)
        self.net.eval()
        probs = torch.zeros(len(ids), len(self.classes))
        for index in BucketSampler([len(s) for s in ids], batch_size, shuffle=False):
            x, n = pad_batch([torch.as_tensor(ids[k]) for k in index])
            probs[index] = F.softmax(self.net(x.to(self.device), n), -1).cpu()
        return probs.numpy()

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable class of each text."""
        return [self.classes[k] for k in self.predict_proba(texts).argmax(1)]

    @torch.no_grad()
    def prefix_proba(self, text: str) -> tuple[list[str], np.ndarray]:
        """How the judgement forms word by word: the tokens of ``text`` and the class
        probabilities (T, C) after each one, i.e. for each prefix ``w_1..w_t`` read alone."""
        self.check_trained()
        tokens = self.tokenizer.tokenize(text)
        if not tokens:
            raise InputError("the text has no tokens; give some words")
        ids = torch.as_tensor(self.vocab.encode(tokens))
        self.net.eval()
        prefixes = [ids[: k + 1] for k in range(len(ids))]
        probs = [F.softmax(self.net(*(t.to(self.device) for t in pad_batch(chunk))), -1).cpu()
                 for chunk in (prefixes[k : k + 256] for k in range(0, len(prefixes), 256))]
        return tokens, torch.cat(probs).numpy()

    @torch.no_grad()
    def gates(self, text: str, layer: int = 0) -> dict[str, np.ndarray]:
        """Gate activity of one recurrent layer while it reads ``text`` (trace path).

        Returns, per gate the cell has (LSTM: i, f, g, o; GRU: r, z, n; Elman: a), an array
        (D, T, H): direction (forwards, then backwards), word, unit; the backward direction
        is put back in word order.
        """
        self.check_trained()
        ids = torch.as_tensor([self.vocab.encode(self.tokenizer.tokenize(text))])
        self.net.eval()
        _, trace = self.net(ids.to(self.device), trace=True)
        return token_gates(trace, layer)

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The run's config.json entries (the tokenizer and vocabulary are separate files)."""
        return {**self.settings(), "classes": list(self.classes), "vectors": self.vectors}

    @classmethod
    def from_state(cls, state: dict[str, Any], tokenizer: Any, vocab: Any,
                   weights: dict[str, Tensor], where: str) -> TextClassifier:
        """Rebuild from `state`, `Tokenizer.to_dict`, `Vocab.to_dict` and a weights dict
        (from safetensors); anything that does not fit is refused."""
        clf = cls.from_settings(state, where)
        model = clf.config
        try:
            classes = [str(label) for label in state["classes"]]
        except (KeyError, TypeError) as err:
            raise InputError(f"{where}: missing or malformed entry {err}") from err
        replace(model, vectors=None).validate()  # the vectors file is needed for training only
        clf.tokenizer = tokenizer_from_dict(tokenizer, f"{where}: tokenizer")
        clf.vocab = Vocab.from_dict(vocab, f"{where}: vocabulary")
        clf.network = replace(model, vocab_size=len(clf.vocab), num_classes=len(classes))
        clf.net = load_checked(build_network(clf.network), weights, where)
        clf.classes, clf.vectors = classes, state.get("vectors")
        return clf
