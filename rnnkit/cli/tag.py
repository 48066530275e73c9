"""``rnnkit tag ...``: train, predict, evaluate and explain sequence taggers (BiLSTM-CRF)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rnnkit.cli import options as o

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Task

app = typer.Typer(help="Tag every token (many-to-many): named entities, chunks, part of speech.",
                  no_args_is_help=True)
Run = o.run_of("tag")

TRAIN_EXAMPLE = """
Example (CoNLL-2003 named entities: char BiLSTM + word BiLSTM + CRF with GloVe vectors):

  rnnkit tag train --train $RNNKIT_DATA/conll2003/train.txt \\
      --dev $RNNKIT_DATA/conll2003/valid.txt --column 3 --scheme iobes \\
      --vectors $RNNKIT_DATA/glove/glove.6B.50d.txt.gz --embedding-dim 50 \\
      --vectors-vocab 400000 --out runs/ner

Chunking (CoNLL-2000 lines: word POS chunk), the POS column read as an
input beside the word (predict and evaluate read it from their files too):

  rnnkit tag train --train chunk-train.txt --dev chunk-dev.txt \\
      --features 1 --out runs/chunk
  rnnkit tag predict --run runs/chunk --file chunk-test.txt

Files: CoNLL columns (word first, a blank line between sentences; --column picks the tag,
0-based, the last by default; --features reads other columns as inputs), token<TAB>tag
(UD), or one sentence per line of word/TAG.
"""


def _print_scores(metrics: dict, header: str) -> None:
    typer.echo(header)
    if "f1" in metrics:
        typer.echo(f"chunks: precision {metrics['precision']:.2%}, recall "
                   f"{metrics['recall']:.2%}, F1 {metrics['f1']:.2%} ({metrics['gold_chunks']} "
                   f"gold, {metrics['predicted_chunks']} predicted, {metrics['correct_chunks']} "
                   "correct)")
        for kind, s in metrics["per_type"].items():
            typer.echo(f"  {kind:>10}: precision {s['precision']:.2%}, recall {s['recall']:.2%}"
                       f", F1 {s['f1']:.2%} ({s['support']} gold)")
    typer.echo(f"token accuracy {metrics['accuracy']:.2%}")


def _report(outcome: object) -> None:
    metrics = outcome.metrics
    training = metrics["training"]
    _print_scores(metrics, f"dev: {metrics['sentences']} sentences, {metrics['tokens']} tokens; "
                  f"{training['epochs_run']} epochs (kept {training['best_epoch']}), "
                  f"{training['seconds']:.1f} s")
    base = metrics["baseline"]
    shown = f"F1 {base['f1']:.2%}, " if "f1" in base else ""
    typer.echo(f"baseline ({base['name']}): {shown}token accuracy {base['accuracy']:.2%}")
    o.Vectors.report(metrics)


@o.trains(app, "tag", _report, TRAIN_EXAMPLE)
@dataclass
class TagOptions(o.Training, o.Vectors, o.Network):
    """Train a sequence tagger, score it on the dev set beside the majority tag, write a run."""

    train_file: Path | None = o.data("Tagged training sentences.", "--train", required=True)
    dev: Path | None = o.data("Tagged dev sentences: early stopping and scores.", required=True)
    column: int | None = o.data("Tag field of CoNLL files, 0-based (the word is 0; default: "
                                "the last).")
    file_format: str = o.data("conll, slash (word/TAG) or auto.", "--format", default="auto")
    scheme: str | None = o.data("Convert chunk tags to iob1, iob2 or iobes (default: as read).")
    features: list[str] = o.data("CoNLL fields read as inputs beside the word, 0-based (e.g. 1: "
                                 "part of speech in CoNLL-2000); repeat or 1,2.")
    feature_dim: int | None = o.option("Embedding width of each --features column (20).")
    char_features: str | None = o.option("lstm (char BiLSTM, default), cnn (char CNN) or none.")
    output: str | None = o.option("crf (default) or softmax.")
    constraints: bool | None = o.option("CRF: forbid moves the scheme forbids (default).",
                                        "--constraints/--no-constraints")
    vectors_vocab: int | None = o.option(
        "With --vectors: the file's N most frequent words get a row too (fixed), so words "
        "training never shows keep their vector (100000; 0: training words only).")
    bidirectional: bool | None = o.option("Read the sentence both ways (default).",
                                          "--bidirectional/--unidirectional")
    word_dropout: float | None = o.option("Chance a word is read as <unk>.")

    def check(self) -> None:
        """As `Vectors.check`; also refuses --vectors-vocab without --vectors and
        --feature-dim without --features."""
        super().check()
        if self.vectors is None:
            o.refuse(["--vectors-vocab"] if self.vectors_vocab is not None else [],
                     "only with --vectors FILE")
        if not self.features:
            o.refuse(["--feature-dim"] if self.feature_dim is not None else [],
                     "only with --features COLUMN")

    def feature_columns(self) -> list[int]:
        """The --features columns as numbers (`InputError` for one that is not)."""
        from rnnkit.errors import InputError

        columns = o.split_list(self.features)
        for value in columns:
            if not value.isdigit():
                raise InputError(f"--features {value!r}: give column numbers, 0-based (the word "
                                 "is 0), e.g. --features 1")
        return [int(value) for value in columns]

    def task(self) -> Task:
        """The `TagTask` of a new run with these options."""
        from rnnkit.models.tagger import TRAINING, Tagger, TaggerConfig
        from rnnkit.tasks.tag import DataSpec, TagTask

        model, training = o.configured(self, TaggerConfig(), TRAINING)
        spec = DataSpec(str(self.train_file), str(self.dev), self.file_format, self.column,
                        self.scheme, self.feature_columns())
        spec.validate()
        return TagTask(spec, Tagger(model, training))


@app.command()
def predict(
    run: Run,
    texts: list[str] = typer.Argument(None, help="Sentences to tag."),
    file: Path | None = typer.Option(None, help="A file in the run's format (with its feature "
                                                "columns): written back with the predicted tag "
                                                "as the last field."),
    out: Path | None = typer.Option(None, help="Write the tagged file here (default: stdout)."),
    as_json: o.Records = False,
) -> None:
    """Tag sentences with a trained run: each token with its tag.

    Example: rnnkit tag predict --run runs/ner "EU rejects German call to boycott British lamb ."
    """
    from rnnkit.data.conll import write_tagged
    from rnnkit.io.files import write_bytes
    from rnnkit.tasks.tag import predict as predict_task

    data, predicted = predict_task(run, texts or [], None if file is None else str(file))
    if as_json:
        typer.echo(json.dumps([[{"token": w, "tag": t} for w, t in zip(s, p, strict=True)]
                               for s, p in zip(data.tokens, predicted, strict=True)],
                              ensure_ascii=False))
        return
    text = write_tagged(data, predicted)
    if out is not None:
        write_bytes(out, text.encode())
        typer.echo(f"{len(predicted)} sentences tagged into {out}")
        return
    typer.echo(text.rstrip("\n"))


o.evaluates(app, "tag", lambda metrics: _print_scores(
    metrics, f"{metrics['data']}: {metrics['sentences']} sentences, {metrics['tokens']} tokens"),
    "Tagged sentences (the run's format and column).",
    """Score a trained run on tagged sentences: chunk F1 per type (conlleval), token accuracy.

    Example: rnnkit tag evaluate --run runs/ner --data $RNNKIT_DATA/conll2003/test.txt
    """)


def _show_explanation(result: dict) -> None:
    for row in result["tokens"]:
        top = ", ".join(f"{tag} {p:.2f}" for tag, p in row["top"].items())
        unknown = " (unknown word)" if row["unknown"] else ""
        typer.echo(f"{row['token']}\t{row['tag']}\t{row['probability']:.3f}\t[{top}]{unknown}")
    typer.echo(f"plot written to {result['plot']}")


@app.command()
@o.prints(_show_explanation, "the explanation")
def explain(
    run: Run,
    text: str = typer.Argument(..., help="The sentence to explain."),
    out: Path | None = typer.Option(None, help="PNG to write (default RUN/explain-....png)."),
) -> dict:
    """The glass box on tagging: every tag's probability at every token (the CRF's marginals),
    the learned transitions, the gates per token, in one plot.

    Example: rnnkit tag explain --run runs/ner "EU rejects German call to boycott British lamb ."
    """
    from rnnkit.tasks.tag import explain as explain_task

    explanation, path = explain_task(run, text, out)
    return {**explanation.to_dict(), "plot": str(path)}
