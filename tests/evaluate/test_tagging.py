"""Chunk scores against a case counted by hand with conlleval's rules."""

import pytest

from rnnkit.errors import InputError
from rnnkit.evaluate.tagging import chunk_scores, tagging_scores, token_accuracy, type_confusion

GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG"],
    ["O", "I-MISC", "I-MISC", "B-MISC", "O"],  # IOB1: two MISC chunks (1, 3) and (3, 4)
    ["B-LOC"],
]
PRED = [
    ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "B-MISC"],  # PER right, LOC too short, ORG->MISC
    ["O", "B-MISC", "I-MISC", "I-MISC", "O"],  # one MISC chunk (1, 4): neither gold chunk
    ["I-LOC"],  # conlleval: I- after the sentence start opens a chunk, so LOC (0, 1) is right
]


def test_chunk_scores_match_conlleval_counted_by_hand():
    s = chunk_scores(GOLD, PRED)
    assert (s["gold_chunks"], s["predicted_chunks"], s["correct_chunks"]) == (6, 5, 2)
    assert s["precision"] == pytest.approx(2 / 5) and s["recall"] == pytest.approx(2 / 6)
    assert s["f1"] == pytest.approx(2 * 0.4 * (1 / 3) / (0.4 + 1 / 3))
    per = s["per_type"]
    assert per["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1,
                          "predicted": 1}
    assert (per["LOC"]["precision"], per["LOC"]["recall"], per["LOC"]["support"]) == (0.5, 0.5, 2)
    assert per["ORG"]["f1"] == 0.0 and per["ORG"]["predicted"] == 0
    assert (per["MISC"]["support"], per["MISC"]["predicted"], per["MISC"]["f1"]) == (2, 2, 0.0)


def test_token_accuracy_and_type_confusion():
    assert token_accuracy(GOLD, PRED) == pytest.approx(8 / 13)
    names, counts = type_confusion(GOLD, PRED)
    assert names == ["LOC", "MISC", "ORG", "PER", "O"]
    assert counts[names.index("LOC"), names.index("O")] == 1
    assert counts[names.index("ORG"), names.index("MISC")] == 1
    assert counts.sum() == 13
    scores = tagging_scores(GOLD, PRED, chunked=True)
    assert scores["tokens"] == 13 and scores["sentences"] == 3 and "f1" in scores
    pos = tagging_scores([["DET", "NOUN"]], [["DET", "VERB"]], chunked=False)
    assert "f1" not in pos and pos["types"] == ["DET", "NOUN", "VERB"]


def test_chunks_never_cross_sentences_and_lengths_are_checked():
    assert chunk_scores([["B-X"], ["I-X"]], [["B-X"], ["I-X"]])["gold_chunks"] == 2
    assert chunk_scores([["O"]], [["O"]])["f1"] == 0.0
    with pytest.raises(InputError, match="sentence 0: 2 gold tags but 1 predicted"):
        chunk_scores([["O", "O"]], [["O"]])
