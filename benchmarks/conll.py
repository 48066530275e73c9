"""Sequence labelling under a time budget: a char BiLSTM + word BiLSTM-CRF tagger with GloVe 50d
beside the majority-tag baseline, on CoNLL-2003 NER (entity F1), CoNLL-2000 chunking (chunk
F1; validation carved from train) or UD English-EWT UPOS (token accuracy); one JSON object.

    RNNKIT_DATA=/path/to/data python benchmarks/conll.py --task ner --max-minutes 12 --threads 1

The recipe (Lample et al. 2016): char BiLSTM 25+25, word BiLSTM 100+100, dropout 0.5 on the
BiLSTM's input, CRF; words looked up lower-cased with digits as 0 (the characters keep the
case); chunk tags trained in IOBES (Ratinov & Roth 2009; scored as chunks, so the scheme does
not change what is counted); every GloVe word gets a row (``--vectors-vocab``), so a test word
that training never shows keeps its vector. ``--no-vectors`` (random 100d embeddings) and
``--output softmax`` (no CRF) are the comparisons the published tables make.

``--features 1`` adds CoNLL columns as inputs beside the word (each its own 20d embedding):
column 1 is the part of speech in CoNLL-2000 (and CoNLL-2003), which Huang et al. 2015's
94.46 and NCRF++ read for chunking. The default recipe reads the words alone, for every task,
so its figures stay comparable; the JSON records the columns read (``features``).

Published test figures (the data READMEs) are in the output beside the measured ones. One
thread by default: on the shared 2-core machine two threads wait on each other.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from rnnkit.data.conll import SCHEMES, TaggedSentences, read_tagged
from rnnkit.evaluate.tagging import MajorityTagger, chunk_scores, token_accuracy
from rnnkit.models.tagger import OUTPUTS, TRAINING, Tagger, TaggerConfig
from rnnkit.train.settings import LR_SCHEDULES


@dataclass(frozen=True)
class Task:
    """One benchmark: its data folder and files, the tag column, the score and the
    published test figures (percent)."""

    title: str
    folder: str
    train: str
    test: str
    dev: str | None  # None: carve ``DEV_SHARE`` of train
    column: int
    chunked: bool  # chunk F1 (conlleval); else token accuracy
    published: dict[str, float]


TASKS = {
    "ner": Task("conll2003 NER, entity F1 (conlleval counting)", "conll2003", "train.txt",
                "test.txt", "valid.txt", 3, True,
                {"Lample 2016 (100d vectors)": 90.94, "Ma & Hovy 2016": 91.21,
                 "Huang 2015 (random embeddings)": 84.26, "Lample 2016 (no vectors)": 83.63}),
    "chunk": Task("conll2000 chunking, chunk F1 (conlleval counting)", "conll2000", "train.txt",
                  "test.txt", None, 2, True,
                  {"Huang 2015 (random embeddings)": 94.13, "Huang 2015 (Senna + features)": 94.46,
                   "NCRF++": 95.06}),
    "pos": Task("UD English-EWT UPOS, token accuracy", "ud_ewt", "en-ud-train.upos.tsv",
                "en-ud-test.upos.tsv", "en-ud-dev.upos.tsv", 1, False,
                {"Plank 2016 (random embeddings)": 94.60, "Plank 2016 (Polyglot vectors)": 95.04}),
}
#: Share of the training sentences held out for early stopping when a task has no dev file.
DEV_SHARE = 0.1
#: GloVe 6B's words: all of them get a row (``--vectors-vocab``).
GLOVE_WORDS = 400_000


def read(task: Task, root: Path, seed: int, scheme: str | None = None,
         features: list[int] | None = None) -> tuple[TaggedSentences, ...]:
    """Train, dev and test sentences of ``task`` with the ``features`` columns, chunk tags
    converted to ``scheme`` (None: as read); a carved dev part keeps only sentences whose tags
    the rest of training has (the tagger refuses dev tags it never saw)."""
    folder = root / task.folder
    scheme = scheme if task.chunked else None
    train, test = (read_tagged(folder / name, "conll", task.column, scheme,
                               features=features or [])
                   for name in (task.train, task.test))
    if task.dev is not None:
        return train, read_tagged(folder / task.dev, "conll", task.column, scheme,
                                  features=features or []), test
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    cut = int(DEV_SHARE * len(order))
    kept, held = order[cut:], order[:cut]
    known = {tag for k in kept for tag in train.tags[k]}
    back = [k for k in held if not known.issuperset(train.tags[k])]  # a rare tag (I-PRT)
    held = [k for k in held if k not in back]
    return (train.subset(sorted(kept + back)),
            train.subset(sorted(held), f"{train.source} (held out)"), test)


def score(task: Task, gold: list[list[str]], predicted: list[list[str]]) -> float:
    """Chunk F1 or token accuracy, in percent."""
    if task.chunked:
        return 100 * chunk_scores(gold, predicted)["f1"]
    return 100 * token_accuracy(gold, predicted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="ner")
    parser.add_argument("--max-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-vectors", action="store_true",
                        help="random 100d word embeddings instead of GloVe 50d")
    parser.add_argument("--vectors-vocab", type=int, default=GLOVE_WORDS,
                        help="the GloVe file's most frequent words that get a row (0: the "
                             "training words only)")
    parser.add_argument("--freeze-vectors", action="store_true",
                        help="keep the training words' GloVe rows fixed too")
    parser.add_argument("--output", choices=OUTPUTS, default="crf")
    parser.add_argument("--scheme", choices=[*SCHEMES, "asread"], default="iobes",
                        help="chunk scheme the tagger learns (asread: the file's own)")
    parser.add_argument("--features", type=lambda text: [int(c) for c in text.split(",")],
                        default=[], help="CoNLL columns read as inputs beside the word, "
                                         "0-based, comma-separated (1: part of speech)")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None,
                        help="default: the tagger's")
    parser.add_argument("--patience", type=int, default=None, help="default: the tagger's")
    parser.add_argument("--hidden-size", type=int, default=None,
                        help="word BiLSTM units per direction (default: the tagger's)")
    parser.add_argument("--feature-dim", type=int, default=None,
                        help="width of each feature column's embedding (default: the tagger's)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = TASKS[args.task]
    root = Path(os.environ["RNNKIT_DATA"])
    train, dev, test = read(task, root, args.seed, None if args.scheme == "asread" else args.scheme,
                            args.features)
    vectors = None if args.no_vectors else str(root / "glove" / "glove.6B.50d.txt.gz")
    config = TaggerConfig(embedding_dim=100 if vectors is None else 50, vectors=vectors,
                          vectors_vocab=args.vectors_vocab, output=args.output,
                          freeze_vectors=args.freeze_vectors)
    config = replace(config, **{k: v for k, v in (("hidden_size", args.hidden_size),
                                                  ("feature_dim", args.feature_dim))
                                if v is not None})
    settings = replace(TRAINING, max_minutes=args.max_minutes, seed=args.seed,
                       device=args.device, lr_schedule=args.lr_schedule or TRAINING.lr_schedule,
                       patience=args.patience or TRAINING.patience)
    tagger = Tagger(config, settings)
    start = time.perf_counter()
    result = tagger.fit(train, dev, progress=False)
    seconds = time.perf_counter() - start
    baseline = MajorityTagger(train.tokens, train.tags)
    metric = "f1" if task.chunked else "accuracy"
    scores = {}
    for name, data in (("dev", dev), ("test", test)):
        predicted = tagger.predict(data.tokens, features=data.features)
        base = baseline.predict(data.tokens)
        scores[name] = {metric: round(score(task, data.tags, predicted), 2),
                        f"baseline_{metric}": round(score(task, data.tags, base), 2)}
        if task.chunked:
            scores[name]["accuracy"] = round(100 * token_accuracy(data.tags, predicted), 2)
    print(json.dumps({
        "benchmark": task.title, "task": args.task,
        "model": f"char BiLSTM(25) + word BiLSTM({config.hidden_size}) + {args.output.upper()}"
                 + ("" if vectors is None else ", GloVe 6B 50d")
                 + (f", feature columns {args.features} ({config.feature_dim}d)"
                    if args.features else ""),
        "baseline": "majority tag per word",
        "train_sentences": len(train), "dev_sentences": len(dev), "dev_file": dev.source,
        **scores,
        f"published_test_{metric}": task.published,
        "vectors": tagger.vectors, "scheme": tagger.scheme,
        "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
        "dev_score_per_epoch": [round(100 * s, 2) for s in result.history.get("val_score", [])],
        "out_of_time": result.out_of_time, "train_seconds": round(seconds, 1),
        "max_minutes": args.max_minutes, "threads": args.threads, "seed": args.seed,
        "device": str(tagger.device), "vectors_vocab": 0 if vectors is None else args.vectors_vocab,
        "freeze_vectors": args.freeze_vectors,
        "features": args.features, "feature_dim": config.feature_dim if args.features else None,
        "lr_schedule": settings.lr_schedule, "patience": settings.patience,
    }))


if __name__ == "__main__":
    main()
