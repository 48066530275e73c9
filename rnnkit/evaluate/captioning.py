"""Caption metrics: BLEU-4 against all references of each image (sacreBLEU) and exact match
(the caption equals one of the references, up to case, spacing and a final full stop)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rnnkit.errors import InputError
from rnnkit.evaluate.translation import corpus_scores


def normalise(text: str, lowercase: bool = True) -> str:
    """Spaces collapsed, a final full stop dropped and, with ``lowercase``, lower case."""
    text = re.sub(r"\s+", " ", text).strip().rstrip(".").strip()
    return text.lower() if lowercase else text


def exact_match(hypotheses: Sequence[str], references: Sequence[Sequence[str]],
                lowercase: bool = True) -> float:
    """Share (0-1) of hypotheses equal to one of their references (see `normalise`).

    Example:
        >>> exact_match(["three one", "four"], [["Three one."], ["five", "nine"]])
        0.5
    """
    if len(hypotheses) != len(references):
        raise InputError(f"{len(hypotheses)} captions but {len(references)} reference lists")
    if not hypotheses:
        raise InputError("no captions to score")
    hits = sum(normalise(h, lowercase) in {normalise(r, lowercase) for r in refs}
               for h, refs in zip(hypotheses, references, strict=True))
    return hits / len(hypotheses)


def caption_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]],
                   lowercase: bool = True) -> dict[str, Any]:
    """BLEU-4 and chrF (0-100, every reference of an image used) and exact match (0-1)."""
    scores = corpus_scores(hypotheses, references, lowercase)
    return {"bleu": scores["bleu"], "exact_match": exact_match(hypotheses, references,
                                                               lowercase),
            "chrf": scores["chrf"], "images": len(hypotheses),
            "bleu_signature": scores["bleu_signature"]}
