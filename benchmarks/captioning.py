"""Image captioning on the built-in digit scenes: train the default captioner (CNN -> LSTM with
attention) within a time budget, report test exact match and BLEU-4 with greedy and beam-3
search. Prints one JSON object.

    nice python benchmarks/captioning.py --minutes 10        # no data download needed

Scenes hold 1-5 handwritten digits (scikit-learn's 8x8 scans); train, validation and test
scenes use disjoint scans, so the test measures reading handwriting never seen. Training keeps
the epoch with the best greedy exact match on the validation scenes and starts no epoch that
would end past ``--minutes``. Exact match is also broken down by the number of digits.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from dataclasses import replace

import torch

from rnnkit.data.digit_scenes import SceneConfig, digit_scenes
from rnnkit.evaluate.captioning import normalise
from rnnkit.models.captioner import TRAINING, CaptionerConfig, ImageCaptioner
from rnnkit.train.device import set_cpu_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    parser.add_argument("--epochs", type=int, default=40, help="upper bound")
    parser.add_argument("--train-scenes", type=int, default=20000)
    parser.add_argument("--valid-scenes", type=int, default=1000)
    parser.add_argument("--test-scenes", type=int, default=2000)
    parser.add_argument("--attention", default="additive")
    parser.add_argument("--no-augment", action="store_true", help="train on the scenes as drawn")
    parser.add_argument("--channels", default=None, help="e.g. 16,32,64")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    set_cpu_threads(args.threads)

    scene = SceneConfig()
    train = digit_scenes("train", args.train_scenes, scene, args.seed).caption_set()
    valid = digit_scenes("val", args.valid_scenes, scene, args.seed).caption_set()
    test = digit_scenes("test", args.test_scenes, scene, args.seed).caption_set()
    extra = {k: v for k, v in (("lr", args.lr), ("batch_size", args.batch_size)) if v}
    shape = {"channels": [int(c) for c in args.channels.split(",")]} if args.channels else {}
    captioner = ImageCaptioner(CaptionerConfig(attention=args.attention, monitor="exact",
                                               augment=not args.no_augment, **shape),
                               train=replace(TRAINING, epochs=args.epochs, seed=args.seed,
                                             device=args.device, max_minutes=args.minutes,
                                             **extra))
    start = time.perf_counter()
    fit = captioner.fit(train, valid, progress=False)
    train_seconds = time.perf_counter() - start

    results, digit_accuracy = {}, None
    for name, beam in (("greedy", 1), ("beam3", 3)):
        start = time.perf_counter()
        scores, captions = captioner.scores(test, beam_size=beam)
        by_count: dict[int, list[bool]] = defaultdict(list)
        for caption, refs in zip(captions, test.captions, strict=True):
            by_count[len(refs[0].split())].append(normalise(caption.text) == normalise(refs[0]))
        results[name] = {
            "exact_match": round(100 * scores["exact_match"], 2),
            "bleu4": round(scores["bleu"], 2), "chrf": round(scores["chrf"], 2),
            "exact_match_by_digits": {n: round(100 * sum(v) / len(v), 2)
                                      for n, v in sorted(by_count.items())},
            "seconds": round(time.perf_counter() - start, 1),
        }
        if beam == 1:
            digit_accuracy = _digit_accuracy([c.text for c in captions], test.captions)
    print(json.dumps({
        "data": {"train_scenes": len(train), "valid_scenes": len(valid),
                 "test_scenes": len(test), "scene": {"height": scene.height,
                                                     "width": scene.width,
                                                     "digits": [scene.min_digits,
                                                                scene.max_digits]}},
        "model": {"encoder": captioner.config.encoder, "channels": captioner.config.channels,
                  "augment": captioner.config.augment,
                  "attention": captioner.config.attention, "cell": captioner.config.cell,
                  "hidden_size": captioner.config.hidden_size,
                  "parameters": sum(p.numel() for p in captioner.net.parameters())},
        "training": {"seconds": round(train_seconds, 1), "budget_minutes": args.minutes,
                     "epochs_run": len(fit.history["train_loss"]), "best_epoch": fit.best_epoch,
                     "out_of_time": fit.out_of_time,
                     "valid_exact_match_per_epoch": [round(100 * s, 2)
                                                     for s in fit.history["val_score"]]},
        "test": results,
        "test_digit_accuracy_greedy": digit_accuracy,
        "target": {"exact_match": ">= 97 %", "train_minutes": "<= 10 on a 2-core CPU"},
        "machine": {"cpu_threads": args.threads, "cpus": os.cpu_count(),
                    "torch": torch.__version__, "python": platform.python_version()},
    }))


def _digit_accuracy(captions: list[str], references: list[list[str]]) -> float:
    """Share of digits named right, position by position (a caption of the wrong length
    counts only the positions it shares)."""
    right = total = 0
    for caption, refs in zip(captions, references, strict=True):
        said, truth = caption.split(), refs[0].split()
        total += len(truth)
        right += sum(a == b for a, b in zip(said, truth, strict=False))
    return round(100 * right / total, 2)


if __name__ == "__main__":
    main()
