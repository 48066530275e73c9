"""Translation metrics through sacreBLEU (Post 2018): corpus BLEU (Papineni et al. 2002) and
chrF (Popović 2015), on detokenised output against the raw reference sentences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnnkit.errors import InputError


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str | Sequence[str]],
                  lowercase: bool = False) -> dict[str, Any]:
    """Corpus BLEU and chrF (both 0-100) of detokenised ``hypotheses`` against the raw
    references, with sacreBLEU's default 13a tokenisation, and their signatures.

    Each entry of ``references`` is one reference (translation) or a list of them (captions:
    several per image, their number may vary).

    ``lowercase`` scores case-insensitively (BLEU and chrF), as when a model was trained on
    lower-cased text.

    Example:
        >>> round(corpus_scores(["A dog runs."], ["A dog runs."])["bleu"], 1)
        100.0
        >>> round(corpus_scores(["two dogs run on grass"],
        ...                     [["a dog runs", "two dogs run on grass"]])["bleu"], 1)
        100.0
    """
    from sacrebleu.metrics import BLEU, CHRF

    if len(hypotheses) != len(references):
        raise InputError(f"{len(hypotheses)} translations but {len(references)} references; "
                         "give one reference per source sentence")
    if not references:
        raise InputError("no sentences to score")
    bleu, chrf = BLEU(lowercase=lowercase), CHRF(lowercase=lowercase)
    per_output = [[r] if isinstance(r, str) else list(r) for r in references]
    if any(not refs for refs in per_output):
        raise InputError("an output has no reference; give at least one per output")
    width = max(len(refs) for refs in per_output)
    refs = [[row[k] if k < len(row) else None for row in per_output] for k in range(width)]
    b, c = bleu.corpus_score(list(hypotheses), refs), chrf.corpus_score(list(hypotheses), refs)
    return {"bleu": b.score, "chrf": c.score, "sentences": len(references),
            "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}
