"""DailyDialog chatbot: an attentional LSTM encoder-decoder reads the last 3 turns and writes
the reply; trained on train (duplicates removed, early stopping on validation loss), scored on
the de-duplicated test set without the dialogues that are also in train: per-token
perplexity, BLEU-2 and distinct-1/2 for greedy search, beam search with trigram blocking and
top-p sampling, beside a TF-IDF retrieval responder. Prints one JSON object.

    python benchmarks/dailydialog.py --max-minutes 8 --threads 2   # RNNKIT_DATA must be set

Published (Li et al. 2017; the issue's target): seq2seq baselines' perplexity in the low 30s.
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

from rnnkit.data.dialogues import build_pairs, deduplicate, read_dialogues, remove_overlap
from rnnkit.evaluate.dialogue import reply_scores
from rnnkit.models.decoder import Sampling
from rnnkit.models.summarizer import CHAT_CORPUS, CHAT_MODEL, Chatbot
from rnnkit.tasks.chat import Decoding, RetrievalResponder, converse
from rnnkit.train.device import resolve_device, set_cpu_threads
from rnnkit.train.settings import TrainSettings

CONVERSATION = ["Hi , how are you today ?", "I am looking for a new apartment .",
                "How much is the rent usually ?", "That is too expensive for me .",
                "Thank you for your help ."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-minutes", type=float, default=8.0, help="training budget")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--context-turns", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="first N dialogues per split")
    args = parser.parse_args()
    root = Path(os.environ.get("RNNKIT_DATA", "")) / "dailydialog"
    if not (root / "dialogues_train.txt").is_file():
        sys.exit(f"no DailyDialog at {root}: set RNNKIT_DATA to the shared datasets folder")
    set_cpu_threads(args.threads)
    device = resolve_device(args.device)

    def read(name):
        data = read_dialogues(root / f"dialogues_{name}.txt")
        return replace(data, dialogues=data.dialogues[: args.limit]) if args.limit else data

    train = deduplicate(read("train"))
    valid = remove_overlap(deduplicate(read("validation")), train)
    test = remove_overlap(deduplicate(read("test")), train)
    k = args.context_turns
    train_pairs, valid_pairs, test_pairs = (build_pairs(d, k) for d in (train, valid, test))

    bot = Chatbot(replace(CHAT_MODEL, hidden_size=args.hidden_size), replace(CHAT_CORPUS),
                  TrainSettings(epochs=100, batch_size=args.batch_size, lr=2e-3, clip=2.0,
                                patience=3, max_minutes=args.max_minutes, seed=0,
                                device=str(device)))
    start = time.perf_counter()
    fit = bot.fit(train_pairs, valid_pairs, progress=False)
    train_seconds = time.perf_counter() - start

    searches = {"greedy": {"beam_size": 1},
                "beam5_block3": {"beam_size": 5},
                "sample_top_p0.9": {"sampling": Sampling(top_p=0.9, seed=0)}}
    scores = {}
    for name, keywords in searches.items():
        t0 = time.perf_counter()
        replies = [s.text for s in bot.summarize(test_pairs.source, **keywords)]
        scores[name] = {**{m: round(v, 4) for m, v in
                           reply_scores(replies, test_pairs.target).items()},
                        "decode_seconds": round(time.perf_counter() - t0, 1),
                        "example": replies[0]}
    retrieval = RetrievalResponder(train_pairs)
    retrieved = retrieval.respond(test_pairs.source)
    scores["retrieval_tfidf"] = {m: round(v, 4) for m, v in
                                 reply_scores(retrieved, test_pairs.target).items()}
    perplexity = bot.perplexity(test_pairs.source, test_pairs.target)

    exchange = []
    said = iter(CONVERSATION)
    converse(bot, k, CONVERSATION, lambda r: exchange.append({"user": next(said), "bot": r}),
             Decoding(beam_size=5))
    beam, base = scores["beam5_block3"], scores["retrieval_tfidf"]
    print(json.dumps({
        "task": "DailyDialog reply generation, test (de-duplicated, train overlap removed)",
        "dialogues": {"train": len(train), "train_duplicates_removed": train.duplicates,
                      "valid": len(valid), "test": len(test),
                      "test_duplicates_removed": test.duplicates,
                      "test_overlap_removed": test.overlap},
        "pairs": {"train": len(train_pairs), "valid": len(valid_pairs),
                  "test": len(test_pairs)},
        "test_perplexity": round(perplexity, 2),
        "test": scores,
        "target": {"perplexity_below": 30, "published": "Li et al. 2017 seq2seq baselines: "
                   "perplexity in the low 30s",
                   "perplexity_met": perplexity < 30,
                   "distinct2_at_least_retrieval": beam["distinct2"] >= base["distinct2"],
                   "bleu2_above_retrieval": beam["bleu2"] > base["bleu2"]},
        "exchange_beam5": exchange,
        "epochs_run": fit.epochs_run, "best_epoch": fit.best_epoch,
        "val_loss_per_epoch": [round(v, 3) for v in fit.history["val_loss"]],
        "train_seconds": round(train_seconds, 1), "budget_minutes": args.max_minutes,
        "parameters": sum(p.numel() for p in bot.net.parameters()),
        "vocab": len(bot.side.vocab),
        "model": {"encoder": f"bi-LSTM({args.hidden_size})", "attention": "additive",
                  "context_turns": k, "copy": False, "max_context_tokens":
                  bot.config.max_source_tokens, "max_reply_tokens": bot.corpus_config.max_length},
        "device": str(device), "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
    }))


if __name__ == "__main__":
    main()
