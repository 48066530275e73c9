"""Choose SST-2 training settings without looking at the dev set: a held-out slice of train.tsv.

Usage: RNNKIT_DATA=../shared/data python benchmarks/sst2_tune.py [--schedule constant|cosine]
       [--ema 0.998 0.999 0.9995] [--epochs 12] [--seed 0] [--holdout 800]

SST-2's ``train.tsv`` holds phrases of the training sentences, so a random slice of it would
share words and whole sub-phrases with what is left. The held-out slice here is ``--holdout``
random phrases of at least 15 tokens (mostly whole sentences, like the dev set); every training
phrase that is a part of one of them, or contains one, is dropped from training. The default
classifier is then trained on what remains with a plain loop mirroring `rnnkit.train.fit`
(Adam, the global gradient norm clipped, same batches), and after each epoch the raw weights
and each exponential moving average of them (``--ema`` decays) are scored on the held-out
slice (used to choose) and on dev (only reported). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.data.text import (
    TextTable,
    Vocab,
    build_tokenizer,
    encode_texts,
    label_classes,
    label_indices,
    read_text_table,
    text_loader,
)
from rnnkit.models.classifier import TRAINING, ClassifierConfig, SequenceClassifier
from rnnkit.train.device import set_cpu_threads


def split_holdout(train: TextTable, size: int, min_tokens: int = 15,
                  seed: int = 0) -> tuple[TextTable, TextTable]:
    """(rest, held out): ``size`` random phrases of ``min_tokens``+ tokens held out, and every
    phrase that is a contiguous part of one of them, or contains one, removed from the rest."""
    norm = [" ".join(text.split()) for text in train.texts]
    long = [k for k, text in enumerate(norm) if len(text.split()) >= min_tokens]
    held = set(random.Random(seed).sample(long, size))
    held_texts = {norm[k] for k in held}
    parts = set()  # every contiguous token span of a held-out phrase
    for text in held_texts:
        words = text.split()
        parts.update(" ".join(words[i:j]) for i in range(len(words))
                     for j in range(i + 1, len(words) + 1))

    def contains_held(text: str) -> bool:
        words = text.split()
        n = len(words)
        return n >= min_tokens and any(" ".join(words[i:j]) in held_texts
                                       for i in range(n) for j in range(i + min_tokens, n + 1))

    keep = [k for k, text in enumerate(norm)
            if k not in held and text not in parts and not contains_held(text)]
    labels = train.labels or []

    def table(rows: list[int], source: str) -> TextTable:
        return TextTable([train.texts[k] for k in rows], [labels[k] for k in rows],
                         [train.lines[k] for k in rows], source)

    return table(keep, f"{train.source} (rest)"), table(sorted(held), f"{train.source} (held)")


@torch.no_grad()
def accuracy(model: nn.Module, batches: list, count: int) -> float:
    """Accuracy (%) of ``model`` in eval mode over ``batches`` of ((x, n), y)."""
    model.eval()
    correct = sum(int((model(x, n).argmax(-1) == y).sum()) for (x, n), y in batches)
    model.train()
    return round(100 * correct / count, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schedule", choices=("constant", "cosine"), default="constant")
    parser.add_argument("--ema", type=float, nargs="*", default=[0.998, 0.999, 0.9995])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holdout", type=int, default=800)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    set_cpu_threads(args.threads)
    folder = Path(os.environ["RNNKIT_DATA"]) / "sst2"
    rest, held = split_holdout(read_text_table(folder / "train.tsv"), args.holdout)
    dev = read_text_table(folder / "dev.tsv")

    c, t = ClassifierConfig(), replace(TRAINING, seed=args.seed, epochs=args.epochs)
    classes = label_classes(rest.labels or [])
    tokenizer = build_tokenizer(c.tokenizer, rest.texts, c.lowercase, c.bpe_vocab_size)
    tokens = [tokenizer.tokenize(text) for text in rest.texts]
    vocab = Vocab.build(tokens, c.min_freq, c.max_vocab)
    c.vocab_size, c.num_classes = len(vocab), len(classes)
    torch.manual_seed(t.seed)
    model = SequenceClassifier(c)
    loader = text_loader([vocab.encode(s) for s in tokens], label_indices(rest, classes),
                         t.batch_size, shuffle=True, seed=t.seed)
    scored = {name: (list(text_loader(encode_texts(table.texts, tokenizer, vocab),
                                      label_indices(table, classes), 256, shuffle=False)),
                     len(table.texts)) for name, table in (("held", held), ("dev", dev))}
    torch.manual_seed(t.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    params = [p for p in model.parameters()]
    shadows = {d: [p.detach().clone() for p in params] for d in args.ema}
    total, step = args.epochs * len(loader), 0
    history: dict[str, dict[str, list[float]]] = {}
    start = time.perf_counter()
    for _ in range(args.epochs):
        for (x, n), y in loader:
            if args.schedule == "cosine":
                for group in optimizer.param_groups:
                    group["lr"] = t.lr * 0.5 * (1 + math.cos(math.pi * step / total))
            loss = F.cross_entropy(model(x, n), y)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, t.clip)
            optimizer.step()
            step += 1
            for decay, shadow in shadows.items():
                d = min(decay, (1 + step) / (10 + step))
                torch._foreach_lerp_(shadow, [p.detach() for p in params], 1 - d)
        variants: dict[str, list[Tensor] | None] = {"raw": None}
        variants.update({f"ema{d}": s for d, s in shadows.items()})
        for name, weights in variants.items():
            saved = [p.detach().clone() for p in params]
            if weights is not None:
                torch._foreach_copy_([p.data for p in params], weights)
            for split, (batches, count) in scored.items():
                history.setdefault(name, {}).setdefault(split, []).append(
                    accuracy(model, batches, count))
            torch._foreach_copy_([p.data for p in params], saved)
        print(json.dumps({"epoch": len(history["raw"]["held"]),
                          "seconds": round(time.perf_counter() - start),
                          **{k: [v["held"][-1], v["dev"][-1]] for k, v in history.items()}}),
              flush=True)
    print(json.dumps({"schedule": args.schedule, "seed": args.seed, "epochs": args.epochs,
                      "train_rest": len(rest.texts), "held_out": len(held.texts),
                      "seconds": round(time.perf_counter() - start, 1), "history": history}))


if __name__ == "__main__":
    main()
