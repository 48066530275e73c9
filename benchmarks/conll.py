"""CoNLL-2003 NER with a char BiLSTM + word BiLSTM-CRF tagger (GloVe 50d) under a time budget,
beside the majority-tag baseline; prints one JSON object.

    RNNKIT_DATA=/path/to/data python benchmarks/conll.py --max-minutes 10 --threads 2

Published test F1 (the data README): Lample et al. 2016 90.94 (100d vectors), Ma & Hovy 2016
91.21, Huang et al. 2015 84.26 without pretrained vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from rnnkit.data.conll import read_tagged
from rnnkit.evaluate.tagging import MajorityTagger, chunk_scores, token_accuracy
from rnnkit.models.tagger import TRAINING, Tagger, TaggerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-vectors", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(os.environ["RNNKIT_DATA"])
    train, dev, test = (read_tagged(root / "conll2003" / f"{name}.txt", "conll", 3)
                        for name in ("train", "valid", "test"))
    vectors = None if args.no_vectors else str(root / "glove" / "glove.6B.50d.txt.gz")
    config = TaggerConfig(embedding_dim=100 if vectors is None else 50, vectors=vectors)
    settings = replace(TRAINING, max_minutes=args.max_minutes, seed=args.seed)
    tagger = Tagger(config, settings)
    start = time.perf_counter()
    result = tagger.fit(train, dev, progress=False)
    seconds = time.perf_counter() - start
    baseline = MajorityTagger(train.tokens, train.tags)
    scores = {}
    for name, data in (("dev", dev), ("test", test)):
        predicted = tagger.predict(data.tokens)
        base = baseline.predict(data.tokens)
        scores[name] = {"f1": 100 * chunk_scores(data.tags, predicted)["f1"],
                        "accuracy": 100 * token_accuracy(data.tags, predicted),
                        "baseline_f1": 100 * chunk_scores(data.tags, base)["f1"],
                        "baseline_accuracy": 100 * token_accuracy(data.tags, base)}
    print(json.dumps({
        "benchmark": "conll2003 NER, entity F1 (conlleval counting)",
        "model": "char BiLSTM(25) + word BiLSTM(100) + CRF" + ("" if vectors is None
                                                              else ", GloVe 6B 50d"),
        "baseline": "majority tag per word",
        **scores,
        "published_test_f1": {"Lample 2016": 90.94, "Ma & Hovy 2016": 91.21,
                              "Huang 2015 (random embeddings)": 84.26},
        "vectors": tagger.vectors, "scheme": tagger.scheme,
        "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
        "out_of_time": result.out_of_time, "train_seconds": round(seconds, 1),
        "max_minutes": args.max_minutes, "threads": args.threads, "seed": args.seed,
    }))


if __name__ == "__main__":
    main()
