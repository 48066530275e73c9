"""``rnnkit summarize ...``: train, predict, evaluate and explain pointer-generator
summarisers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rnnkit.cli import options as o

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Task
from rnnkit.cli.translate import (
    COVERAGE_WEIGHT,
    ExplainJson,
    focus,
    print_outputs,
    warn,
)

app = typer.Typer(help="Summarise texts (many-to-many): an attentional encoder-decoder that "
                       "can copy source words and track coverage (See et al. 2017), e.g. email "
                       "body -> subject line on AESLC.", no_args_is_help=True)
Run = o.run_of("summarize")
SOURCE_FIELD = "Field (JSON key or CSV/TSV column) of the text."
TARGET_FIELD = "Field of the summary: text, or a list of references (the first is trained on)."
SourceField = typer.Option("source", help=SOURCE_FIELD)
TargetField = typer.Option("target", help=TARGET_FIELD)

TRAIN_EXAMPLE = """
Example (records as JSON lines, CSV or TSV with named fields, or an AESLC split folder):

  rnnkit summarize train --train train.jsonl --dev dev.jsonl \\
      --source-field body --target-field subject --out runs/sum

  rnnkit summarize train --train $RNNKIT_DATA/aeslc/enron_subject_line/train \\
      --dev $RNNKIT_DATA/aeslc/enron_subject_line/dev --out runs/aeslc

Training keeps the epoch with the lowest validation loss and prints validation ROUGE-1/2/L \
(mean over references and best reference) beside the lead baseline (the first N words, N \
tuned on --dev). Sources longer than --max-source-tokens are truncated (counted). With \
--vectors the encoder starts from pretrained word vectors (their coverage is reported).
"""


def _rouge_line(label: str, scores: dict, way: str) -> str:
    return (f"  {label:<12} ROUGE-1 {scores['rouge1'][way]:6.2f}  ROUGE-2 "
            f"{scores['rouge2'][way]:6.2f}  ROUGE-L {scores['rougeL'][way]:6.2f}")


def _print_scores(v: dict) -> None:
    n = v["lead"]["n"]
    for way, label in (("mean", "mean over references"), ("best", "best reference")):
        typer.echo(f"{label}:")
        typer.echo(_rouge_line("model", v["model"], way))
        typer.echo(_rouge_line(f"lead-{n}", v["lead"], way))
    typer.echo(f"verdict: {v['verdict']}")


def _report(outcome: object) -> None:
    from rnnkit.models.seq2seq import describe

    metrics, s = outcome.metrics, outcome.task.estimator
    v, t, c = metrics["valid"], metrics["training"], s.config
    if metrics["truncated_train_sources"]:
        typer.echo(f"{metrics['truncated_train_sources']} training source(s) truncated to "
                   f"{c.max_source_tokens} tokens", err=True)
    typer.echo(f"{metrics['train_texts']} training texts; {describe(c)}; {t['epochs_run']} "
               f"epochs (kept {t['best_epoch']}), {t['seconds']:.1f} s")
    typer.echo(f"validation ({v['texts']} texts, beam {v['beam_size']}; {v['truncated_sources']} "
               f"truncated to {v['max_source_tokens']} tokens), perplexity "
               f"{v['perplexity']:.2f}")
    _print_scores(v)
    o.Vectors.report(metrics)


@o.trains(app, "summarize", _report, TRAIN_EXAMPLE)
@dataclass
class SummarizeOptions(o.Training, o.Text):
    """Train a summariser on (text, summary) records, score it beside a lead baseline, write a
    run."""

    train_data: Path | None = o.data("Training records.", "--train", required=True)
    dev: Path | None = o.data("Validation records (early stopping, lead N).", required=True)
    source_field: str = o.data(SOURCE_FIELD, default="source")
    target_field: str = o.data(TARGET_FIELD, default="target")
    max_source_tokens: int | None = o.option("Source tokens read (default 150); longer ones "
                                             "are cut.")
    max_length: int | None = o.option("Most summary tokens (default 30).")
    copy: bool | None = o.option("Pointer-generator copying (default on).", "--copy/--no-copy")
    coverage: bool | None = o.option("Coverage input and loss (default off).",
                                     "--coverage/--no-coverage")
    coverage_weight: float | None = o.option(COVERAGE_WEIGHT)
    attention: str | None = o.option("additive (default), general or dot.")
    beam: int | None = o.option("Beam size stored for predict/evaluate (4).", config="beam_size")
    alpha: float | None = o.option("Length penalty exponent (1.0).")
    min_length: int | None = o.option("Tokens before the end may be written.")
    no_repeat_ngram: int | None = o.option("Never write an n-gram twice (3; 0: off).")

    def task(self) -> Task:
        """The `SummarizeTask` of a new run with these options."""
        from rnnkit.models.summarizer import CORPUS, TRAINING, Summarizer, SummarizerConfig
        from rnnkit.tasks.summarize import DataSpec, SummarizeTask

        model, corpus, training = o.configured(self, SummarizerConfig(), CORPUS, TRAINING)
        spec = DataSpec(str(self.train_data), str(self.dev), self.source_field,
                        self.target_field)
        return SummarizeTask(spec, Summarizer(model, corpus, training))


@app.command()
def predict(
    run: Run,
    texts: list[str] = typer.Argument(None, help="Texts to summarise."),
    data: Path | None = typer.Option(None, help="Records to summarise (JSON lines, CSV, TSV "
                                                "or an AESLC folder)."),
    source_field: str = SourceField,
    beam: o.Beam = None,
    as_json: o.Records = False,
) -> None:
    """Summarise texts with a trained run: one summary per line, in input order.

    Example: rnnkit summarize predict --run runs/aeslc "Please confirm the meeting on Friday."
    """
    from rnnkit.tasks.summarize import predict as predict_task

    found, warning = predict_task(run, texts or [], None if data is None else str(data),
                                  source_field, beam)
    print_outputs(found, "summary", warning, as_json)


@app.command()
def evaluate(
    run: Run,
    data: Path = typer.Option(..., help="Records with references (any format train reads)."),
    source_field: str = SourceField,
    target_field: str = TargetField,
    beam: o.Beam = None,
    as_json: o.Json = False,
) -> None:
    """Score a trained run: ROUGE-1/2/L F1 (Google's rouge-score, stemmed) against every
    reference (mean over references and best reference), beside the lead baseline (N tuned on
    the run's validation set). The fields may differ from training's.

    Example: rnnkit summarize evaluate --run runs/sum --data test.jsonl \\
        --source-field body --target-field subject
    """
    from rnnkit.tasks.summarize import evaluate_run

    metrics, warning = evaluate_run(run, str(data), source_field, target_field, beam)
    warn(warning)
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    typer.echo(f"{metrics['texts']} texts, beam {metrics['beam_size']}, "
               f"{metrics['references_per_text']:.1f} reference(s) per text")
    _print_scores(metrics)


@app.command()
def explain(
    run: Run,
    text: str = typer.Argument(..., help="The text to summarise and explain."),
    out: o.AttentionPlot = None,
    beam: o.Beam = None,
    as_json: bool = ExplainJson,
) -> None:
    """The glass box on summarisation: for each output word, p_gen (the probability of
    generating rather than copying), the source word it attended to most, and whether it was
    copied (most of its probability came through the attention); plus the attention heatmap.

    Example: rnnkit summarize explain --run runs/aeslc "Meeting with Sheri on Tuesday at 9."
    """
    from rnnkit.tasks.summarize import explain as explain_task

    s, path, warning = explain_task(run, text, out, beam)
    warn(warning)
    if as_json:
        typer.echo(json.dumps({"summary": s.text, "source_tokens": s.source_tokens,
                               "output_tokens": s.tokens, "p_gen": s.p_gen[: len(s.tokens)],
                               "copied": s.copied, "attention": s.attention.tolist(),
                               "plot": str(path)}, ensure_ascii=False))
        return
    typer.echo(f"summary: {s.text}")
    typer.echo(f"  {'word':<16} {'p_gen':>6}  {'attended':<16} copied")
    for word, p, source, copied in zip(s.tokens, s.p_gen, focus(s), s.copied, strict=False):
        typer.echo(f"  {word:<16} {p:6.3f}  {source:<16} {'yes' if copied else 'no'}")
    typer.echo(f"plot written to {path}")
