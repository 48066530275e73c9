import pytest

from rnnkit.errors import InputError
from rnnkit.evaluate.summaries import rouge_scores
from rnnkit.tasks.summarize import lead


def test_rouge_through_the_library_matches_a_known_pair():
    scores = rouge_scores(["the cat sat on the mat"], [["the cat is on the mat"]])
    # unigrams: 5 of 6 shared; bigrams: the cat, on the, the mat = 3 of 5; LCS 5 of 6
    assert scores["rouge1"]["mean"] == pytest.approx(500 / 6)
    assert scores["rouge2"]["mean"] == pytest.approx(60.0)
    assert scores["rougeL"]["best"] == pytest.approx(500 / 6)
    both = rouge_scores(["meeting"], [["meeting", "lunch"]])
    assert both["rouge1"]["best"] == 100 and both["rouge1"]["mean"] == 50
    assert lead("a b  c d", 2) == "a b"


def test_rouge_refuses_mismatched_or_missing_references():
    with pytest.raises(InputError, match="2 outputs but 1 reference lists"):
        rouge_scores(["a", "b"], [["a"]])
    with pytest.raises(InputError, match="an output has no reference"):
        rouge_scores(["a"], [[]])
