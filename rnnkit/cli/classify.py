"""``rnnkit classify ...``: train, predict, evaluate and explain recurrent text classifiers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rnnkit.cli import options as o

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Task

app = typer.Typer(help="Classify texts (many-to-one), e.g. sentiment analysis on SST-2.",
                  no_args_is_help=True)
Run = o.run_of("classify")

TRAIN_EXAMPLE = """
Example (SST-2: a BiLSTM trained from scratch, early stopping on dev accuracy):

  rnnkit classify train --train $RNNKIT_DATA/sst2/train.tsv \\
      --dev $RNNKIT_DATA/sst2/dev.tsv --out runs/sst2

With GloVe vectors (the embedding starts from them; --freeze-vectors keeps it fixed):

  rnnkit classify train --train $RNNKIT_DATA/sst2/train.tsv \\
      --dev $RNNKIT_DATA/sst2/dev.tsv --vectors $RNNKIT_DATA/glove/glove.6B.50d.txt.gz \\
      --embedding-dim 50 --out runs/sst2-glove

Files are TSV or CSV with a header; the text and label columns are found by name
(sentence/text/..., label/sentiment/...) unless --text-column/--label-column name them.
"""


def _print_metrics(metrics: dict, header: str) -> None:
    typer.echo(header)
    typer.echo(f"accuracy {metrics['accuracy']:.2%}, macro-F1 {metrics['macro_f1']:.3f}")
    classes = [str(c) for c in metrics["classes"]]
    width = max(8, *(len(c) + 2 for c in classes))
    typer.echo("confusion matrix (rows: true label, columns: predicted):")
    typer.echo(" " * width + "".join(f"{c:>{width}}" for c in classes))
    for name, row in zip(classes, metrics["confusion_matrix"], strict=True):
        typer.echo(f"{name:>{width}}" + "".join(f"{n:>{width}}" for n in row))


def _report(outcome: object) -> None:
    metrics, c = outcome.metrics, outcome.task.estimator.config
    kind = ("Bi" if c.bidirectional else "") + c.cell.upper()
    _print_metrics(metrics, f"dev: {metrics['examples']} texts; "
                   f"{c.num_layers}x{kind}({c.hidden_size}), {c.pooling} pooling, "
                   f"{metrics['vocab_size']} words, {metrics['training']['epochs_run']} epochs "
                   f"(kept {metrics['training']['best_epoch']}), "
                   f"{metrics['training']['seconds']:.1f} s")
    o.Vectors.report(metrics)


@o.trains(app, "classify", _report, TRAIN_EXAMPLE)
@dataclass
class ClassifyOptions(o.Training, o.Text):
    """Train a text classifier, score it on the dev set, write a run."""

    train_file: Path | None = o.data("Labelled training texts (TSV/CSV).", "--train", required=True)
    dev: Path | None = o.data("Labelled dev texts: early stopping and the scores.", required=True)
    text_column: str | None = o.data("Column of the texts (default: by name).")
    label_column: str | None = o.data("Column of the labels (default: by name).")
    sep: str | None = o.data("Column separator: ',', ';' or '\\t' (default: detected).")
    bidirectional: bool | None = o.option("Read the text both ways (default).",
                                          "--bidirectional/--unidirectional")
    pooling: str | None = o.option("last, mean, max (default) or attention.")
    word_dropout: float | None = o.option("Chance a word is read as <unk>.")
    embedding_dropout: float | None = o.option("Dropout on the word vectors.")
    output_dropout: float | None = o.option("Dropout on the sentence vector.")
    ensemble: int | None = o.option("Networks trained side by side, their probabilities "
                                    "averaged (default 1).")

    def task(self) -> Task:
        """The `ClassifyTask` of a new run with these options."""
        from rnnkit.models.classifier import TRAINING, ClassifierConfig, TextClassifier
        from rnnkit.tasks.classify import ClassifyTask, DataSpec

        model, training = o.configured(self, ClassifierConfig(), TRAINING)
        spec = DataSpec(str(self.train_file), str(self.dev), self.text_column,
                        self.label_column, self.sep)
        return ClassifyTask(spec, TextClassifier(model, training))


def _show_labels(table: Any) -> None:
    for row in table.itertuples(index=False):
        true = f"\t(true {row.true})" if "true" in table.columns else ""
        typer.echo(f"{row.label}\t{row.probability:.3f}\t{row.text}{true}")


@app.command()
@o.prints(_show_labels, "the records")
def predict(
    run: Run,
    texts: list[str] = typer.Argument(None, help="Texts to classify."),
    file: Path | None = typer.Option(None, help="TSV/CSV with the run's text column, or one "
                                                "text per line."),
) -> Any:  # a pandas DataFrame
    """Classify texts with a trained run: label and probability per text.

    Example: rnnkit classify predict --run runs/sst2 "a gorgeous , witty film" "tedious ."
    """
    from rnnkit.tasks.classify import predict as predict_task

    return predict_task(run, texts or [], None if file is None else str(file))


o.evaluates(app, "classify", lambda metrics: _print_metrics(
    metrics, f"{metrics['data']}: {metrics['examples']} texts"),
    "Labelled texts (TSV/CSV with the run's columns).",
    """Score a trained run on labelled texts: accuracy, macro-F1, confusion matrix.

    Example: rnnkit classify evaluate --run runs/sst2 --data $RNNKIT_DATA/sst2/dev.tsv
    """)


def _show_explanation(result: dict) -> None:
    typer.echo(f"prediction: {result['label']} (p = {result['probability']:.3f})")
    typer.echo(f"words that moved P({result['label']}) most:")
    for item in result["top_words"]:
        typer.echo(f"  {item['change']:+.3f}  {item['word']}")
    if result["unknown_words"]:
        typer.echo(f"unknown words (read as <unk>): {' '.join(result['unknown_words'])}")
    typer.echo(f"plot written to {result['plot']}")


@app.command()
@o.prints(_show_explanation, "the explanation")
def explain(
    run: Run,
    text: str = typer.Argument(..., help="The text to explain."),
    out: Path | None = typer.Option(None, help="PNG to write (default RUN/explain-....png)."),
    top: int = typer.Option(5, help="How many of the most influential words to print."),
) -> dict:
    """The glass box on text: the judgement after each word, the gates per word, a plot.

    Prints the words that moved the predicted class's probability most (each word's change,
    from 1/classes before the first word); the plot shows the probability after each word
    and the forget/input gates (GRU: update/reset) of the first layer at every word (of an
    ensemble: the averaged probability and the first member's gates).

    Example: rnnkit classify explain --run runs/sst2 "not bad at all , a fine film"
    """
    from rnnkit.errors import InputError
    from rnnkit.tasks.classify import explain as explain_task

    if top < 1:
        raise InputError(f"--top {top}; expected at least 1")
    explanation, path = explain_task(run, text, out)
    return {**explanation.to_dict(top), "plot": str(path)}
