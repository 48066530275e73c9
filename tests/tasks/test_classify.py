from dataclasses import replace

import numpy as np
import pytest

from rnnkit.data.text import TextTable
from rnnkit.errors import InputError
from rnnkit.models.classifier import TRAINING, ClassifierConfig, TextClassifier
from rnnkit.tasks.classify import (
    DataSpec,
    classification_metrics,
    default_plot_path,
    explain_text,
    read_inputs,
)


def test_metrics_by_hand():
    # true:      a a a b b c ; predicted: a b a b a a
    m = classification_metrics([0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 0, 0], ["a", "b", "c"])
    assert m["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [1, 0, 0]]
    assert m["accuracy"] == pytest.approx(3 / 6)
    f1_a = 2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3)
    f1_b = 2 * (1 / 2) * (1 / 2) / 1
    assert m["per_class"]["a"]["f1"] == pytest.approx(f1_a)
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["macro_f1"] == pytest.approx((f1_a + f1_b + 0) / 3)
    # a class absent from data and predictions does not drag macro-F1 down
    assert classification_metrics([0, 1], [0, 1], ["a", "b", "c"])["macro_f1"] == 1.0


def trained():
    texts = ["a great film", "great fun", "a dull film", "dull and flat"] * 8
    labels = ["pos", "pos", "neg", "neg"] * 8
    table = TextTable(texts, labels, list(range(2, 34)), "mem")
    clf = TextClassifier(ClassifierConfig(embedding_dim=8, hidden_size=8, cell="gru"),
                         replace(TRAINING, epochs=1))
    clf.fit(table, table, progress=False)
    return clf


def test_explanation_moves_add_up_to_the_final_probability():
    clf = trained()
    e = explain_text(clf, "a great zebra film")
    assert e.tokens == ["a", "great", "zebra", "film"] and e.unknown == [False, False, True,
                                                                          False]
    p = e.probs[-1, e.predicted]
    assert e.moves.sum() == pytest.approx(p - 0.5, abs=1e-6)  # from 1/C before the first word
    assert set(e.gates) == {"update gate z", "reset gate r"}
    assert e.gates["update gate z"].shape == (2, 4, 8)
    top = e.top(2)
    assert len(top) == 2 and abs(top[0][1]) >= abs(top[1][1])
    assert abs(top[0][1]) == pytest.approx(np.abs(e.moves).max())
    assert e.to_dict(2)["unknown_words"] == ["zebra"]
    with pytest.raises(InputError, match="the text to explain is empty"):
        explain_text(clf, "   ")


def test_read_inputs_and_plot_names(tmp_path):
    spec = DataSpec("t.tsv", "d.tsv", "sentence", "label")
    assert read_inputs(spec, ["good", " bad "], None).texts == ["good", "bad"]
    with pytest.raises(InputError, match="not both and not neither"):
        read_inputs(spec, [], None)
    with pytest.raises(InputError, match="text 2 of the command line is empty"):
        read_inputs(spec, ["good", ""], None)
    path = default_plot_path(tmp_path, "It's a GREAT film, really!")
    assert path.parent == tmp_path
    assert path.name.startswith("explain-it-s-a-great-film-really-") and path.suffix == ".png"
    assert default_plot_path(tmp_path, "!!!").name.startswith("explain-text-")
