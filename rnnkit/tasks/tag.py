"""The sequence labelling workflow: tagged sentences in, a tagger trained and scored on the dev
set beside the majority-tag baseline, the run written; then tagging, evaluation and the
token-by-token explanation (tag probabilities, CRF transitions, gates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.configs import configs_from
from rnnkit.data.conll import (
    FORMATS,
    SCHEMES,
    TaggedSentences,
    check_features,
    read_tagged,
    write_tagged,
)
from rnnkit.data.text import WordTokenizer
from rnnkit.errors import InputError
from rnnkit.evaluate.tagging import MajorityTagger, tagging_scores
from rnnkit.io.files import read_json, save_figure, write_bytes, write_json
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.tagger import Tagger
from rnnkit.runs import load_config
from rnnkit.tasks.classify import explain_plot_path
from rnnkit.tasks.inputs import command_line
from rnnkit.tasks.workflow import Task
from rnnkit.train.fit import FitResult

#: Gates shown by ``explain`` when the cell has them (as in ``classify explain``).
EXPLAIN_GATES = {"f": "forget gate f", "i": "input gate i", "z": "update gate z",
                 "r": "reset gate r", "a": "pre-activation a"}


@dataclass
class DataSpec:
    """Where the tagged sentences come from and how they are read (stored in config.json)."""

    train: str
    dev: str
    fmt: str = "auto"  # conll, slash or auto (see rnnkit.data.conll)
    column: int | None = None  # tag field of conll files, 0-based (word = 0); None: the last
    scheme: str | None = None  # convert chunk tags to iob1, iob2 or iobes (None: as read)
    # conll fields read as inputs beside the word, 0-based (e.g. [1]: CoNLL-2000's POS column)
    features: list[int] = field(default_factory=list)

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        if self.fmt not in FORMATS:
            raise InputError(f"--format {self.fmt!r} is not known; choose one of "
                             f"{', '.join(FORMATS)}")
        if self.scheme is not None and self.scheme not in SCHEMES:
            raise InputError(f"--scheme {self.scheme!r} is not known; choose one of "
                             f"{', '.join(SCHEMES)}")
        if self.column is not None and self.column < 1:
            raise InputError(f"--column {self.column}; the word is field 0, tags are 1 or more")
        check_features(self.features, self.column)

    def read(self, path: str, tags: bool = True) -> TaggedSentences:
        """Read a tagged file with these settings (its feature columns too)."""
        self.validate()
        return read_tagged(path, self.fmt, self.column, self.scheme, tags, self.features)


def scores(tagger: Tagger, data: TaggedSentences,
           predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    """`tagging_scores` of ``predicted`` against ``data``'s tags: chunk F1 when the tagger
    learned chunk tags, token accuracy always."""
    return tagging_scores(data.tags, predicted, chunked=tagger.scheme is not None)


def _transition_heatmap(fig: Any, ax: Any, matrix: np.ndarray, tags: Sequence[str]) -> None:
    """Draw the CRF's transition scores (rows: previous tag; forbidden: blank) on ``ax``."""
    K = len(tags)
    limit = float(np.nanmax(np.abs(matrix))) or 1.0
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(K), tags, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(K), tags, fontsize=7)
    ax.set_ylabel("previous tag", fontsize=8)
    ax.set_title("CRF transition scores A[previous, tag] (blank: forbidden)", fontsize=9)
    fig.colorbar(image, ax=ax, pad=0.01, fraction=0.04)


def transitions_figure(tagger: Tagger) -> Any:
    """The learned transition scores of a CRF tagger as a heatmap."""
    from matplotlib.figure import Figure

    K = len(tagger.tags)
    fig = Figure(figsize=(min(3 + 0.45 * K, 16), min(2.6 + 0.4 * K, 14)))
    _transition_heatmap(fig, fig.subplots(), tagger.transitions(), tagger.tags)
    fig.tight_layout()
    return fig


@dataclass
class TagTask(Task[tuple[TaggedSentences, TaggedSentences]], group="tag"):
    """``rnnkit tag train``: a `Tagger` on tagged sentences, early stopping and scores on the
    dev sentences beside the majority-tag baseline."""

    spec: DataSpec
    estimator: Tagger
    dev_predicted: list[list[str]] = field(default_factory=list, init=False)

    def read(self) -> tuple[TaggedSentences, TaggedSentences]:
        """The training and dev sentences (tags required)."""
        return self.spec.read(self.spec.train), self.spec.read(self.spec.dev)

    def fit_inputs(self, data: tuple[TaggedSentences, TaggedSentences]) -> tuple[Any, Any]:
        """Both sets as they are."""
        return data

    def evaluate(self, data: tuple[TaggedSentences, TaggedSentences],
                 fit: FitResult) -> dict[str, Any]:
        """Chunk F1 per type (conlleval), token accuracy and the type confusion on the dev
        sentences, and the majority-tag baseline's scores."""
        train, dev = data
        tagger = self.estimator
        self.dev_predicted = tagger.predict(dev.tokens, features=dev.features)
        baseline = MajorityTagger(train.tokens, train.tags).predict(dev.tokens)
        base = scores(tagger, dev, baseline)
        return {"data": self.spec.dev, **scores(tagger, dev, self.dev_predicted),
                "baseline": {"name": "majority tag per word",
                             **{k: base[k] for k in ("accuracy", "f1") if k in base}},
                "scheme": tagger.scheme, "tags": tagger.tags,
                "train_sentences": len(train), "vocab_size": len(tagger.words),
                "vectors": tagger.vectors,
                "parameters": sum(p.numel() for p in tagger.net.parameters())}

    def artefacts(self, run: Path, data: tuple[TaggedSentences, TaggedSentences],
                  fit: FitResult, metrics: dict[str, Any]) -> None:
        """vocab.json, the weights, the dev predictions (the dev file's format, predicted tag
        last), training.png and, with a CRF, transitions.png."""
        from rnnkit.plots.text import training_figure

        tagger = self.estimator
        write_json(run / "vocab.json", tagger.vocabularies())
        save_weights(run / "model.safetensors", tagger.net)
        write_bytes(run / "predictions.txt", write_tagged(data[1], self.dev_predicted).encode())
        label = "dev F1" if tagger.scheme is not None else "dev accuracy"
        save_figure(training_figure(fit.history, fit.best_epoch, label), run / "training.png")
        if tagger.net.crf is not None:
            save_figure(transitions_figure(tagger), run / "transitions.png")


#: The entries of a tag run's config.json.
KEYS = {"data", "model", "train", "tags", "scheme", "vectors", "fixed_words"}


def load(run_dir: Path) -> tuple[Tagger, DataSpec]:
    """A trained tagger and its data settings from a run folder (no unpickling)."""
    run_dir = Path(run_dir)
    config, where = load_config(run_dir, "tag", KEYS)
    (spec,) = configs_from(config, where, data=DataSpec)
    tagger = Tagger.from_state(config, read_json(run_dir / "vocab.json"),
                               load_weights(run_dir / "model.safetensors"), where)
    return tagger, spec


def _no_features(spec: DataSpec, what: str, instead: str) -> None:
    """Refuse ``what`` (text on the command line) for a run that reads feature columns,
    saying what to do ``instead``."""
    if spec.features:
        columns = ",".join(map(str, spec.features))
        raise InputError(f"this run reads feature column(s) {columns} beside the words "
                         f"(--features {columns}); {what} has no columns: {instead}")


def read_inputs(spec: DataSpec, texts: Sequence[str], file: str | None) -> TaggedSentences:
    """Sentences to tag: texts on the command line (tokenised like the Penn Treebank, case
    kept; not for a run with feature columns), or a file in the run's format (its feature
    columns read, its tags, if any, kept beside the predicted)."""
    if command_line(texts, file, "sentences to tag", "sentence") is None:
        return spec.read(file, tags=False)
    _no_features(spec, "text on the command line", "put the sentences in a file in the run's "
                 "format, with those columns, and give it with --file FILE")
    tokenizer = WordTokenizer()
    tokens = [tokenizer.tokenize(text) for text in texts]
    return TaggedSentences(tokens, None, list(range(1, len(tokens) + 1)), "<command line>",
                           fields=[[[w] for w in s] for s in tokens], separator="\t")


def predict(run_dir: Path, texts: Sequence[str],
            file: str | None = None) -> tuple[TaggedSentences, list[list[str]]]:
    """The sentences and the predicted tags of each token."""
    tagger, spec = load(run_dir)
    data = read_inputs(spec, texts, file)
    return data, tagger.predict(data.tokens, features=data.features)


def evaluate_run(run_dir: Path, data: str) -> dict[str, Any]:
    """Chunk F1 (conlleval), token accuracy and the type confusion of a run on a tagged file
    (read with the run's format, column, scheme and feature columns)."""
    tagger, spec = load(run_dir)
    sentences = spec.read(data)
    predicted = tagger.predict(sentences.tokens, features=sentences.features)
    return {"data": str(data), **scores(tagger, sentences, predicted)}


@dataclass
class Explanation:
    """How a tagger reads one sentence: ``probs`` (T, K) per-token tag probabilities (CRF
    marginals or softmax), ``predicted`` the best sequence, ``gates[name]`` (D, T, H) of the
    first sentence layer, ``transitions`` the CRF's (K, K) scores (None: softmax)."""

    tokens: list[str]
    tags: list[str]
    probs: np.ndarray
    predicted: list[str]
    gates: dict[str, np.ndarray]
    transitions: np.ndarray | None
    unknown: list[bool]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per token its predicted tag, that tag's probability and the top 3."""
        rows = []
        for t, token in enumerate(self.tokens):
            order = np.argsort(-self.probs[t])[:3]
            rows.append({"token": token, "tag": self.predicted[t],
                         "probability": float(self.probs[t, self.tags.index(self.predicted[t])]),
                         "top": {self.tags[k]: float(self.probs[t, k]) for k in order},
                         "unknown": self.unknown[t]})
        return {"tokens": rows}


def explain_sentence(tagger: Tagger, text: str) -> Explanation:
    """The token-by-token explanation of ``tagger`` on ``text`` (see `Explanation`)."""
    tokens = WordTokenizer().tokenize(text)
    if not tokens:
        raise InputError("the sentence to explain is empty; give some words")
    gates = tagger.gates(tokens)
    shown = {EXPLAIN_GATES[name]: gates[name] for name in EXPLAIN_GATES if name in gates}
    unknown = [tagger.normalise(w) not in tagger.words for w in tokens]
    return Explanation(tokens, tagger.tags, tagger.predict_proba([tokens])[0],
                       tagger.predict([tokens])[0], shown, tagger.transitions(), unknown)


def explain_figure(e: Explanation) -> Any:
    """Top: the probability of every tag (rows) at every token (columns), the predicted tag
    boxed; below, the gates of the first layer per token; last, the CRF's transitions."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from rnnkit.plots.text import gate_heatmap

    T, K = e.probs.shape
    rows = 1 + len(e.gates) + (e.transitions is not None)
    fig = Figure(figsize=(min(max(6.0, 0.5 * T + 3), 22.0), 2.2 + 0.22 * K + 1.9 * rows))
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    shown = axes[0].imshow(e.probs.T, aspect="auto", cmap="Greens", vmin=0, vmax=1,
                           interpolation="nearest")
    for t, tag in enumerate(e.predicted):
        axes[0].add_patch(Rectangle((t - 0.5, e.tags.index(tag) - 0.5), 1, 1, fill=False,
                                    ec="black", lw=1.2))
    axes[0].set_yticks(range(K), e.tags, fontsize=7)
    labels = [f"{w}*" if u else w for w, u in zip(e.tokens, e.unknown, strict=True)]
    axes[0].set_xticks(range(T), labels, rotation=55, ha="right", fontsize=8)
    axes[0].set_title("tag probabilities per token (boxed: the predicted sequence; "
                      "* unknown word)", fontsize=9)
    fig.colorbar(shown, ax=axes[0], pad=0.01, fraction=0.03)
    for ax, (name, values) in zip(axes[1 : 1 + len(e.gates)], e.gates.items(), strict=True):
        gate_heatmap(fig, ax, name, values, "token")
        ax.set_xticks(range(T), labels, rotation=55, ha="right", fontsize=8)
    if e.transitions is not None:
        _transition_heatmap(fig, axes[-1], e.transitions, e.tags)
    fig.tight_layout()
    return fig


def explain(run_dir: Path, text: str, out: Path | None = None) -> tuple[Explanation, Path]:
    """Explain one sentence with a run and write the figure (``out``, by default
    ``RUN/explain-<first words>-<hash>.png``; see `rnnkit.tasks.classify.explain_plot_path`).
    A run with feature columns cannot explain a sentence typed as text (it has no columns)."""
    tagger, spec = load(run_dir)
    _no_features(spec, "the sentence to explain", "tag a file with those columns with "
                 "'rnnkit tag predict --file FILE' instead")
    path = explain_plot_path(run_dir, text, out)
    explanation = explain_sentence(tagger, text)
    save_figure(explain_figure(explanation), path, dpi=90)
    return explanation, path
