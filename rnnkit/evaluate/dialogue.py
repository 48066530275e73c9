"""Reply metrics of a chatbot: BLEU-2 against the reference replies (the corpus BLEU of
`rnnkit.evaluate.translation`, n-grams up to 2) and distinct-1/2 (Li et al. 2016), on the
words of `words`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rnnkit.errors import InputError
from rnnkit.evaluate.translation import corpus_bleu


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks of ``text`` (what distinct-n counts).

    >>> words("Fine, thanks. I'm OK")
    ['fine', ',', 'thanks', '.', "i'm", 'ok']
    """
    return re.findall(r"\w+(?:'\w+)?|[^\w\s]", text.lower())


def distinct(replies: Sequence[str], n: int) -> float:
    """distinct-n (Li et al. 2016): distinct n-grams / all n-grams over all replies (0 when
    there are none).

    Example:
        >>> distinct(["i do n't know", "i do n't know"], 2)
        0.5
    """
    grams = [tuple(w[k:k + n]) for w in map(words, replies) for k in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def reply_scores(replies: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """BLEU-2 (corpus level, n-grams up to 2) of the replies against the reference replies,
    distinct-1/2 and the mean number of words of the replies. Both sides are split by `words`
    first (DailyDialog's references come tokenised, the replies detokenised).

    Example:
        >>> s = reply_scores(["fine, thanks."], ["fine , thanks ."])
        >>> round(s["bleu2"], 1), s["distinct1"], s["mean_words"]
        (100.0, 1.0, 4.0)
    """
    if len(replies) != len(references) or not replies:
        raise InputError(f"{len(replies)} replies for {len(references)} references")
    hypotheses = [" ".join(words(r)) for r in replies]
    refs = [" ".join(words(r)) for r in references]
    bleu2, _ = corpus_bleu(hypotheses, refs, max_order=2, tokenize="none")
    return {"bleu2": bleu2, "distinct1": distinct(replies, 1),
            "distinct2": distinct(replies, 2),
            "mean_words": sum(len(words(r)) for r in replies) / len(replies)}
