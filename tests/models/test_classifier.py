import random
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from rnnkit.configs import config_from_dict
from rnnkit.data.text import TextTable
from rnnkit.errors import InputError
from rnnkit.models.classifier import (
    POOLINGS,
    TRAINING,
    ClassifierConfig,
    SequenceClassifier,
    TextClassifier,
)
from rnnkit.models.ensemble import Ensemble

FILLER = "the a film movie plot was is and of it this very quite story".split()
CUES = {"neg": "dreadful", "neutral": "okay", "pos": "wonderful"}


def keyword_table(n, seed, source="synthetic"):
    """Three classes, each marked by one cue word at a random place among filler words."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.choice(sorted(CUES))
        words = rng.choices(FILLER, k=rng.randint(2, 9))
        words.insert(rng.randint(0, len(words)), CUES[label])
        texts.append(" ".join(words))
        labels.append(label)
    return TextTable(texts, labels, list(range(2, n + 2)), source)


def small(**model):
    config = dict(embedding_dim=16, hidden_size=16, num_layers=1, word_dropout=0.0,
                  embedding_dropout=0.0, dropout=0.0, output_dropout=0.0)
    return TextClassifier(ClassifierConfig(**{**config, **model}),
                          replace(TRAINING, epochs=6, batch_size=16, lr=0.01, patience=None))


def net(cell="lstm", pooling="max", bidirectional=True, layers=2):
    torch.manual_seed(0)
    model = SequenceClassifier(ClassifierConfig(
        vocab_size=30, num_classes=3, embedding_dim=6, hidden_size=5, num_layers=layers,
        cell=cell, pooling=pooling, bidirectional=bidirectional))
    return model.eval()


CASES = [(cell, pooling, bi) for cell in ("lstm", "gru", "rnn") for pooling in POOLINGS
         for bi in (False, True)]


@pytest.mark.parametrize("cell,pooling,bidirectional", CASES)
def test_packed_batch_equals_each_sentence_alone(cell, pooling, bidirectional):
    """Padding and packing change nothing: a padded batch with lengths (packed fast path)
    gives each sentence's logits as when it is run alone, unpadded, and the trace path agrees."""
    model = net(cell, pooling, bidirectional)
    lengths = torch.tensor([7, 3, 5, 1])
    tokens = torch.randint(2, 30, (4, 7))
    tokens[torch.arange(7)[None, :] >= lengths[:, None]] = 0
    with torch.no_grad():
        batch = model(tokens, lengths)
        alone = torch.cat([model(tokens[k : k + 1, : int(n)]) for k, n in enumerate(lengths)])
        traced, trace = model(tokens, lengths, trace=True)
    torch.testing.assert_close(batch, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(traced, batch, atol=1e-5, rtol=0)
    assert len(trace.layers) == 2 and len(trace[0]) == (2 if bidirectional else 1)


def test_last_pooling_reads_both_ends_of_a_bidirectional_layer():
    model = net("gru", "last", bidirectional=True, layers=1)
    tokens = torch.randint(2, 30, (2, 6))
    with torch.no_grad():
        out, h_n = model.rnn(model.embedding(tokens))
        pooled = model.pool(out, h_n, torch.ones(2, 6, dtype=torch.bool))
    H = 5
    torch.testing.assert_close(pooled[:, :H], out[:, -1, :H])  # forwards: after the last word
    torch.testing.assert_close(pooled[:, H:], out[:, 0, H:])  # backwards: after the first


def test_word_dropout_only_while_training():
    model = net()
    model.config.word_dropout = 0.5
    tokens = torch.randint(2, 30, (8, 10))
    torch.testing.assert_close(model(tokens), model(tokens))  # eval: deterministic
    model.train()
    torch.manual_seed(1)
    first = model(tokens)
    torch.manual_seed(2)
    assert not torch.allclose(first, model(tokens))


@pytest.mark.parametrize("cell,pooling", [("lstm", "max"), ("gru", "attention"), ("rnn", "last")])
def test_learns_a_separable_three_class_task_to_100_percent(cell, pooling):
    clf = small(cell=cell, pooling=pooling)
    result = clf.fit(keyword_table(240, 0), keyword_table(60, 1), progress=False)
    assert clf.classes == ["neg", "neutral", "pos"]
    assert max(result.history["val_score"]) == 1.0
    test = keyword_table(100, 2)
    assert clf.predict(test.texts) == test.labels
    probs = clf.predict_proba(["wonderful story", "quite a dreadful film , very"])
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1, atol=1e-6)
    assert list(probs.argmax(1)) == [2, 0]


def test_unknown_words_prefixes_and_gates():
    clf = small()
    clf.fit(keyword_table(120, 0), keyword_table(30, 1), progress=False)
    assert clf.encode(["the zebra film"])[0][1] == clf.vocab.unk_index
    tokens, probs = clf.prefix_proba("the plot was wonderful")
    assert tokens == ["the", "plot", "was", "wonderful"] and probs.shape == (4, 3)
    np.testing.assert_allclose(probs[-1], clf.predict_proba(["the plot was wonderful"])[0],
                               atol=1e-6)
    np.testing.assert_allclose(probs[1], clf.predict_proba(["the plot"])[0], atol=1e-6)
    gates = clf.gates("the plot was wonderful")
    assert set(gates) == {"i", "f", "g", "o"}
    assert gates["f"].shape == (2, 4, 16) and 0 <= gates["f"].min() <= gates["f"].max() <= 1


def test_state_round_trip_gives_equal_probabilities():
    clf = small(tokenizer="bpe", bpe_vocab_size=100, cell="gru")
    clf.train_config.epochs = 1
    clf.fit(keyword_table(60, 0), keyword_table(20, 1), progress=False)
    texts = keyword_table(20, 3).texts
    state = clf.state()
    weights = clf.net.state_dict()
    again = TextClassifier.from_state(state, clf.tokenizer.to_dict(), clf.vocab.to_dict(),
                                      weights, "memory")
    np.testing.assert_array_equal(again.predict_proba(texts), clf.predict_proba(texts))
    bad = dict(weights)
    bad["head.weight"] = torch.zeros(2, 32)
    with pytest.raises(InputError, match="weights do not fit the config"):
        TextClassifier.from_state(state, clf.tokenizer.to_dict(), clf.vocab.to_dict(), bad, "m")
    vocab = clf.vocab.to_dict()
    vocab["tokens"] = vocab["tokens"][:-1]  # a vocabulary the weights were not built for
    with pytest.raises(InputError, match=r"weights do not fit the config .*embedding"):
        TextClassifier.from_state(state, clf.tokenizer.to_dict(), vocab, weights, "m")


def test_config_round_trip_and_unknown_keys():
    config = ClassifierConfig(cell="gru", pooling="attention", max_vocab=5000)
    assert config_from_dict(ClassifierConfig, asdict(config), "x") == config
    with pytest.raises(InputError, match=r"unknown ClassifierConfig keys \['evil'\]"):
        config_from_dict(ClassifierConfig, {**asdict(config), "evil": 1}, "x")


@pytest.mark.parametrize("setting,message", [
    (dict(pooling="sum"), "--pooling 'sum' is not known; choose one of last, mean, max"),
    (dict(cell="lsmt"), "--cell 'lsmt' is not known"),
    (dict(tokenizer="chars"), "--tokenizer 'chars' is not known; choose one of word, bpe"),
    (dict(hidden_size=0), "--hidden-size 0; expected at least 1"),
    (dict(output_dropout=1.0), r"output_dropout=1.0; expected a value in \[0, 1\)"),
])
def test_bad_settings(setting, message):
    with pytest.raises(InputError, match=message):
        small(**setting).fit(keyword_table(20, 0), keyword_table(5, 1), progress=False)


def test_bad_data():
    one_class = keyword_table(20, 0)
    one_class.labels = ["pos"] * 20
    with pytest.raises(InputError, match=r"synthetic has 1 distinct label\(s\) \['pos'\]"):
        small().fit(one_class, keyword_table(5, 1), progress=False)
    dev = keyword_table(5, 1, source="dev.tsv")
    dev.labels[3] = "great"
    with pytest.raises(InputError, match="dev.tsv, line 5: label 'great' was never seen"):
        small().fit(keyword_table(20, 0), dev, progress=False)
    with pytest.raises(InputError, match="not trained yet"):
        small().predict(["a film"])
    clf = small()
    clf.train_config.patience = 0
    with pytest.raises(InputError, match="--patience 0"):
        clf.fit(keyword_table(20, 0), keyword_table(5, 1), progress=False)


def test_an_ensemble_classifier_learns_saves_and_reloads():
    clf = TextClassifier(ClassifierConfig(embedding_dim=16, hidden_size=16, num_layers=1,
                                          word_dropout=0.0, ensemble=2),
                         replace(TRAINING, epochs=6, batch_size=16, lr=0.01, patience=None))
    result = clf.fit(keyword_table(240, 0), keyword_table(60, 1), progress=False)
    assert isinstance(clf.net, Ensemble) and len(clf.net.members) == 2
    assert max(result.history["val_score"]) == 1.0
    test = keyword_table(60, 2)
    assert clf.predict(test.texts) == test.labels
    probs = clf.predict_proba(test.texts)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    again = TextClassifier.from_state(clf.state(), clf.tokenizer.to_dict(), clf.vocab.to_dict(),
                                      clf.net.state_dict(), "memory")
    np.testing.assert_array_equal(again.predict_proba(test.texts), probs)
    one = {k.removeprefix("members.0."): v for k, v in clf.net.state_dict().items()
           if k.startswith("members.0.")}
    state = clf.state()
    state["model"]["ensemble"] = 1
    with pytest.raises(InputError, match="weights do not fit the config"):
        TextClassifier.from_state(state, clf.tokenizer.to_dict(), clf.vocab.to_dict(),
                                  clf.net.state_dict(), "m")
    alone = TextClassifier.from_state(state, clf.tokenizer.to_dict(), clf.vocab.to_dict(), one,
                                      "m")  # one member alone is a plain classifier
    assert isinstance(alone.net, SequenceClassifier)
    first, shown = alone.gates("the wonderful plot"), clf.gates("the wonderful plot")
    np.testing.assert_allclose(first["f"], shown["f"], atol=1e-6)  # the glass box: member 0


def test_ensemble_setting_is_checked():
    clf = TextClassifier(ClassifierConfig(ensemble=0))
    with pytest.raises(InputError, match="--ensemble 0; expected at least 1"):
        clf.fit(keyword_table(20, 0), keyword_table(5, 1), progress=False)


def test_pretrained_vectors_start_every_member_and_survive_the_round_trip(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("wonderful " + " ".join(["0.5"] * 16) + "\ndreadful " +
                    " ".join(["-0.5"] * 16) + "\n")
    clf = small(vectors=str(path), freeze_vectors=True, ensemble=2)
    clf.train_config.epochs = 1
    clf.fit(keyword_table(60, 0), keyword_table(20, 1), progress=False)
    for member in clf.net.members:  # frozen: still the file's numbers after training
        assert member.embedding.weight[clf.vocab.index["wonderful"]].tolist() == [0.5] * 16
    assert clf.vectors["found"] == 2 and clf.vectors["words"] == len(clf.vocab) - 2
    state = clf.state()
    path.unlink()  # the run keeps the weights; the file is needed for training only
    again = TextClassifier.from_state(state, clf.tokenizer.to_dict(), clf.vocab.to_dict(),
                                      clf.net.state_dict(), "memory")
    assert again.vectors == clf.vectors
    with pytest.raises(InputError, match="no such file"):
        small(vectors=str(path)).fit(keyword_table(20, 0), keyword_table(5, 1), progress=False)
    path.write_text("wonderful " + " ".join(["1"] * 17) + "\n")
    with pytest.raises(InputError, match="has 17 dimensions but the embedding 16; set "
                                         "--embedding-dim to at least 17"):
        small(vectors=str(path)).fit(keyword_table(20, 0), keyword_table(5, 1), progress=False)
    path.write_text("wonderful 1 2 3\n")  # fills the first 3 of 16 columns
    wider = small(vectors=str(path), freeze_vectors=True)
    wider.train_config.epochs = 1
    wider.fit(keyword_table(60, 0), keyword_table(20, 1), progress=False)
    assert wider.net.embedding.weight[wider.vocab.index["wonderful"], :3].tolist() == [1, 2, 3]
