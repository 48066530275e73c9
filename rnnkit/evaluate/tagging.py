"""Scores of sequence labelling: chunk (entity) precision, recall and F1 per type and overall
as conlleval counts them, token accuracy, and the confusion between types.

Written here rather than taken from seqeval (not a dependency): conlleval's counting is a
few rules (`rnnkit.data.conll.chunks`). A chunk counts as correct when a predicted chunk has
the same type, start and end as a gold one; precision = correct / predicted chunks, recall =
correct / gold chunks, F1 their harmonic mean (0 where undefined, as conlleval prints it);
token accuracy counts tokens whose whole tag (prefix and type) is right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.data.conll import chunks, split_tag
from rnnkit.errors import InputError


def _prf(correct: int, found: int, gold: int) -> dict[str, float]:
    precision = correct / found if found else 0.0
    recall = correct / gold if gold else 0.0
    total = precision + recall
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / total if total else 0.0}


def _check(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(predicted):
        raise InputError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    for k, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise InputError(f"sentence {k}: {len(g)} gold tags but {len(p)} predicted")


def chunk_scores(gold: Sequence[Sequence[str]],
                 predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    """conlleval's chunk scores of ``predicted`` against ``gold`` tag sentences (any chunk
    scheme; each sentence ends every chunk): overall ``precision``, ``recall``, ``f1``, the
    counts (``gold_chunks``, ``predicted_chunks``, ``correct_chunks``) and ``per_type``
    (the same per chunk type, with ``support``: its gold chunks).

    >>> s = chunk_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
    >>> round(s["f1"], 3), s["per_type"]["PER"]["f1"], s["per_type"]["LOC"]["recall"]
    (0.5, 1.0, 0.0)
    """
    _check(gold, predicted)
    found_gold, found_pred, correct = Counter(), Counter(), Counter()
    for g, p in zip(gold, predicted, strict=True):
        gold_chunks, pred_chunks = set(chunks(g)), set(chunks(p))
        found_gold.update(c[0] for c in gold_chunks)
        found_pred.update(c[0] for c in pred_chunks)
        correct.update(c[0] for c in gold_chunks & pred_chunks)
    totals = (sum(correct.values()), sum(found_pred.values()), sum(found_gold.values()))
    per_type = {kind: {**_prf(correct[kind], found_pred[kind], found_gold[kind]),
                       "support": found_gold[kind], "predicted": found_pred[kind]}
                for kind in sorted(found_gold | found_pred)}
    return {**_prf(*totals), "correct_chunks": totals[0], "predicted_chunks": totals[1],
            "gold_chunks": totals[2], "per_type": per_type}


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """The share of tokens whose predicted tag equals the gold tag.

    >>> token_accuracy([["DET", "NOUN"], ["VERB"]], [["DET", "VERB"], ["VERB"]])
    0.6666666666666666
    """
    _check(gold, predicted)
    pairs = [(a, b) for g, p in zip(gold, predicted, strict=True)
             for a, b in zip(g, p, strict=True)]
    return sum(a == b for a, b in pairs) / max(len(pairs), 1)


def type_confusion(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                   chunked: bool = True) -> tuple[list[str], np.ndarray]:
    """Token by token, which type was predicted for which gold type: (names, counts) with
    ``counts[i, j]`` the tokens of gold type i predicted as j. With ``chunked`` the type of
    a tag is its chunk type (``B-PER`` and ``I-PER`` are ``PER``; ``O`` stays ``O``), else
    the tag itself (part of speech)."""
    _check(gold, predicted)

    def kind(tag: str) -> str:
        return tag if not chunked or tag == "O" else split_tag(tag)[1]

    pairs = [(kind(a), kind(b)) for g, p in zip(gold, predicted, strict=True)
             for a, b in zip(g, p, strict=True)]
    names = sorted({n for pair in pairs for n in pair} - {"O"})
    names += ["O"] if any("O" in pair for pair in pairs) else []
    index = {n: k for k, n in enumerate(names)}
    counts = np.zeros((len(names), len(names)), dtype=int)
    for a, b in pairs:
        counts[index[a], index[b]] += 1
    return names, counts


def tagging_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                   chunked: bool) -> dict[str, Any]:
    """Everything a tagging run reports: sentence and token counts, token ``accuracy``, the
    type confusion (``types``, ``confusion_matrix``) and, for chunk tags (``chunked``), the
    conlleval scores of `chunk_scores`."""
    names, counts = type_confusion(gold, predicted, chunked)
    result: dict[str, Any] = {"sentences": len(gold), "tokens": sum(len(g) for g in gold),
                              "accuracy": token_accuracy(gold, predicted)}
    if chunked:
        result.update(chunk_scores(gold, predicted))
    return {**result, "types": names, "confusion_matrix": counts.tolist()}


class MajorityTagger:
    """The baseline: every word gets the tag it had most often in training; words never seen
    get the most frequent tag of all (``O`` in entity data). Ties go to the tag seen first.

    >>> MajorityTagger([["the", "EU", "says"]], [["O", "B-ORG", "O"]]).predict([["EU", "now"]])
    [['B-ORG', 'O']]
    """

    def __init__(self, sentences: Sequence[Sequence[str]],
                 tags: Sequence[Sequence[str]]) -> None:
        counts: dict[str, Counter] = {}
        overall: Counter = Counter()
        for words, labels in zip(sentences, tags, strict=True):
            for word, tag in zip(words, labels, strict=True):
                counts.setdefault(word, Counter())[tag] += 1
                overall[tag] += 1
        self.best = {word: c.most_common(1)[0][0] for word, c in counts.items()}
        self.default = overall.most_common(1)[0][0] if overall else "O"

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """The majority tag of each word of each sentence."""
        return [[self.best.get(word, self.default) for word in words] for words in sentences]
