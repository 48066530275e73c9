"""Summary metrics: ROUGE-1/2/L (Lin 2004) through Google's ``rouge-score``, F1 x 100, with
its Porter stemmer (pure code from nltk: nothing is downloaded) and without ``rougeLsum`` (the
one part that needs nltk's sentence-splitter data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnnkit.errors import InputError

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]
                 ) -> dict[str, Any]:
    """ROUGE-1/2/L F1 (x 100) of each hypothesis against all its references, averaged over
    the texts two ways: ``mean`` (each text's mean over its references) and ``best`` (each
    text's best reference).

    Example:
        >>> s = rouge_scores(["meeting confirmed"], [["meeting confirmation", "lunch"]])
        >>> round(s["rouge1"]["best"], 1), round(s["rouge1"]["mean"], 1)
        (100.0, 50.0)
    """
    from rouge_score import rouge_scorer

    if len(hypotheses) != len(references):
        raise InputError(f"{len(hypotheses)} outputs but {len(references)} reference lists")
    if not hypotheses:
        raise InputError("no texts to score")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    sums = {kind: {"mean": 0.0, "best": 0.0} for kind in ROUGE_TYPES}
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        if not refs:
            raise InputError("an output has no reference; give at least one")
        each = [scorer.score(ref, hypothesis) for ref in refs]
        for kind in ROUGE_TYPES:
            f1 = [s[kind].fmeasure for s in each]
            sums[kind]["mean"] += sum(f1) / len(f1)
            sums[kind]["best"] += max(f1)
    n = len(hypotheses)
    return {kind: {way: 100 * v / n for way, v in ways.items()} for kind, ways in sums.items()}
