"""``rnnkit translate ...``: train, predict, evaluate and explain attentional translators."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rnnkit.cli import options as o

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Task

app = typer.Typer(help="Translate sentences (many-to-many): an attentional LSTM/GRU "
                       "encoder-decoder, e.g. German -> English on Multi30k.",
                  no_args_is_help=True)
Run = o.run_of("translate")
#: Options every encoder-decoder group declares alike (summarize imports them).
COVERAGE_WEIGHT = "Weight of the coverage loss (1)."
ExplainJson = typer.Option(False, "--json", help="Print the explanation as JSON.")

TRAIN_EXAMPLE = """
Example (Multi30k German -> English; files are line-aligned, plain or .gz):

  rnnkit translate train --src $RNNKIT_DATA/multi30k/train.de.gz \\
      --tgt $RNNKIT_DATA/multi30k/train.en.gz \\
      --valid-src $RNNKIT_DATA/multi30k/val.de.gz \\
      --valid-tgt $RNNKIT_DATA/multi30k/val.en.gz --out runs/multi30k

Training keeps the epoch with the best greedy BLEU on the validation pairs. \
Pairs with more than --max-length tokens on a side are left out of training; \
longer inputs to predict, evaluate and explain are truncated to it, with a warning.

With --copy the decoder may copy source words (names, numbers) into the output, even ones \
outside the target vocabulary (See et al. 2017); with --vectors the encoder starts from \
pretrained word vectors (their coverage of the source vocabulary is reported).
"""


def warn(warning: str | None) -> None:
    """Print a warning, if any, on stderr."""
    if warning:
        typer.echo(warning, err=True)


def print_outputs(found: Sequence[Any], key: str, warning: str | None, as_json: bool) -> None:
    """A predict command's outputs (each with ``text``, ``score``, ``truncated``): one line
    each, or one JSON list with the text under ``key``; the warning on stderr."""
    warn(warning)
    if as_json:
        typer.echo(json.dumps([{key: x.text, "log_prob": x.score, "truncated": x.truncated}
                               for x in found], ensure_ascii=False))
        return
    for x in found:
        typer.echo(x.text)


def focus(found: Any) -> list[str]:
    """The source token each output token attended to most."""
    return [found.source_tokens[int(k)] for k in found.attention.argmax(-1)]


def print_alignment(found: Any, path: Path, as_json: bool,
                    names: tuple[str, str, str] = ("translation", "source_tokens",
                                                   "output_tokens")) -> None:
    """An explain command's output: the text, then each output word and the source word it
    attended to most, and where the plot went; or all as JSON, under ``names`` (text,
    source tokens, output tokens) with the attention rows."""
    if as_json:
        text, source, output = names
        typer.echo(json.dumps({text: found.text, source: found.source_tokens,
                               output: found.tokens, "attention": found.attention.tolist(),
                               "plot": str(path)}, ensure_ascii=False))
        return
    typer.echo(f"{names[0]}: {found.text}")
    for word, source in zip(found.tokens, focus(found), strict=False):
        typer.echo(f"  {word:<16} <- {source}")
    typer.echo(f"plot written to {path}")


def _report(outcome: object) -> None:
    metrics, translator = outcome.metrics, outcome.task.estimator
    if metrics["dropped_empty"] or metrics["dropped_long"]:
        typer.echo(f"left out of training: {metrics['dropped_empty']} pair(s) with an empty "
                   f"side, {metrics['dropped_long']} longer than "
                   f"{translator.corpus_config.max_length} tokens", err=True)
    from rnnkit.models.seq2seq import describe

    v, t = metrics["valid"], metrics["training"]
    typer.echo(f"{metrics['train_pairs']} training pairs; {describe(translator.config)}; "
               f"{t['epochs_run']} epochs (kept {t['best_epoch']}), {t['seconds']:.1f} s")
    typer.echo(f"validation ({v['sentences']} sentences, greedy): BLEU {v['bleu']:.2f}, "
               f"chrF {v['chrf']:.2f}, perplexity {v['perplexity']:.2f}")
    o.Vectors.report(metrics)


@o.trains(app, "translate", _report, TRAIN_EXAMPLE)
@dataclass
class TranslateOptions(o.Training, o.Text):
    """Train a translator on a parallel corpus, score it on the validation set, write a run."""

    src: Path | None = o.data("Training sentences in the source language.", required=True)
    tgt: Path | None = o.data("Their translations, line by line.", required=True)
    valid_src: Path | None = o.data("Validation source sentences.", required=True)
    valid_tgt: Path | None = o.data("Validation references (early stopping on BLEU).",
                                    required=True)
    shared_vocab: bool | None = o.option("One vocabulary for both languages.",
                                         "--shared-vocab/--separate-vocab")
    max_length: int | None = o.option("Most tokens per sentence (default 50).")
    bidirectional: bool | None = o.option("Encoder reads both ways (default).",
                                          "--bidirectional/--unidirectional")
    attention: str | None = o.option("additive (default), general or dot.")
    teacher_forcing: float | None = o.option("Share of steps fed the true previous word "
                                             "(default 1).")
    label_smoothing: float | None = o.option("Label smoothing (default 0.1).")
    write_unk: bool | None = o.option("Let the search write <unk> (default: never).",
                                      "--write-unk/--no-unk")
    beam: int | None = o.option("Beam size stored for predict/evaluate (5).", config="beam_size")
    alpha: float | None = o.option("Length penalty exponent (0.6).")
    copy: bool | None = o.option("Pointer-generator copying of source words (default off).",
                                 "--copy/--no-copy")
    coverage: bool | None = o.option("Coverage input and loss (default off).",
                                     "--coverage/--no-coverage")
    coverage_weight: float | None = o.option(COVERAGE_WEIGHT)

    def task(self) -> Task:
        """The `TranslateTask` of a new run with these options."""
        from rnnkit.data.parallel import CorpusConfig
        from rnnkit.models.seq2seq import TRAINING, Seq2SeqConfig, Translator
        from rnnkit.tasks.translate import DataSpec, TranslateTask

        model, corpus, training = o.configured(self, Seq2SeqConfig(), CorpusConfig(), TRAINING)
        spec = DataSpec(str(self.src), str(self.tgt), str(self.valid_src), str(self.valid_tgt))
        return TranslateTask(spec, Translator(model, corpus, training))


@app.command()
def predict(
    run: Run,
    texts: list[str] = typer.Argument(None, help="Sentences to translate."),
    file: Path | None = typer.Option(None, help="One sentence per line (plain or .gz)."),
    beam: o.Beam = None,
    as_json: o.Records = False,
) -> None:
    """Translate sentences with a trained run: one translation per line, in input order.

    Example: rnnkit translate predict --run runs/multi30k "Ein Hund rennt durch den Park." --beam 5
    """
    from rnnkit.tasks.translate import predict as predict_task

    found, warning = predict_task(run, texts or [], None if file is None else str(file), beam)
    print_outputs(found, "translation", warning, as_json)


@app.command()
def evaluate(
    run: Run,
    src: Path = typer.Option(..., help="Source sentences, one per line (plain or .gz)."),
    ref: Path = typer.Option(..., help="Reference translations, line-aligned with --src."),
    beam: o.Beam = None,
    as_json: o.Json = False,
) -> None:
    """Score a trained run: corpus BLEU and chrF (sacreBLEU) of its detokenised translations
    against the raw references.

    Example: rnnkit translate evaluate --run runs/multi30k \\
        --src $RNNKIT_DATA/multi30k/test_2016_flickr.de.gz \\
        --ref $RNNKIT_DATA/multi30k/test_2016_flickr.en.gz
    """
    from rnnkit.tasks.translate import evaluate_run

    metrics, warning = evaluate_run(run, str(src), str(ref), beam)
    warn(warning)
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    typer.echo(f"{metrics['sentences']} sentences, beam {metrics['beam_size']}: "
               f"BLEU {metrics['bleu']:.2f}, chrF {metrics['chrf']:.2f}")
    typer.echo(f"sacreBLEU {metrics['bleu_signature']}; chrF {metrics['chrf_signature']}")


@app.command()
def explain(
    run: Run,
    text: str = typer.Argument(..., help="The sentence to translate and explain."),
    out: o.AttentionPlot = None,
    beam: o.Beam = None,
    as_json: bool = ExplainJson,
) -> None:
    """The glass box on translation: the attention alignment heatmap, source words x output
    words (each output word's attention over the source sums to one), and for each output
    word the source word it attended to most.

    Example: rnnkit translate explain --run runs/multi30k "Ein Hund rennt durch den Park."
    """
    from rnnkit.tasks.translate import explain as explain_task

    t, path, warning = explain_task(run, text, out, beam)
    warn(warning)
    print_alignment(t, path, as_json)
