"""The captioning workflow: captioned images in (a Flickr/COCO folder, or the built-in digit
scenes), an `ImageCaptioner` trained, the run written; then captions for new images, BLEU-4 and
exact-match evaluation, and where the decoder looked for each word."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data.captions import CaptionSet, load_images, read_captions
from rnnkit.data.digit_scenes import SceneConfig, digit_scenes
from rnnkit.errors import InputError
from rnnkit.io.files import read_json, save_figure, write_bytes, write_json
from rnnkit.io.weights import load_weights, save_weights
from rnnkit.models.captioner import Caption, ImageCaptioner
from rnnkit.runs import load_config
from rnnkit.tasks.workflow import Task
from rnnkit.train.fit import FitResult


@dataclass
class DataSpec:
    """Where the captioned images come from (stored in the run's config.json).

    Either ``dataset="digits"`` (the built-in scenes: ``train_scenes`` for training,
    ``valid_scenes`` for early stopping, ``test_scenes`` scored at the end, all from disjoint
    scans), or ``images`` + ``captions`` (Flickr token file or COCO JSON) with
    ``valid_images`` + ``valid_captions``, or else ``valid_fraction`` of the images held out.
    """

    dataset: str | None = None
    images: str | None = None
    captions: str | None = None
    valid_images: str | None = None
    valid_captions: str | None = None
    valid_fraction: float = 0.1
    image_size: int = 128  # folder images are resized to image_size x image_size
    grey: bool = False  # folder images read as grey (1 channel) instead of RGB
    train_scenes: int = 20000
    valid_scenes: int = 1000
    test_scenes: int = 2000
    seed: int = 0

    def validate(self) -> None:
        """Raise `InputError` unless exactly one data source is given, consistently."""
        if (self.dataset is None) == (self.images is None and self.captions is None):
            raise InputError("give either --dataset digits or --images DIR --captions FILE")
        if self.dataset is not None and self.dataset != "digits":
            raise InputError(f"--dataset {self.dataset!r} is not built in; the built-in dataset "
                             "is 'digits'")
        if self.dataset is None and (self.images is None or self.captions is None):
            raise InputError("--images and --captions go together: the image folder and its "
                             "captions file")
        if (self.valid_images is None) != (self.valid_captions is None):
            raise InputError("--valid-images and --valid-captions go together")
        if not 0 < self.valid_fraction < 1:
            raise InputError(f"--valid-fraction {self.valid_fraction}; expected (0, 1)")
        if self.image_size < 8:
            raise InputError(f"--image-size {self.image_size}; expected at least 8 pixels")
        for name in ("train_scenes", "valid_scenes", "test_scenes"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} {getattr(self, name)}; expected "
                                 "at least 1")


@dataclass
class Splits:
    """Training, validation and (digit scenes only) test images."""

    train: CaptionSet
    valid: CaptionSet
    test: CaptionSet | None


def read_data(spec: DataSpec) -> Splits:
    """Read (or draw) the images and captions of ``spec``; nothing is written."""
    spec.validate()
    if spec.dataset == "digits":
        scene = SceneConfig()
        return Splits(digit_scenes("train", spec.train_scenes, scene, spec.seed).caption_set(),
                      digit_scenes("val", spec.valid_scenes, scene, spec.seed).caption_set(),
                      digit_scenes("test", spec.test_scenes, scene, spec.seed).caption_set())
    size, channels = (spec.image_size, spec.image_size), 1 if spec.grey else 3
    data = read_captions(spec.images, spec.captions, size, channels)
    if spec.valid_images is not None:
        return Splits(data, read_captions(spec.valid_images, spec.valid_captions, size,
                                          channels), None)
    if len(data) < 2:
        raise InputError(f"{spec.captions}: one captioned image cannot be split into training "
                         "and validation; give more images or --valid-images/--valid-captions")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(spec.seed))
    n_valid = min(len(data) - 1, max(1, round(spec.valid_fraction * len(data))))
    return Splits(data.subset(sorted(order[n_valid:].tolist())),
                  data.subset(sorted(order[:n_valid].tolist())), None)


def _png(image: torch.Tensor) -> bytes:
    from PIL import Image

    array = image.numpy()
    picture = Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _predictions_csv(data: CaptionSet, captions: Sequence[Caption]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "caption", "references"])
    for name, caption, refs in zip(data.names, captions, data.captions, strict=True):
        writer.writerow([name, caption.text, " | ".join(refs)])
    return buffer.getvalue().encode()


@dataclass
class CaptionTask(Task[Splits], group="caption"):
    """``rnnkit caption train``: an `ImageCaptioner` on captioned images (a folder, or the
    built-in digit scenes), scored with greedy and beam search on the held-out images."""

    spec: DataSpec
    estimator: ImageCaptioner
    captions: list[Caption] = field(default_factory=list, init=False)  # set by evaluate

    def read(self) -> Splits:
        """The training, validation and (digit scenes) test images."""
        return read_data(self.spec)

    def fit_inputs(self, data: Splits) -> tuple[CaptionSet, CaptionSet]:
        """Training and validation images."""
        return data.train, data.valid

    def evaluate(self, data: Splits, fit: FitResult) -> dict[str, Any]:
        """Exact match and BLEU-4 of greedy and beam-search captions, per held-out part."""
        captioner = self.estimator
        beam_size = captioner.config.beam_size
        metrics: dict[str, Any] = {}
        held_out = {"valid": data.valid, **({"test": data.test} if data.test is not None else {})}
        for name, part in held_out.items():
            greedy, _ = captioner.scores(part, beam_size=1)
            beam, self.captions = captioner.scores(part, beam_size=beam_size)
            metrics[name] = {"greedy": greedy, f"beam{beam_size}": beam}
        return {**metrics, "train_images": len(data.train),
                "train_captions": sum(len(c) for c in data.train.captions),
                "vocab": len(captioner.side.vocab),
                "parameters": sum(p.numel() for p in captioner.net.parameters()),
                "monitor": captioner.config.monitor}

    def artefacts(self, run: Path, data: Splits, fit: FitResult,
                  metrics: dict[str, Any]) -> None:
        """vocab.json, the weights, the last part's captions, training.png and, for the digit
        scenes, ``examples/`` (test images to try ``predict`` and ``explain`` on)."""
        from rnnkit.plots.text import training_figure

        captioner = self.estimator
        write_json(run / "vocab.json", captioner.side.to_dict())
        save_weights(run / "model.safetensors", captioner.net)
        last = data.test if data.test is not None else data.valid
        write_bytes(run / "predictions.csv", _predictions_csv(last, self.captions))
        label = ("validation exact match" if captioner.config.monitor == "exact"
                 else "validation BLEU-4")
        save_figure(training_figure(fit.history, fit.best_epoch, label), run / "training.png")
        if data.test is not None:
            for k in range(min(8, len(data.test))):
                write_bytes(run / "examples" / f"test-{k:02d}.png", _png(data.test.images[k]))


#: The entries of a caption run's config.json.
KEYS = {"data", "model", "text", "train", "network"}


def load(run_dir: Path) -> ImageCaptioner:
    """A trained captioner from a run folder (JSON and safetensors only)."""
    run_dir = Path(run_dir)
    config, where = load_config(run_dir, "caption", KEYS)
    return ImageCaptioner.from_state(config, read_json(run_dir / "vocab.json"),
                                     load_weights(run_dir / "model.safetensors"), where)


def read_run_images(captioner: ImageCaptioner, paths: Sequence[str | Path]) -> torch.Tensor:
    """Image files as the run's model reads them: its channels and size."""
    c = captioner.network
    return load_images(list(paths), (c.image_height, c.image_width), c.image_channels)


def predict(run_dir: Path, paths: Sequence[str | Path],
            beam_size: int | None = None) -> list[Caption]:
    """A caption for each image file (in order)."""
    captioner = load(run_dir)
    return captioner.caption(read_run_images(captioner, paths), beam_size)


def evaluate_run(run_dir: Path, spec: DataSpec, beam_size: int | None = None) -> dict[str, Any]:
    """BLEU-4 and exact match of a run's captions of other captioned images: a folder with
    its captions file, or the digit scenes' test split (``spec.dataset="digits"``)."""
    captioner = load(run_dir)
    spec.validate()
    c = captioner.network
    if spec.dataset == "digits":
        data = digit_scenes("test", spec.test_scenes, SceneConfig(), spec.seed).caption_set()
    else:
        data = read_captions(spec.images, spec.captions, (c.image_height, c.image_width),
                             c.image_channels)
    if tuple(data.images.shape[1:]) != (c.image_channels, c.image_height, c.image_width):
        raise InputError(f"these images are {tuple(data.images.shape[1:])}; the run reads "
                         f"({c.image_channels}, {c.image_height}, {c.image_width})")
    beam = captioner.config.beam_size if beam_size is None else beam_size
    return {"data": data.origin, "beam_size": beam, **captioner.scores(data, beam)[0]}


def explain(run_dir: Path, path: str | Path, out: Path | None = None,
            beam_size: int | None = None) -> tuple[Caption, Path]:
    """Caption one image and draw, for each word, where the decoder attended; written to
    ``out`` (default ``RUN/plots/attention-<image name>.png``)."""
    from rnnkit.plots.captioning import attention_figure

    captioner = load(run_dir)
    if captioner.config.attention == "none":
        raise InputError(f"{run_dir} was trained with --attention none, so there is no "
                         "attention to show; train with --attention additive")
    target = Path(out) if out is not None else (Path(run_dir) / "plots" /
                                                f"attention-{Path(path).stem}.png")
    if target.suffix.lower() != ".png":
        raise InputError(f"--out {target}: the figure is a PNG; give a name ending in .png")
    images = read_run_images(captioner, [path])
    caption = captioner.caption(images, beam_size)[0]
    image = images[0].numpy()
    image = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    words = caption.tokens + ["<eos>"] * (len(caption.attention) - len(caption.tokens))
    figure = attention_figure(image, words, np.asarray(caption.attention),
                              f"{Path(path).name}: {caption.text}")
    save_figure(figure, target, dpi=90)
    return caption, target
