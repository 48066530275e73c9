"""Character-level language model on the English captions of Multi30k: train on train.en,
report bits per character on val.en beside n-gram baselines, the training time and three
samples. Prints one JSON object.

    nice python benchmarks/charlm.py --minutes 15          # RNNKIT_DATA must be set

Training starts no epoch that would end past ``--minutes`` and keeps the epoch with the lowest
validation loss. The baselines are character n-gram models with add-k smoothing (k = 0.01,
counted on the training text): what the LSTM's memory must beat.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import torch

from rnnkit.models.language_model import TRAINING, LanguageModel, LanguageModelConfig
from rnnkit.tasks.generate import read_text
from rnnkit.train.device import set_cpu_threads
from rnnkit.train.settings import PRECISIONS


def ngram_bits_per_char(train: str, valid: str, n: int, k: float = 0.01) -> float:
    """Bits per character of ``valid`` under an add-k smoothed character n-gram model."""
    alphabet = len(set(train) | set(valid))
    grams = Counter(train[i:i + n] for i in range(len(train) - n + 1))
    contexts = Counter(train[i:i + n - 1] for i in range(len(train) - n + 2)) if n > 1 else None
    total, bits = len(train), 0.0
    for i in range(n - 1, len(valid)):
        gram = valid[i - n + 1:i + 1]
        seen = contexts[gram[:-1]] if contexts is not None else total
        bits -= math.log2((grams[gram] + k) / (seen + k * alphabet))
    return bits / (len(valid) - n + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="training time budget")
    parser.add_argument("--epochs", type=int, default=30, help="upper bound")
    parser.add_argument("--hidden-size", type=int, default=None)
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="32", choices=PRECISIONS,
                        help="Lightning's training precision (bf16-mixed: where supported)")
    args = parser.parse_args()
    root = Path(os.environ.get("RNNKIT_DATA", "")) / "multi30k"
    if not (root / "train.en.gz").is_file():
        sys.exit(f"no Multi30k at {root}: set RNNKIT_DATA to the shared datasets folder")
    set_cpu_threads(args.threads)
    train, valid = read_text(root / "train.en.gz"), read_text(root / "val.en.gz")
    shape = {k: v for k, v in (("hidden_size", args.hidden_size),
                               ("num_layers", args.layers)) if v}
    model = LanguageModel(LanguageModelConfig(cell=args.cell, **shape),
                          replace(TRAINING, epochs=args.epochs, max_minutes=args.minutes,
                                  seed=args.seed, device=args.device,
                                  precision=args.precision))
    start = time.perf_counter()
    fit = model.fit(train, valid, progress=False)
    seconds = time.perf_counter() - start
    scores = model.evaluate(valid)
    prompts = ["A dog", "Two men", "A woman in a red"]
    samples = {p: p + model.sample(p, length=120, temperature=0.8, seed=k).text
               for k, p in enumerate(prompts)}
    print(json.dumps({
        "data": {"train_chars": len(train), "valid_chars": len(valid),
                 "vocab": len(model.vocab)},
        "model": {"cell": model.config.cell, "hidden_size": model.config.hidden_size,
                  "layers": model.config.num_layers,
                  "parameters": sum(p.numel() for p in model.net.parameters())},
        "training": {"seconds": round(seconds, 1), "budget_minutes": args.minutes,
                     "epochs_run": len(fit.history["train_loss"]),
                     "best_epoch": fit.best_epoch, "out_of_time": fit.out_of_time,
                     "precision": fit.precision,
                     "valid_loss_per_epoch": [round(v, 4) for v in fit.history["val_loss"]]},
        "valid": {"bits_per_char": round(scores["bits_per_char"], 4),
                  "perplexity": round(scores["perplexity"], 3),
                  "unknown_chars": scores["unknown_tokens"]},
        "baselines_bits_per_char": {f"{n}-gram": round(ngram_bits_per_char(train, valid, n), 4)
                                    for n in (1, 3, 5)},
        "samples_temperature_0.8": samples,
        "machine": {"cpu_threads": args.threads, "cpus": os.cpu_count(),
                    "torch": torch.__version__, "python": platform.python_version()},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
