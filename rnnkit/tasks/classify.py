"""The text classification workflow: labelled texts in, a classifier trained and judged on the
dev set, the run written; then prediction, evaluation and the word-by-word explanation."""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.text import TextTable, label_indices, read_lines, read_text_table
from rnnkit.errors import InputError
from rnnkit.io.run import (
    mark_complete,
    read_json,
    read_run_config,
    save_figure,
    write_bytes,
    write_json,
)
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.classifier import ClassifierConfig, TextClassifier, TrainConfig
from rnnkit.models.forecaster import config_from_dict
from rnnkit.tasks.runs import CHECKPOINT, checkpoint_dir, interrupted_config, training_run_dir
from rnnkit.train.distributed import Parallel, is_main_process
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

    def read(self, path: str, labels: bool = True) -> TextTable:
        """Read a TSV/CSV file with these columns (the label column only if ``labels``)."""
        return read_text_table(path, self.text_column, self.label_column, labels)


@dataclass
class TrainOutcome:
    """What `train` produced: the run folder, the fit, the dev metrics and the classifier."""

    run_dir: Path
    fit: FitResult
    metrics: dict[str, Any]
    classifier: TextClassifier


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


def read_data(spec: DataSpec) -> tuple[TextTable, TextTable]:
    """The training and dev tables; the resolved column names are stored in ``spec``."""
    train_table = spec.read(spec.train)
    spec.text_column, spec.label_column = train_table.text_column, train_table.label_column
    return train_table, spec.read(spec.dev)


def _predictions_csv(table: TextTable, probs: np.ndarray, classes: Sequence[str]) -> bytes:
    best = probs.argmax(1)
    frame = pd.DataFrame({
        "line": table.lines, "label": table.labels, "predicted": [classes[k] for k in best],
        "probability": probs[np.arange(len(best)), best], "text": table.texts,
    })
    return frame.to_csv(index=False, float_format="%.4f").encode()


def train(spec: DataSpec, classifier: TextClassifier, out: Path | None, progress: bool = True,
          command: str | None = None, force: bool = False, resume: bool = False,
          parallel: Parallel | None = None) -> TrainOutcome | None:
    """Read, fit (early stopping on dev accuracy), score the dev set and write the run folder:
    config.json, tokenizer.json, vocab.json, model.safetensors, metrics.json (the dev
    scores), predictions.csv (dev), training.png. ``force`` replaces an earlier run at ``out``.

    Every input is validated before the run folder is created: bad input leaves nothing.
    From then on config.json is in the folder and a checkpoint is kept after each epoch, so
    an interrupted run can be resumed (``resume``, see `resume_run`). With ``parallel``
    (several DDP processes, each running this), only the main process writes and returns
    the outcome; the others return None once training is done.
    """
    from rnnkit.plots.text import training_figure

    train_table, dev_table = read_data(spec)
    classifier.check(train_table, dev_table)
    run_dir = training_run_dir(out, "classify", force, resume)
    command = command or " ".join(sys.argv)
    if run_dir is not None and not resume:  # what --resume needs, before training starts
        write_json(run_dir / "config.json", {
            "command": command, "data": asdict(spec), "model": asdict(classifier.config),
            "train": asdict(classifier.train_config)})
    fit = classifier.fit(train_table, dev_table, progress=progress,
                         checkpoint_dir=checkpoint_dir(run_dir), resume=resume, parallel=parallel)
    if run_dir is None or not is_main_process():
        return None
    probs = classifier.predict_proba(dev_table.texts)
    y_dev = label_indices(dev_table, classifier.classes)
    metrics = {"data": spec.dev,
               **classification_metrics(y_dev, probs.argmax(1), classifier.classes),
               "train_examples": len(train_table),
               "vocab_size": classifier.config.vocab_size,
               "parameters": sum(p.numel() for p in classifier.net.parameters()),
               "training": fit.report()}

    config = {"command": command, "data": asdict(spec), **classifier.state()}
    write_json(run_dir / "config.json", config)
    write_json(run_dir / "tokenizer.json", classifier.tokenizer.to_dict())
    write_json(run_dir / "vocab.json", classifier.vocab.to_dict())
    save_weights(run_dir / "model.safetensors", classifier.net)
    write_json(run_dir / "metrics.json", metrics)
    write_bytes(run_dir / "predictions.csv",
                _predictions_csv(dev_table, probs, classifier.classes))
    save_figure(training_figure(fit.history, fit.best_epoch), run_dir / "training.png")
    shutil.rmtree(run_dir / CHECKPOINT, ignore_errors=True)  # the finished run needs none
    mark_complete(run_dir)
    return TrainOutcome(run_dir, fit, metrics, classifier)


def resume_run(run_dir: Path, progress: bool = True,
               parallel: Parallel | None = None) -> TrainOutcome | None:
    """Continue an interrupted ``classify train`` from its last epoch checkpoint, reaching the
    same result as an uninterrupted run with the same settings (the vocabulary is rebuilt
    from the same training file)."""
    run_dir = Path(run_dir)
    config = interrupted_config(run_dir)
    where = str(run_dir / "config.json")
    try:
        spec = DataSpec(**config["data"])
        classifier = TextClassifier(config_from_dict(ClassifierConfig, config["model"], where),
                                    config_from_dict(TrainConfig, config["train"], where))
        command = config["command"]
    except (KeyError, TypeError) as err:
        raise InputError(f"{where}: malformed ({err}); cannot resume this run") from err
    return train(spec, classifier, run_dir, progress, command, resume=True, parallel=parallel)


def load(run_dir: Path) -> tuple[TextClassifier, DataSpec]:
    """A trained classifier and its data settings from a run folder (no unpickling)."""
    run_dir = Path(run_dir)
    known = {"command", "data", "model", "train", "classes"}
    config, where = read_run_config(run_dir, "classify", "classes", known)
    try:
        spec = DataSpec(**config["data"])
    except TypeError as err:
        raise InputError(f"{where}: malformed 'data' entry ({err})") from err
    clf = TextClassifier.from_state(config, read_json(run_dir / "tokenizer.json"),
                                    read_json(run_dir / "vocab.json"),
                                    load_weights(run_dir / "model.safetensors"), where)
    return clf, spec


def read_inputs(spec: DataSpec, texts: Sequence[str], file: str | None) -> TextTable:
    """Texts to classify: given directly, or from ``file`` (a TSV/CSV with the run's text
    column, and its labels if present, or else one text per line)."""
    if bool(texts) == (file is not None):
        raise InputError("give the texts to classify as arguments or --file FILE, not both "
                         "and not neither")
    if file is None:
        for k, text in enumerate(texts, start=1):
            if not text.strip():
                raise InputError(f"text {k} of the command line is empty; give some words")
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


def explain(run_dir: Path, text: str, out: Path | None = None) -> tuple[Explanation, Path]:
    """Explain one text with a run and write the figure (default `default_plot_path`)."""
    from rnnkit.plots.text import explain_figure

    clf, _ = load(run_dir)
    path = Path(out) if out is not None else default_plot_path(run_dir, text)
    if path.suffix.lower() != ".png":
        raise InputError(f"--out {path}: the figure is a PNG; give a file name ending in .png")
    explanation = explain_text(clf, text)
    e = explanation
    figure = explain_figure(e.tokens, e.probs, e.classes, e.predicted, e.gates, e.unknown)
    save_figure(figure, path, dpi=90)
    return explanation, path
