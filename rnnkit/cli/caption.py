"""``rnnkit caption ...``: train, predict, evaluate and explain image captioners."""

from __future__ import annotations

from pathlib import Path

import typer

from rnnkit.cli import options as o

app = typer.Typer(help="Caption images (one-to-many): a CNN looks, an LSTM writes, with "
                       "attention over the image.", no_args_is_help=True)
Run = o.run_of("caption")

TRAIN_EXAMPLE = """
Examples:

  rnnkit caption train --dataset digits --out runs/digits       # built in, no download

  rnnkit caption train --images Flickr8k_Dataset --captions Flickr8k.token.txt \\
      --out runs/flickr8k                                       # or a COCO captions .json

The digit scenes are 1-5 handwritten digits from scikit-learn's scans, captioned in words; \
train, validation and test scenes use disjoint scans. A folder dataset holds out \
--valid-fraction of its images for early stopping unless --valid-images/--valid-captions \
are given.
"""


def _spec(dataset: str | None, images: Path | None, captions: Path | None, **kwargs: object
          ) -> object:
    from rnnkit.tasks.caption import DataSpec

    given = {k: v for k, v in kwargs.items() if v is not None}
    return DataSpec(dataset=dataset, images=None if images is None else str(images),
                    captions=None if captions is None else str(captions), **given)


@app.command(epilog=TRAIN_EXAMPLE)
@o.command
def train(
    dataset: str | None = typer.Option(None, help="A built-in dataset: digits."),
    images: Path | None = typer.Option(None, help="Folder of the training images."),
    captions: Path | None = typer.Option(None, help="Their captions: a Flickr token file "
                                                    "(image#k<TAB>caption) or COCO .json."),
    valid_images: Path | None = typer.Option(None, help="Folder of validation images."),
    valid_captions: Path | None = typer.Option(None, help="Their captions file."),
    valid_fraction: float | None = typer.Option(None, help="Share of images held out for "
                                                           "validation (default 0.1)."),
    image_size: int | None = typer.Option(None, help="Folder images are resized to this "
                                                     "square size (default 128)."),
    grey: bool = typer.Option(False, help="Read folder images as grey (1 channel)."),
    train_scenes: int | None = typer.Option(None, help="Digit scenes to train on (20000)."),
    valid_scenes: int | None = typer.Option(None, help="Digit scenes for early stopping (1000)."),
    test_scenes: int | None = typer.Option(None, help="Digit scenes scored at the end (2000)."),
    encoder: str | None = typer.Option(None, help="cnn (default, from scratch) or a "
                                                  "torchvision ResNet: resnet18, ..."),
    backbone_weights: Path | None = typer.Option(None, help="Local weights for a torchvision "
                                                            "encoder (nothing is downloaded)."),
    channels: str | None = typer.Option(None, help="Conv channels per block, e.g. 16,32,64."),
    attention: str | None = typer.Option(None, help="additive (default), general, dot, or "
                                                    "none (one image vector)."),
    augment: bool | None = typer.Option(None, "--augment/--no-augment",
                                        help="Randomly distort training images (default: "
                                             "on for digits, off for folders)."),
    min_freq: int | None = typer.Option(None, help="Rarer caption words become <unk>."),
    monitor: str | None = typer.Option(None, help="Validation score for early stopping: bleu "
                                                  "or exact (default: exact for digits)."),
    beam: int | None = typer.Option(None, help="Beam size stored for predict/evaluate (3)."),
    *,
    net: o.Network,
    common: o.Training,
) -> None:
    """Train a captioner, score it with greedy and beam search, write a run.
    """

    def build() -> object:
        from rnnkit.data.parallel import CorpusConfig
        from rnnkit.errors import InputError
        from rnnkit.models.captioner import TRAINING, CaptionerConfig, ImageCaptioner
        from rnnkit.tasks.caption import CaptionTask

        try:
            channel_list = None if channels is None else [int(c) for c in channels.split(",")]
        except ValueError as err:
            raise InputError(f"--channels {channels!r}; expected numbers separated by commas, "
                             "e.g. 16,32,64") from err
        given = {
            "encoder": encoder, "channels": channel_list, "attention": attention,
            "backbone_weights": None if backbone_weights is None else str(backbone_weights),
            "min_freq": min_freq, "beam_size": beam,
            "monitor": monitor or ("exact" if dataset == "digits" else None),
            "augment": dataset == "digits" if augment is None else augment,
            **net.settings(), **common.settings(),
        }
        model, text, training = o.configured(
            given, CaptionerConfig(), CorpusConfig(lowercase=True, min_freq=1), TRAINING)
        spec = _spec(dataset, images, captions, valid_images=valid_images and str(valid_images),
                     valid_captions=valid_captions and str(valid_captions),
                     valid_fraction=valid_fraction, image_size=image_size, grey=grey or None,
                     train_scenes=train_scenes, valid_scenes=valid_scenes,
                     test_scenes=test_scenes, seed=common.seed)
        return CaptionTask(spec, ImageCaptioner(model, text, training))

    o.run_training("caption", build, common, report=_report)


def _report(outcome: object) -> None:
    metrics, c, t = outcome.metrics, outcome.task.estimator.config, outcome.metrics["training"]
    typer.echo(f"{metrics['train_images']} images, {metrics['train_captions']} captions; "
               f"{c.encoder.upper()} -> {c.cell.upper()}({c.hidden_size}) with {c.attention} "
               f"attention; {t['epochs_run']} epochs (kept {t['best_epoch']}), "
               f"{t['seconds']:.1f} s")
    for part in ("valid", "test"):
        if part in metrics:
            for search, s in metrics[part].items():
                typer.echo(f"{part} ({s['images']} images, {search}): exact match "
                           f"{s['exact_match']:.1%}, BLEU-4 {s['bleu']:.2f}")


def _show_captions(found: list[dict]) -> None:
    for item in found:
        typer.echo(f"{item['image']}\t{item['caption']}")


@app.command()
@o.prints(_show_captions, "the captions")
def predict(
    run: Run,
    images: list[Path] = typer.Argument(..., help="Image files to caption."),
    beam: o.Beam = None,
) -> list[dict]:
    """Caption images with a trained run: one line per image, '<image><TAB><caption>'.

    Example: rnnkit caption predict --run runs/digits runs/digits/examples/test-00.png --beam 3
    """
    from rnnkit.tasks.caption import predict as predict_task

    found = predict_task(run, [str(p) for p in images], beam)
    return [{"image": str(p), "caption": c.text, "log_prob": c.score}
            for p, c in zip(images, found, strict=True)]


def _show_scores(metrics: dict) -> None:
    typer.echo(f"{metrics['images']} images, beam {metrics['beam_size']}: exact match "
               f"{metrics['exact_match']:.1%}, BLEU-4 {metrics['bleu']:.2f}, "
               f"chrF {metrics['chrf']:.2f}")


@app.command()
@o.prints(_show_scores, "the metrics")
def evaluate(
    run: Run,
    dataset: str | None = typer.Option(None, help="digits: the digit scenes' test split."),
    images: Path | None = typer.Option(None, help="Folder of captioned images."),
    captions: Path | None = typer.Option(None, help="Their captions (token file or .json)."),
    test_scenes: int | None = typer.Option(None, help="Digit test scenes (default 2000)."),
    seed: int | None = typer.Option(None, help="Seed of the digit scenes (the run's: 0)."),
    beam: o.Beam = None,
) -> dict:
    """Score a trained run on captioned images: BLEU-4 (sacreBLEU, every reference of an
    image) and exact match.

    Example: rnnkit caption evaluate --run runs/digits --dataset digits --beam 3
    """
    from rnnkit.tasks.caption import evaluate_run

    return evaluate_run(run, _spec(dataset, images, captions, test_scenes=test_scenes,
                                   seed=seed), beam)


def _show_attention(found: dict) -> None:
    import numpy as np

    grid = found["grid"]
    typer.echo(f"caption: {found['caption']}")
    for word, w in zip(found["tokens"], found["attention"], strict=False):
        row, col = divmod(int(np.argmax(w)), grid[1])
        typer.echo(f"  {word:<12} looked most at grid cell (row {row}, column {col}) of "
                   f"{grid[0]}x{grid[1]}, weight {float(np.max(w)):.2f}")
    typer.echo(f"plot written to {found['plot']}")


@app.command()
@o.prints(_show_attention, "the attention")
def explain(
    run: Run,
    image: Path = typer.Argument(..., help="The image to caption and explain."),
    out: o.AttentionPlot = None,
    beam: o.Beam = None,
) -> dict:
    """The glass box on captioning: for each word, where in the image the decoder looked
    (its attention over the CNN's grid, drawn on the image).

    Example: rnnkit caption explain --run runs/digits runs/digits/examples/test-00.png
    """
    from rnnkit.tasks.caption import explain as explain_task

    caption, path = explain_task(run, str(image), out, beam)
    return {"caption": caption.text, "tokens": caption.tokens,
            "grid": list(caption.attention.shape[1:]), "attention": caption.attention.tolist(),
            "plot": str(path)}
