"""A real captioning dataset that needs no download: scenes of handwritten digits.

scikit-learn ships 1,797 real 8x8 scans of handwritten digits (the UCI optical recognition of
handwritten digits test set, 43 writers). A scene places 1 to 5 of them on a dark canvas, each
scaled to a random size and put at a random height, left to right without overlap; its caption
names them in reading order ("three one four"). The scans are first split into disjoint train,
validation and test pools (stratified by digit), so test scenes hold only handwriting the model
never saw. Everything is fixed by the seed.

    scenes = digit_scenes("train", 20000, seed=0)
    scenes.images.shape, scenes.captions[0], scenes.scans[0]
    # (20000, 1, 32, 96), ['seven four'], [1203, 88]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from rnnkit.data.captions import CaptionSet
from rnnkit.errors import InputError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPLITS = ("train", "val", "test")


@dataclass
class SceneConfig:
    """How scenes are drawn (stored with a run so that its test scenes can be redrawn)."""

    height: int = 32  # canvas height in pixels
    width: int = 96  # canvas width in pixels
    min_digits: int = 1
    max_digits: int = 5
    min_size: int = 10  # a digit's side in pixels (the scans are 8x8)
    max_size: int = 18
    pools: tuple[float, float, float] = (0.75, 0.05, 0.20)  # share of scans per split

    def validate(self) -> None:
        """Raise `InputError` when the digits cannot fit or a setting is out of range."""
        if not 1 <= self.min_digits <= self.max_digits:
            raise InputError(f"digits per scene {self.min_digits}..{self.max_digits}; expected "
                             "1 <= min <= max")
        if not 4 <= self.min_size <= self.max_size <= self.height:
            raise InputError(f"digit sizes {self.min_size}..{self.max_size}; expected 4 <= min "
                             f"<= max <= height {self.height}")
        if self.max_digits * self.max_size > self.width:
            raise InputError(f"{self.max_digits} digits of {self.max_size} px do not fit a "
                             f"{self.width} px wide canvas")
        if len(self.pools) != 3 or min(self.pools) <= 0 or abs(sum(self.pools) - 1) > 1e-6:
            raise InputError(f"pools {self.pools}; expected three positive shares summing to 1")


@dataclass
class DigitScenes:
    """Scenes: images (N, 1, H, W) uint8, one caption each, and for each scene the indices of
    its scans in ``sklearn.datasets.load_digits()`` and their boxes (x, y, size)."""

    images: torch.Tensor
    captions: list[list[str]]
    scans: list[list[int]]
    boxes: list[list[tuple[int, int, int]]]
    split: str

    def caption_set(self) -> CaptionSet:
        """As a `CaptionSet` (names ``digits-<split>-<k>``)."""
        names = [f"digits-{self.split}-{k:05d}" for k in range(len(self.captions))]
        return CaptionSet(self.images, self.captions, names, f"digit scenes ({self.split})")


def scan_pools(labels: np.ndarray, pools: tuple[float, float, float],
               seed: int = 0) -> dict[str, np.ndarray]:
    """Disjoint train/val/test pools of scan indices, stratified by digit (fixed by seed)."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {s: [] for s in SPLITS}
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        cut1 = round(pools[0] * len(rows))
        cut2 = cut1 + round(pools[1] * len(rows))
        for split, chunk in zip(SPLITS, (rows[:cut1], rows[cut1:cut2], rows[cut2:]),
                                strict=True):
            parts[split].extend(chunk.tolist())
    return {s: np.sort(np.asarray(v, dtype=np.int64)) for s, v in parts.items()}


def _load_scans() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.astype(np.float32) / 16.0, digits.target.astype(np.int64)


def digit_scenes(split: str, n: int, config: SceneConfig | None = None,
                 seed: int = 0) -> DigitScenes:
    """``n`` scenes of ``split`` ("train", "val" or "test"), drawn from that split's scans.

    The pools are fixed by ``seed`` alone, so every split of one seed uses disjoint scans;
    the scenes of each split have their own random stream.
    """
    config = config or SceneConfig()
    config.validate()
    if split not in SPLITS:
        raise InputError(f"split {split!r}; choose one of {', '.join(SPLITS)}")
    if n < 1:
        raise InputError(f"{n} scenes; expected at least 1")
    scans, labels = _load_scans()
    pool = scan_pools(labels, config.pools, seed)[split]
    sizes = range(config.min_size, config.max_size + 1)
    scaled = {s: (F.interpolate(torch.from_numpy(scans[pool])[:, None], size=(s, s),
                                mode="bilinear", align_corners=False)[:, 0].clamp(0, 1) * 255)
              .round().to(torch.uint8).numpy() for s in sizes}
    rng = np.random.default_rng([seed, SPLITS.index(split), 7919])
    H, W = config.height, config.width
    images = np.zeros((n, 1, H, W), dtype=np.uint8)
    captions, chosen, boxes = [], [], []
    for k in range(n):
        count = int(rng.integers(config.min_digits, config.max_digits + 1))
        picks = rng.integers(0, len(pool), size=count)
        side = rng.integers(config.min_size, config.max_size + 1, size=count)
        gaps = rng.multinomial(W - int(side.sum()), np.ones(count + 1) / (count + 1))
        x, scene_boxes = int(gaps[0]), []
        for j in range(count):
            s = int(side[j])
            y = int(rng.integers(0, H - s + 1))
            patch = scaled[s][picks[j]]
            region = images[k, 0, y:y + s, x:x + s]
            np.maximum(region, patch, out=region)
            scene_boxes.append((x, y, s))
            x += s + int(gaps[j + 1])
        captions.append([" ".join(WORDS[labels[pool[p]]] for p in picks)])
        chosen.append([int(pool[p]) for p in picks])
        boxes.append(scene_boxes)
    return DigitScenes(torch.from_numpy(images), captions, chosen, boxes, split)
