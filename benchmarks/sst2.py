"""SST-2 sentiment with rnnkit's default text classifier, trained from scratch; one JSON object.

Usage: RNNKIT_DATA=../shared/data python benchmarks/sst2.py [--seeds 0 1 2] [--ensemble 2]

For each seed: the default `TextClassifier` (what ``rnnkit classify train`` builds) with
``--ensemble`` networks (default 2: two independently initialised 2-layer BiLSTMs trained
side by side, probabilities averaged; 1 = the single default network) is trained on
``sst2/train.tsv`` (67,349 phrases) through the shared Lightning glue within ``--max-minutes``
(15), keeping the epoch with the best dev accuracy, and scored on the 872 dev sentences.
Within a budget the benchmark uses all of it (``--patience 0``, the default: no early stop
before the budget or ``--epochs`` ends); ``--patience 3`` is the library's default. The word
vectors start random unless ``--vectors`` (``glove``: GloVe 6B 50d) starts the embedding from
them: the vectors fill the first columns (50 for GloVe) of the ``--embedding-dim`` (default 128,
the classifier's), the others start random; ``--freeze-vectors`` keeps the pretrained entries fixed.
Reports each seed's dev accuracy, macro-F1 and training seconds, their mean, and the
model's size. Published LSTM figures on SST binary (Tai et al. 2015, test set, with pretrained
GloVe vectors): 84.9 (LSTM), 86.3 (2-layer LSTM).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from rnnkit.data.text import label_indices, read_text_table
from rnnkit.models.classifier import ClassifierConfig, TextClassifier
from rnnkit.tasks.classify import classification_metrics
from rnnkit.train.device import set_cpu_threads
from rnnkit.train.settings import LR_SCHEDULES, PRECISIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: the classifier's")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ensemble", type=int, default=2,
                        help="networks trained side by side, probabilities averaged")
    parser.add_argument("--max-minutes", type=float, default=15.0,
                        help="training budget per seed (the issue's 15 minutes)")
    parser.add_argument("--lr-schedule", default=None, choices=LR_SCHEDULES,
                        help="default: the classifier's")
    parser.add_argument("--patience", type=int, default=0,
                        help="epochs without a better dev accuracy before stopping; 0 (the "
                             "default): none, train until the budget or --epochs ends")
    parser.add_argument("--precision", default="32", choices=PRECISIONS,
                        help="Lightning's training precision (bf16-mixed: where supported)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--vectors", default=None,
                        help="pretrained word vectors; 'glove': $RNNKIT_DATA/glove/"
                             "glove.6B.50d.txt.gz (they fill the embedding's first columns)")
    parser.add_argument("--embedding-dim", type=int, default=ClassifierConfig.embedding_dim,
                        help="numbers per word (default: the classifier's); at least the "
                             "vectors' size, the columns beyond it start random")
    parser.add_argument("--freeze-vectors", action="store_true",
                        help="keep the pretrained entries fixed (the extra columns train)")
    args = parser.parse_args()
    set_cpu_threads(args.threads)
    folder = Path(os.environ["RNNKIT_DATA"]) / "sst2"
    vectors = args.vectors
    if vectors == "glove":
        vectors = str(Path(os.environ["RNNKIT_DATA"]) / "glove" / "glove.6B.50d.txt.gz")
    train = read_text_table(folder / "train.tsv")
    dev = read_text_table(folder / "dev.tsv")

    runs = []
    for seed in args.seeds:
        clf = TextClassifier()
        clf.train_config.seed = seed
        clf.train_config.max_minutes = args.max_minutes
        clf.train_config.precision = args.precision
        clf.train_config.device = args.device
        clf.config.ensemble = args.ensemble
        if vectors is not None:
            clf.config.vectors, clf.config.freeze_vectors = vectors, args.freeze_vectors
        clf.config.embedding_dim = args.embedding_dim
        if args.epochs is not None:
            clf.train_config.epochs = args.epochs
        if args.lr_schedule is not None:
            clf.train_config.lr_schedule = args.lr_schedule
        clf.train_config.patience = args.patience or None
        start = time.perf_counter()
        result = clf.fit(train, dev, progress=False)
        seconds = time.perf_counter() - start
        y_dev = label_indices(dev, clf.classes)
        metrics = classification_metrics(y_dev, clf.predict_proba(dev.texts).argmax(1),
                                         clf.classes)
        runs.append({
            "seed": seed, "dev_accuracy": round(100 * metrics["accuracy"], 2),
            "dev_macro_f1": round(100 * metrics["macro_f1"], 2),
            "epochs_run": len(result.history["train_loss"]), "best_epoch": result.best_epoch,
            "dev_accuracy_per_epoch": [round(100 * s, 2) for s in result.history["val_score"]],
            "train_seconds": round(seconds, 1), "out_of_time": result.out_of_time,
            "precision": result.precision,
        })
        print(json.dumps(runs[-1]), file=sys.stderr)  # each seed as it ends; stdout: the summary
    accuracies = [r["dev_accuracy"] for r in runs]
    print(json.dumps({
        "data": {"train": len(train), "dev": len(dev)},
        "embedding_dim": clf.config.embedding_dim,
        "model": {**asdict(clf.config), "parameters": sum(p.numel() for p in clf.net.parameters())},
        "train": {k: v for k, v in asdict(clf.train_config).items() if k != "seed"},
        "runs": runs,
        "mean_dev_accuracy": round(statistics.mean(accuracies), 2),
        "std_dev_accuracy": round(statistics.stdev(accuracies), 2) if len(runs) > 1 else 0.0,
        "mean_train_seconds": round(statistics.mean(r["train_seconds"] for r in runs), 1),
        "machine": {"cpu_threads": args.threads, "cpus": os.cpu_count(),
                    "torch": torch.__version__, "python": platform.python_version()},
        "reference": {"tai_2015_lstm_glove": 84.9, "tai_2015_2layer_lstm_glove": 86.3},
        "vectors": clf.vectors,
        "target": {"mean_dev_accuracy": ">= 87.5 with GloVe-50d, >= 85.0 without",
                   "train_minutes": "<= 15"},
    }))


if __name__ == "__main__":
    main()
