"""``rnnkit translate ...``: train, predict, evaluate and explain attentional translators."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from rnnkit.cli import options as o

app = typer.Typer(help="Translate sentences (many-to-many): an attentional LSTM/GRU "
                       "encoder-decoder, e.g. German -> English on Multi30k.",
                  no_args_is_help=True)
Run = o.run_of("translate")
#: Options every encoder-decoder group declares alike (summarize imports them).
CoverageWeight = typer.Option(None, help="Weight of the coverage loss (1).")
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


@app.command(epilog=TRAIN_EXAMPLE)
@o.command
def train(
    src: Path | None = typer.Option(None, help="Training sentences in the source language."),
    tgt: Path | None = typer.Option(None, help="Their translations, line by line."),
    valid_src: Path | None = typer.Option(None, help="Validation source sentences."),
    valid_tgt: Path | None = typer.Option(None, help="Validation references (early stopping "
                                                     "on BLEU)."),
    shared_vocab: bool | None = typer.Option(None, "--shared-vocab/--separate-vocab",
                                             help="One vocabulary for both languages."),
    max_length: int | None = typer.Option(None, help="Most tokens per sentence (default 50)."),
    bidirectional: bool | None = typer.Option(None, "--bidirectional/--unidirectional",
                                              help="Encoder reads both ways (default)."),
    attention: str | None = typer.Option(None, help="additive (default), general or dot."),
    teacher_forcing: float | None = typer.Option(None, help="Share of steps fed the true "
                                                            "previous word (default 1)."),
    label_smoothing: float | None = typer.Option(None, help="Label smoothing (default 0.1)."),
    write_unk: bool | None = typer.Option(None, "--write-unk/--no-unk",
                                          help="Let the search write <unk> (default: never)."),
    beam: int | None = typer.Option(None, help="Beam size stored for predict/evaluate (5)."),
    alpha: float | None = typer.Option(None, help="Length penalty exponent (0.6)."),
    copy: bool | None = typer.Option(None, "--copy/--no-copy", help="Pointer-generator "
                                     "copying of source words (default off)."),
    coverage: bool | None = typer.Option(None, "--coverage/--no-coverage",
                                         help="Coverage input and loss (default off)."),
    coverage_weight: float | None = CoverageWeight,
    *,
    text: o.Text,
    common: o.Training,
) -> None:
    """Train a translator on a parallel corpus, score it on the validation set, write a run.
    """

    def build() -> object:
        from rnnkit.data.parallel import CorpusConfig
        from rnnkit.models.seq2seq import TRAINING, Seq2SeqConfig, Translator
        from rnnkit.tasks.translate import DataSpec, TranslateTask

        o.require({"--src": src, "--tgt": tgt, "--valid-src": valid_src,
                   "--valid-tgt": valid_tgt})
        given = {
            "shared_vocab": shared_vocab, "max_length": max_length,
            "bidirectional": bidirectional, "attention": attention,
            "teacher_forcing": teacher_forcing, "label_smoothing": label_smoothing,
            "beam_size": beam, "alpha": alpha, "write_unk": write_unk, "copy": copy,
            "coverage": coverage, "coverage_weight": coverage_weight,
            **text.settings(), **common.settings(),
        }
        model, corpus, training = o.configured(given, Seq2SeqConfig(), CorpusConfig(),
                                               TRAINING)
        return TranslateTask(DataSpec(str(src), str(tgt), str(valid_src), str(valid_tgt)),
                             Translator(model, corpus, training))

    o.run_training("translate", build, common, report=_report)


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
