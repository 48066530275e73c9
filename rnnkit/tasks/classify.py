"""The text classification workflow: labelled texts in, a classifier trained and judged on the
dev set, the run written; then prediction, evaluation and the word-by-word explanation."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.configs import configs_from
from rnnkit.data.text import TextTable, label_indices, read_lines, read_text_table
from rnnkit.errors import InputError
from rnnkit.io.files import read_json, save_figure, write_bytes, write_json
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.classifier import TextClassifier
from rnnkit.runs import load_config
from rnnkit.tasks.inputs import command_line
from rnnkit.tasks.workflow import Task
from rnnkit.train.fit import FitResult

#: Gates shown by ``explain``, when the cell has them: the LSTM's forget and input gates, the
#: GRU's update and reset gates, else the Elman cell's pre-activation.
EXPLAIN_GATES = {"f": "forget gate f", "i": "input gate i", "z": "update gate z",
                 "r": "reset gate r", "a": "pre-activation a"}


@dataclass
class DataSpec:
    """Where the labelled texts come from (stored in the run's config.json).

    The column names are found in the training file when not given (``sentence``/``text``/...
    and ``label``/``sentiment``/...) and stored resolved, so later files are read alike.
    """

    train: str
    dev: str
    text_column: str | None = None
    label_column: str | None = None
    sep: str | None = None  # column separator (None: detected per file)

    def read(self, path: str, labels: bool = True) -> TextTable:
        """Read a TSV/CSV file with these columns (the label column only if ``labels``)."""
        return read_text_table(path, self.text_column, self.label_column, labels, sep=self.sep)


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int],
                           classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.

    ``confusion_matrix[i][j]`` counts examples of class i predicted as j. Macro-F1 is the
    unweighted mean of the per-class F1 over the classes that occur in the data or in the
    predictions; a class with no predictions has precision 0.
    """
    C = len(classes)
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    confusion = np.zeros((C, C), dtype=int)
    np.add.at(confusion, (y_true, y_pred), 1)
    hits = np.diag(confusion).astype(float)
    support, predicted = confusion.sum(1), confusion.sum(0)
    precision = np.divide(hits, predicted, out=np.zeros(C), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros(C), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(C), where=total > 0)
    present = (support + predicted) > 0
    return {
        "examples": int(len(y_true)),
        "accuracy": float(hits.sum() / max(len(y_true), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "classes": list(classes),
        "confusion_matrix": confusion.tolist(),
        "per_class": {
            name: {"precision": float(precision[k]), "recall": float(recall[k]),
                   "f1": float(f1[k]), "support": int(support[k])}
            for k, name in enumerate(classes)
        },
    }


def _predictions_csv(table: TextTable, probs: np.ndarray, classes: Sequence[str]) -> bytes:
    best = probs.argmax(1)
    frame = pd.DataFrame({
        "line": table.lines, "label": table.labels, "predicted": [classes[k] for k in best],
        "probability": probs[np.arange(len(best)), best], "text": table.texts,
    })
    return frame.to_csv(index=False, float_format="%.4f").encode()


@dataclass
class ClassifyTask(Task[tuple[TextTable, TextTable]], group="classify"):
    """``rnnkit classify train``: a `TextClassifier` on a labelled table, early stopping and
    scores on the dev table."""

    spec: DataSpec
    estimator: TextClassifier
    dev_probs: np.ndarray | None = field(default=None, init=False)  # set by evaluate

    def read(self) -> tuple[TextTable, TextTable]:
        """The training and dev tables; the column names found in the training file are
        stored in the spec, so later files are read alike."""
        spec = self.spec
        train = spec.read(spec.train)
        spec.text_column, spec.label_column = train.text_column, train.label_column
        return train, spec.read(spec.dev)

    def fit_inputs(self, data: tuple[TextTable, TextTable]) -> tuple[Any, Any]:
        """Both tables as they are."""
        return data

    def evaluate(self, data: tuple[TextTable, TextTable], fit: FitResult) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class scores and the confusion matrix on the dev table."""
        train, dev = data
        clf = self.estimator
        self.dev_probs = clf.predict_proba(dev.texts)
        y_dev = label_indices(dev, clf.classes)
        return {"data": self.spec.dev,
                **classification_metrics(y_dev, self.dev_probs.argmax(1), clf.classes),
                "train_examples": len(train), "vocab_size": len(clf.vocab),
                "vectors": clf.vectors,
                "parameters": sum(p.numel() for p in clf.net.parameters())}

    def artefacts(self, run: Path, data: tuple[TextTable, TextTable], fit: FitResult,
                  metrics: dict[str, Any]) -> None:
        """tokenizer.json, vocab.json, the weights, the dev predictions and training.png."""
        from rnnkit.plots.text import training_figure

        clf = self.estimator
        write_json(run / "tokenizer.json", clf.tokenizer.to_dict())
        write_json(run / "vocab.json", clf.vocab.to_dict())
        save_weights(run / "model.safetensors", clf.net)
        write_bytes(run / "predictions.csv",
                    _predictions_csv(data[1], self.dev_probs, clf.classes))
        save_figure(training_figure(fit.history, fit.best_epoch), run / "training.png")


#: The entries of a classify run's config.json.
KEYS = {"data", "model", "train", "classes", "vectors"}


def load(run_dir: Path) -> tuple[TextClassifier, DataSpec]:
    """A trained classifier and its data settings from a run folder (no unpickling)."""
    run_dir = Path(run_dir)
    config, where = load_config(run_dir, "classify", KEYS)
    (spec,) = configs_from(config, where, data=DataSpec)
    clf = TextClassifier.from_state(config, read_json(run_dir / "tokenizer.json"),
                                    read_json(run_dir / "vocab.json"),
                                    load_weights(run_dir / "model.safetensors"), where)
    return clf, spec


def read_inputs(spec: DataSpec, texts: Sequence[str], file: str | None) -> TextTable:
    """Texts to classify: given directly, or from ``file`` (a TSV/CSV with the run's text
    column, and its labels if present, or else one text per line)."""
    if command_line(texts, file, "texts to classify", "text") is not None:
        return TextTable([t.strip() for t in texts], None, list(range(1, len(texts) + 1)),
                         "<command line>")
    if Path(file).suffix.lower() in (".tsv", ".tab", ".csv"):
        return spec.read(file, labels=False)
    return read_lines(file)


def predict(run_dir: Path, texts: Sequence[str], file: str | None = None) -> pd.DataFrame:
    """The predicted label and its probability for each text (and, when the file has labels,
    the true label: labels the model never saw are refused)."""
    clf, spec = load(run_dir)
    table = read_inputs(spec, texts, file)
    if table.labels is not None:
        label_indices(table, clf.classes)
    probs = clf.predict_proba(table.texts)
    best = probs.argmax(1)
    frame = pd.DataFrame({"label": [clf.classes[k] for k in best],
                          "probability": probs[np.arange(len(best)), best]})
    if table.labels is not None:
        frame["true"] = table.labels
    frame["text"] = table.texts
    return frame


def evaluate_run(run_dir: Path, data: str) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix of a run on a labelled file."""
    clf, spec = load(run_dir)
    table = spec.read(data)
    y_true = label_indices(table, clf.classes)
    result = classification_metrics(y_true, clf.predict_proba(table.texts).argmax(1),
                                    clf.classes)
    return {"data": str(data), **result}


@dataclass
class Explanation:
    """How a classifier reads one text.

    ``probs[t]`` (C,) are the class probabilities after words ``0..t`` (the prefix read
    alone); ``moves[t]`` the change of the predicted class's probability that word t
    brought (from 1/C before the first word); ``gates[name]`` (D, T, H) the gate activity
    of the first recurrent layer per direction, word and unit.
    """

    tokens: list[str]
    classes: list[str]
    probs: np.ndarray
    predicted: int
    moves: np.ndarray
    gates: dict[str, np.ndarray]
    unknown: list[bool]

    def top(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` words that moved the prediction most, as (word, change), largest first."""
        order = np.argsort(-np.abs(self.moves), kind="stable")[:k]
        return [(self.tokens[t], float(self.moves[t])) for t in order]

    def to_dict(self, k: int) -> dict[str, Any]:
        """JSON-ready: prediction, per-word probability of it, the top ``k`` words."""
        label = self.classes[self.predicted]
        return {"label": label, "probability": float(self.probs[-1, self.predicted]),
                "words": self.tokens,
                "probability_after_each_word": self.probs[:, self.predicted].tolist(),
                "unknown_words": [w for w, u in zip(self.tokens, self.unknown, strict=True) if u],
                "top_words": [{"word": w, "change": c} for w, c in self.top(k)]}


def explain_text(clf: TextClassifier, text: str) -> Explanation:
    """The word-by-word explanation of ``clf`` on ``text`` (see `Explanation`)."""
    if not text.strip():
        raise InputError("the text to explain is empty; give some words")
    tokens, probs = clf.prefix_proba(text)
    predicted = int(probs[-1].argmax())
    before = np.concatenate([[1.0 / len(clf.classes)], probs[:-1, predicted]])
    gates = clf.gates(text)
    shown = {EXPLAIN_GATES[name]: gates[name] for name in EXPLAIN_GATES if name in gates}
    unknown = [token not in clf.vocab for token in tokens]
    return Explanation(tokens, clf.classes, probs, predicted, probs[:, predicted] - before,
                       shown, unknown)


def default_plot_path(run_dir: Path, text: str) -> Path:
    """``RUN/explain-<first words>-<hash>.png``: one file per text, never overwritten by
    another text."""
    words = "-".join(re.findall(r"\w+", text.lower())[:6])[:40] or "text"
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return Path(run_dir) / f"explain-{words}-{digest}.png"


def explain_plot_path(run_dir: Path, text: str, out: Path | None = None) -> Path:
    """Where ``explain`` writes the figure of ``text``: ``out``, else `default_plot_path`.
    Raises `InputError` unless the name ends in .png (the tagger's ``explain`` uses it too).

    >>> explain_plot_path(Path("runs/x"), "Hi", Path("why.svg"))
    Traceback (most recent call last):
    rnnkit.errors.InputError: --out why.svg: the figure is a PNG; give a file name ending in .png
    """
    path = Path(out) if out is not None else default_plot_path(run_dir, text)
    if path.suffix.lower() != ".png":
        raise InputError(f"--out {path}: the figure is a PNG; give a file name ending in .png")
    return path


def explain(run_dir: Path, text: str, out: Path | None = None) -> tuple[Explanation, Path]:
    """Explain one text with a run and write the figure (see `explain_plot_path`)."""
    from rnnkit.plots.text import explain_figure

    clf, _ = load(run_dir)
    path = explain_plot_path(run_dir, text, out)
    explanation = explain_text(clf, text)
    e = explanation
    figure = explain_figure(e.tokens, e.probs, e.classes, e.predicted, e.gates, e.unknown)
    save_figure(figure, path, dpi=90)
    return explanation, path
