"""``rnnkit caption ...``: train, predict, evaluate and explain image captioners."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rnnkit.cli import options as o

if TYPE_CHECKING:
    from rnnkit.tasks.workflow import Task

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


@o.trains(app, "caption", _report, TRAIN_EXAMPLE)
@dataclass
class CaptionOptions(o.Training, o.Network):
    """Train a captioner, score it with greedy and beam search, write a run."""

    dataset: str | None = o.data("A built-in dataset: digits.")
    images: Path | None = o.data("Folder of the training images.")
    captions: Path | None = o.data("Their captions: a Flickr token file (image#k<TAB>caption) "
                                   "or COCO .json.")
    valid_images: Path | None = o.data("Folder of validation images.")
    valid_captions: Path | None = o.data("Their captions file.")
    valid_fraction: float | None = o.data("Share of images held out for validation (default 0.1).")
    image_size: int | None = o.data("Folder images are resized to this square size (default 128).")
    grey: bool = o.data("Read folder images as grey (1 channel).", default=False)
    train_scenes: int | None = o.data("Digit scenes to train on (20000).")
    valid_scenes: int | None = o.data("Digit scenes for early stopping (1000).")
    test_scenes: int | None = o.data("Digit scenes scored at the end (2000).")
    encoder: str | None = o.option("cnn (default, from scratch) or a torchvision ResNet: "
                                   "resnet18, ...")
    backbone_weights: Path | None = o.option("Local weights for a torchvision encoder (nothing "
                                             "is downloaded).")
    channels: str | None = o.option("Conv channels per block, e.g. 16,32,64.")
    attention: str | None = o.option("additive (default), general, dot, or none (one image "
                                     "vector).")
    augment: bool | None = o.option("Randomly distort training images (default: on for "
                                    "digits, off for folders).", "--augment/--no-augment")
    min_freq: int | None = o.option("Rarer caption words become <unk>.")
    monitor: str | None = o.option("Validation score for early stopping: bleu or exact "
                                   "(default: exact for digits).")
    beam: int | None = o.option("Beam size stored for predict/evaluate (3).", config="beam_size")

    def settings(self) -> dict[str, Any]:
        """As `Options.settings`, with --channels as numbers and the digit scenes' defaults
        (augmented, early stopping on exact matches)."""
        from rnnkit.errors import InputError

        try:
            channels = None if self.channels is None else [int(c) for c in
                                                           self.channels.split(",")]
        except ValueError as err:
            raise InputError(f"--channels {self.channels!r}; expected numbers separated by "
                             "commas, e.g. 16,32,64") from err
        digits = self.dataset == "digits"
        return {**super().settings(), "channels": channels,
                "monitor": self.monitor or ("exact" if digits else None),
                "augment": digits if self.augment is None else self.augment}

    def spec(self) -> Any:
        """The `DataSpec` of these options."""
        return _spec(self.dataset, self.images, self.captions, valid_images=self.valid_images,
                     valid_captions=self.valid_captions, valid_fraction=self.valid_fraction,
                     image_size=self.image_size, grey=self.grey or None,
                     train_scenes=self.train_scenes, valid_scenes=self.valid_scenes,
                     test_scenes=self.test_scenes, seed=self.seed)

    def task(self) -> Task:
        """The `CaptionTask` of a new run with these options."""
        from rnnkit.data.parallel import CorpusConfig
        from rnnkit.models.captioner import TRAINING, CaptionerConfig, ImageCaptioner
        from rnnkit.tasks.caption import CaptionTask

        model, text, training = o.configured(
            self, CaptionerConfig(), CorpusConfig(lowercase=True, min_freq=1), TRAINING)
        return CaptionTask(self.spec(), ImageCaptioner(model, text, training))


def _spec(dataset: str | None, images: Path | None, captions: Path | None, **kwargs: object
          ) -> Any:
    """A `DataSpec` with the values given (None: its default; paths as text)."""
    from rnnkit.tasks.caption import DataSpec

    given = {k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items() if v is not None}
    return DataSpec(dataset=dataset, images=None if images is None else str(images),
                    captions=None if captions is None else str(captions), **given)


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
