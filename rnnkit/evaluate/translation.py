"""Translation metrics through sacreBLEU (Post 2018): corpus BLEU (Papineni et al. 2002) and
chrF (Popović 2015), on detokenised output against the raw reference sentences. `corpus_bleu`
is rnnkit's one BLEU (captions and chat replies are scored by it too)."""

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
    from sacrebleu.metrics import CHRF

    if len(hypotheses) != len(references):
        raise InputError(f"{len(hypotheses)} translations but {len(references)} references; "
                         "give one reference per source sentence")
    bleu, bleu_signature = corpus_bleu(hypotheses, references, lowercase=lowercase)
    chrf = CHRF(lowercase=lowercase)
    c = chrf.corpus_score(list(hypotheses), _streams(references))
    return {"bleu": bleu, "chrf": c.score, "sentences": len(references),
            "bleu_signature": bleu_signature, "chrf_signature": str(chrf.get_signature())}


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str | Sequence[str]],
                max_order: int = 4, tokenize: str = "13a",
                lowercase: bool = False) -> tuple[float, str]:
    """Corpus BLEU (0-100) with n-grams up to ``max_order`` and sacreBLEU's ``tokenize``
    (``"none"``: the texts are split on spaces as they are), and its signature. References
    as in `corpus_scores`.

    Example:
        >>> score, signature = corpus_bleu(["a dog runs"], ["a dog runs"], max_order=2)
        >>> round(score, 1), "nrefs:1" in signature
        (100.0, True)
    """
    from sacrebleu.metrics import BLEU

    if len(hypotheses) != len(references):
        raise InputError(f"{len(hypotheses)} outputs but {len(references)} references; give "
                         "one reference (or a list of them) per output")
    bleu = BLEU(lowercase=lowercase, max_ngram_order=max_order, tokenize=tokenize,
                force=tokenize == "none")
    score = bleu.corpus_score(list(hypotheses), _streams(references))
    return score.score, str(bleu.get_signature())


def _streams(references: Sequence[str | Sequence[str]]) -> list[list[str | None]]:
    """sacreBLEU's reference streams (stream k: every output's k-th reference, None where an
    output has fewer) from one reference or a list of them per output."""
    if not references:
        raise InputError("no sentences to score")
    per_output = [[r] if isinstance(r, str) else list(r) for r in references]
    if any(not refs for refs in per_output):
        raise InputError("an output has no reference; give at least one per output")
    width = max(len(refs) for refs in per_output)
    return [[row[k] if k < len(row) else None for row in per_output] for k in range(width)]
