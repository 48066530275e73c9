"""AESLC email subject lines: seq2seq with attention, + copy, + copy + coverage, trained on
train (early stopping on dev loss), ROUGE-1/2/L on test against the three annotated subjects,
beside the lead baseline (first N words, N tuned on dev). Prints one JSON object.

    python benchmarks/aeslc.py --max-minutes 8 --threads 2     # RNNKIT_DATA must be set

``--max-minutes`` is the training budget of each model (no epoch starts that would end past
it). Published (Zhang & Tetreault 2019, test, annotated subjects): 23.67 / 10.29 / 23.44.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from rnnkit.data.summaries import read_aeslc
from rnnkit.evaluate.summaries import rouge_scores
from rnnkit.models.summarizer import CORPUS, Summarizer, SummarizerConfig
from rnnkit.tasks.summarize import lead, score_corpus, tune_lead
from rnnkit.train.device import resolve_device, set_cpu_threads
from rnnkit.train.settings import TrainSettings

VARIANTS = {"attention": (False, False), "copy": (True, False), "copy+coverage": (True, True)}
PUBLISHED = {"system": "Zhang & Tetreault 2019 best (extract-then-abstract + RL)",
             "rouge1": 23.67, "rouge2": 10.29, "rougeL": 23.44}


def rounded(scores: dict) -> dict:
    return {k: {w: round(v, 2) for w, v in ways.items()} for k, ways in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-minutes", type=float, default=8.0,
                        help="training budget of each model")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-source-tokens", type=int, default=100)
    parser.add_argument("--limit", type=int, default=0, help="first N emails per split (0: all)")
    args = parser.parse_args()
    root = Path(os.environ.get("RNNKIT_DATA", "")) / "aeslc" / "enron_subject_line"
    if not (root / "train").is_dir():
        sys.exit(f"no AESLC at {root}: set RNNKIT_DATA to the shared datasets folder")
    set_cpu_threads(args.threads)
    device = resolve_device(args.device)
    splits = {}
    for name in ("train", "dev", "test"):
        corpus = read_aeslc(root / name)
        if args.limit:
            corpus = replace(corpus, source=corpus.source[: args.limit],
                             target=corpus.target[: args.limit],
                             references=corpus.references[: args.limit])
        splits[name] = corpus
    train, dev, test = splits["train"], splits["dev"], splits["test"]

    n, dev_lead = tune_lead(dev)
    test_lead = rouge_scores([lead(s, n) for s in test.source], test.references)
    results = {}
    example = None
    for name in args.variants.split(","):
        copy, coverage = VARIANTS[name]
        config = SummarizerConfig(hidden_size=args.hidden_size, copy=copy, coverage=coverage,
                                  max_source_tokens=args.max_source_tokens)
        training = TrainSettings(epochs=100, batch_size=args.batch_size, lr=2e-3, clip=2.0,
                                 patience=3, max_minutes=args.max_minutes, seed=0,
                                 device=str(device))
        model = Summarizer(config, replace(CORPUS), training)
        start = time.perf_counter()
        fit = model.fit(train, dev, progress=False)
        seconds = time.perf_counter() - start
        t0 = time.perf_counter()
        scores = score_corpus(model, test, n)
        decode = time.perf_counter() - t0
        results[name] = {
            "test": rounded(scores["model"]), "verdict": scores["verdict"],
            "test_perplexity": round(model.perplexity(test.source, test.target), 2),
            "epochs_run": fit.epochs_run, "best_epoch": fit.best_epoch,
            "train_seconds": round(seconds, 1), "decode_seconds": round(decode, 1),
            "val_loss_per_epoch": [round(v, 3) for v in fit.history["val_loss"]],
            "parameters": sum(p.numel() for p in model.net.parameters()),
            "examples": [{"body": test.source[k][:200], "model": scores["outputs"][k],
                          "references": test.references[k]} for k in range(3)],
        }
        if copy:
            for k in range(min(200, len(test))):  # a real summary with a copied word
                s = model.explain(test.source[k])
                if any(s.copied) and len(s.tokens) > 1:
                    marked = " ".join(f"[{w}]" if c else w
                                      for w, c in zip(s.tokens, s.copied, strict=True))
                    example = {"variant": name, "body": test.source[k][:300],
                               "summary_copied_in_brackets": marked,
                               "p_gen": [round(p, 2) for p in s.p_gen[: len(s.tokens)]],
                               "references": test.references[k]}
                    break
    best = max(results, key=lambda k: results[k]["test"]["rouge1"]["mean"])
    print(json.dumps({
        "task": "AESLC email body -> subject, test (annotated subjects ann0-2)",
        "texts": {k: len(v) for k, v in splits.items()},
        "scoring": "rouge-score F1 x100, Porter stemmer; 'mean' = mean over the references, "
                   "'best' = best reference; averaged over emails",
        "models": results,
        "lead": {"n_tuned_on_dev": n, "dev": rounded(dev_lead), "test": rounded(test_lead)},
        "best_variant": best,
        "target_rouge1": 23.7, "published": PUBLISHED,
        "best_reaches_target": results[best]["test"]["rouge1"]["mean"] >= 23.7,
        "best_beats_lead": results[best]["test"]["rouge1"]["mean"]
        > test_lead["rouge1"]["mean"],
        "copy_example": example,
        "budget_minutes_per_model": args.max_minutes,
        "model": {"encoder": f"bi-LSTM({args.hidden_size})", "attention": "additive",
                  "embedding_dim": SummarizerConfig().embedding_dim,
                  "max_source_tokens": args.max_source_tokens, "beam": 4,
                  "no_repeat_ngram": 3, "vocab": "shared, lower-cased, min_freq 2, <= 20000"},
        "device": str(device), "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
    }))


if __name__ == "__main__":
    main()
