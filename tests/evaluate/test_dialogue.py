import pytest

from rnnkit.errors import InputError
from rnnkit.evaluate.dialogue import distinct, reply_scores, words
from rnnkit.evaluate.translation import corpus_bleu, corpus_scores


def test_distinct_n():
    assert distinct(["i do n't know", "i do n't know"], 1) == 0.5
    assert distinct([""], 2) == 0.0
    assert words("Fine, THANKS.") == ["fine", ",", "thanks", "."]


def test_reply_scores_use_the_one_corpus_bleu_with_bigrams():
    perfect = reply_scores(["fine, thanks."], ["fine , thanks ."])
    assert perfect["bleu2"] == pytest.approx(100.0) and perfect["distinct2"] == 1.0
    replies, references = ["the bank is on main street", "it is five"], \
        ["the bank is near main street", "it is six ."]
    scores = reply_scores(replies, references)
    bleu2, signature = corpus_bleu(replies, references, max_order=2, tokenize="none")
    assert scores["bleu2"] == pytest.approx(bleu2) and 0 < bleu2 < 100
    assert "tok:none" in signature
    # bigram BLEU is more lenient than 4-gram BLEU on the same outputs
    assert bleu2 > corpus_scores(replies, references)["bleu"]
    with pytest.raises(InputError, match="2 replies for 1 references"):
        reply_scores(replies, references[:1])
