import gzip

import numpy as np
import pytest
import torch

from rnnkit.data.conll import TaggedSentences
from rnnkit.data.vectors import check_dimension, init_embedding, read_vectors
from rnnkit.errors import InputError
from rnnkit.models.tagger import SequenceTagger, Tagger, TaggerConfig
from rnnkit.train.settings import TrainSettings

SENTENCES = [["Paris", "is", "big"], ["John", "met", "Mary"], ["Mary", "is", "in", "Rome"]] * 3
TAGS = [["B-LOC", "O", "O"], ["B-PER", "O", "B-PER"], ["B-PER", "O", "O", "B-LOC"]] * 3
DATA = TaggedSentences(SENTENCES, TAGS, list(range(9)), "train.txt")
SMALL = dict(embedding_dim=8, hidden_size=8, char_dim=4, char_hidden=4, dropout=0.0)


@pytest.mark.parametrize("chars, output", [("lstm", "crf"), ("cnn", "softmax"), ("none", "crf")])
def test_tagger_learns_a_tiny_set_and_round_trips(chars, output):
    tagger = Tagger(TaggerConfig(char_features=chars, output=output, **SMALL),
                    TrainSettings(epochs=12, lr=0.05, patience=None))
    result = tagger.fit(DATA, DATA, progress=False)
    assert result.history["val_score"][result.best_epoch - 1] == 1.0
    assert tagger.predict([["Mary", "is", "big"]]) == [["B-PER", "O", "O"]]
    probs = tagger.predict_proba([["Paris", "met", "John"]])[0]
    assert probs.shape == (3, len(tagger.tags)) and np.allclose(probs.sum(1), 1, atol=1e-5)
    state = {k: v for k, v in tagger.state().items()}
    weights = {k: v.clone() for k, v in tagger.net.state_dict().items()}
    again = Tagger.from_state(state, tagger.vocabularies(), weights, "config.json")
    assert again.predict(SENTENCES[:3]) == tagger.predict(SENTENCES[:3])
    gates = tagger.gates(["Paris", "is", "big"])
    assert gates["f"].shape == (2, 3, 8)


def test_padding_does_not_change_a_sentences_scores():
    config = TaggerConfig(vocab_size=10, char_vocab_size=6, num_tags=3, **SMALL)
    torch.manual_seed(0)
    net = SequenceTagger(config, ["O", "B-X", "I-X"], "iob2").eval()
    words, chars = torch.randint(2, 10, (2, 5)), torch.randint(1, 6, (2, 5, 3))
    lengths = torch.tensor([5, 2])
    with torch.no_grad():
        both = net(words, chars, lengths)
        alone = net(words[1:, :2], chars[1:, :2], lengths[1:])
        assert torch.allclose(both[1, :2], alone[0], atol=1e-5)
        assert torch.equal(net.decode(both, lengths)[1, :2], net.decode(alone, lengths[1:])[0])
        mask = net.mask(lengths, 5)
        assert torch.allclose(net.crf.log_partition(both, mask)[1],
                              net.crf.log_partition(alone, mask[1:, :2])[0], atol=1e-5)


def test_check_refuses_unseen_dev_tags_and_untagged_data():
    dev = TaggedSentences([["Rome"]], [["B-GPE"]], [7], "dev.txt")
    with pytest.raises(InputError, match="dev.txt, sentence at line 7: tag 'B-GPE' never"):
        Tagger(TaggerConfig(**SMALL)).check(DATA, dev)
    with pytest.raises(InputError, match="has no tags"):
        Tagger(TaggerConfig(**SMALL)).check(DATA, TaggedSentences([["x"]], None, [1], "d"))
    with pytest.raises(InputError, match="--char-features 'rnn' is not known"):
        TaggerConfig(char_features="rnn").validate()


def write_vectors(path, header, lines):
    text = (f"{len(lines)} 3\n" if header else "") + "".join(f"{line}\n" for line in lines)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name, header", [("v.txt", False), ("v.vec", True), ("v.txt.gz", False)])
def test_vectors_reader_header_gzip_and_missing_words(tmp_path, name, header):
    path = write_vectors(tmp_path / name, header, ["paris 1 2 3", "is 0 0 1", "big -1 0.5 2"])
    found = read_vectors(path, ["Paris", "is", "zebra"])
    assert found.dim == 3 and found.lowercased and found.missing == ["zebra"]
    assert found.vectors["Paris"].tolist() == [1, 2, 3] and found.coverage == pytest.approx(2 / 3)
    cased = write_vectors(tmp_path / f"cased-{name}", header, ["Paris 1 2 3", "is 0 0 1"])
    assert sorted(read_vectors(cased, ["paris", "Paris"]).vectors) == ["Paris"]
    bad = write_vectors(tmp_path / "bad.txt", False, ["paris 1 2 3", "is 0 1"])
    with pytest.raises(InputError, match="line 2 has 2 values where the file has 3"):
        read_vectors(bad, ["is"])


def test_embedding_initialised_and_frozen_from_vectors(tmp_path):
    path = write_vectors(tmp_path / "v.txt", False, ["paris " + " ".join(["0.5"] * 8),
                                                     "is " + " ".join(["-1"] * 8)])
    table = torch.nn.Embedding(4, 8, padding_idx=0)
    rows = init_embedding(table, ["<pad>", "paris", "is", "zebra"],
                          read_vectors(path, ["paris", "is", "zebra"]), freeze=True)
    assert rows == 2 and table.weight[1].tolist() == [0.5] * 8 and table.weight[0].eq(0).all()
    tagger = Tagger(TaggerConfig(**SMALL, vectors=str(path), freeze_vectors=True),
                    TrainSettings(epochs=1, lr=0.05))
    tagger.fit(DATA, DATA, progress=False)
    index = tagger.words.index["paris"]
    assert tagger.net.embedding.weight[index].tolist() == [0.5] * 8  # frozen: not trained
    assert tagger.vectors["found"] == 2 and tagger.vectors["words"] == len(tagger.words) - 2

    narrower = "has 8 dimensions but the embedding 7; set --embedding-dim to at least 8"
    with pytest.raises(InputError, match=narrower):
        init_embedding(torch.nn.Embedding(3, 7), ["a", "paris", "b"],
                       read_vectors(path, ["paris"]))
    with pytest.raises(InputError, match=narrower):
        check_dimension(path, 7)
    check_dimension(path, 8)
    check_dimension(path, 9)


WORDS = ["<pad>", "paris", "is", "zebra"]  # zebra: no vector


def wider_table(tmp_path, freeze=False):
    """A (4, 7) embedding started from 3-dimensional vectors, and its own start."""
    path = write_vectors(tmp_path / "v.txt", False, ["paris 0.5 -0.5 1", "is -1 0.25 2"])
    torch.manual_seed(0)
    table = torch.nn.Embedding(4, 7, padding_idx=0)
    own = table.weight.detach().clone()
    assert init_embedding(table, WORDS, read_vectors(path, WORDS[1:]), freeze) == 2
    return table, own


def test_vectors_fill_the_first_columns_of_a_wider_embedding(tmp_path):
    table, own = wider_table(tmp_path)
    weight = table.weight.detach()
    assert weight[1, :3].tolist() == [0.5, -0.5, 1] and weight[2, :3].tolist() == [-1, 0.25, 2]
    assert weight[3, :3].ne(0).all() and not torch.equal(weight[3, :3], own[3, :3])  # drawn
    assert torch.equal(weight[:, 3:], own[:, 3:])  # the embedding's own random start
    assert weight[1:, 3:].ne(0).all() and weight[0].eq(0).all()
    assert not torch.equal(weight[1:3, 3:6], weight[1:3, :3])


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_freeze_keeps_exactly_the_pretrained_entries_of_a_wider_embedding(tmp_path,
                                                                          weight_decay):
    table, _ = wider_table(tmp_path, freeze=True)
    start = table.weight.detach().clone()
    optimiser = torch.optim.Adam(table.parameters(), lr=0.1, weight_decay=weight_decay)
    for _ in range(3):
        optimiser.zero_grad()
        table(torch.tensor([[1, 2, 3, 0]])).pow(2).sum().backward()
        optimiser.step()
    moved = table.weight.detach() != start
    pretrained = torch.zeros(4, 7, dtype=torch.bool)
    pretrained[1:3, :3] = True
    assert not moved[pretrained].any()
    assert moved[1:][~pretrained[1:]].all() and not moved[0].any()  # the padding row stays 0
    state = table.state_dict()
    assert list(state) == ["weight"]
    plain = torch.nn.Embedding(4, 7, padding_idx=0)
    plain.load_state_dict(state)
    assert torch.equal(plain.weight, table.weight)
    table.load_state_dict({"weight": torch.ones(4, 7)})
    assert table.weight[1:3, :3].eq(start[1:3, :3]).all() and table.weight[3].eq(1).all()


def test_a_wider_tagger_embedding_keeps_its_frozen_vectors_and_reloads(tmp_path):
    path = write_vectors(tmp_path / "v.txt", False, ["paris 0.5 -0.5 1", "oslo 2 2 2"])
    tagger = Tagger(TaggerConfig(**SMALL, vectors=str(path), freeze_vectors=True),
                    TrainSettings(epochs=2, lr=0.05, patience=None))
    tagger.fit(DATA, DATA, progress=False)
    words = tagger.encode([["Paris", "Oslo"]]).words
    paris, oslo = tagger.net.embed(torch.tensor(words))[0]
    assert paris[:3].tolist() == [0.5, -0.5, 1] and oslo[:3].tolist() == [2, 2, 2]
    weights = {k: v.clone() for k, v in tagger.net.state_dict().items()}
    again = Tagger.from_state(tagger.state(), tagger.vocabularies(), weights, "config.json")
    assert torch.equal(again.net.embedding.weight, tagger.net.embedding.weight)


def test_number_words_match_their_own_vector_before_the_digit_fallback(tmp_path):
    path = write_vectors(tmp_path / "v.txt", False, ["10th " + " ".join(["0.5"] * 8),
                                                     "00 " + " ".join(["-1"] * 8)])
    data = TaggedSentences([["the", "10th", "of", "12"], ["the", "1996", "of", "34"]],
                           [["O", "B-DATE", "O", "O"], ["O", "B-DATE", "O", "O"]], [1, 2], "t")
    tagger = Tagger(TaggerConfig(**SMALL, vectors=str(path), freeze_vectors=True),
                    TrainSettings(epochs=1, lr=0.05))
    tagger.fit(data, data, progress=False)
    assert "10th" in tagger.words and "0000" in tagger.words and "00" in tagger.words
    assert tagger.net.embedding.weight[tagger.words.index["10th"]].tolist() == [0.5] * 8
    assert tagger.net.embedding.weight[tagger.words.index["00"]].tolist() == [-1.0] * 8
    assert [tagger.normalise(w) for w in ("10th", "11th", "1997", "99")] == \
        ["10th", "00th", "0000", "00"]
    assert tagger.vectors["found"] == 2 and tagger.vectors["words"] == len(tagger.words) - 2


def test_words_only_the_vectors_file_has_keep_their_vector_at_test_time(tmp_path):
    oslo, lima = [0.25] * 8, [-0.5] * 8
    path = write_vectors(tmp_path / "v.txt", False, [
        "is " + " ".join(["1"] * 8), "oslo " + " ".join(map(str, oslo)),
        "rome " + " ".join(["3"] * 8), "lima " + " ".join(map(str, lima)),
        "zork " + " ".join(["2"] * 8)])
    settings = TrainSettings(epochs=2, lr=0.05, patience=None)
    tagger = Tagger(TaggerConfig(**SMALL, vectors=str(path), vectors_vocab=4), settings)
    tagger.fit(DATA, DATA, progress=False)
    # the file's first 4 words: "is" and "rome" are training words, "oslo" and "lima" get
    # new rows; "zork" (5th) does not
    assert tagger.words.tokens[-2:] == ["oslo", "lima"] and tagger.fixed_words == 2
    assert tagger.vectors["added"] == 2 and len(tagger.words) == tagger.network.vocab_size
    words = tagger.encode([["Oslo", "is", "LIMA", "Zork"]]).words[0]
    assert words[-1] == tagger.words.unk_index and tagger.words.unk_index not in words[:3]
    vectors = tagger.net.embed(torch.tensor([words]))[0]
    assert vectors[0].tolist() == oslo and vectors[2].tolist() == lima
    assert vectors[1].tolist() != [1.0] * 8  # a training word's row is tuned (not frozen)
    assert not tagger.net.fixed.weight.requires_grad
    state = {k: v for k, v in tagger.state().items()}
    weights = {k: v.clone() for k, v in tagger.net.state_dict().items()}
    again = Tagger.from_state(state, tagger.vocabularies(), weights, "config.json")
    sentence = [["Oslo", "is", "in", "Lima"]]
    assert again.encode(sentence).words == tagger.encode(sentence).words
    assert torch.equal(again.net.embed(torch.tensor([words]))[0], vectors)
    assert again.predict_proba(sentence)[0] == pytest.approx(tagger.predict_proba(sentence)[0])

    only_training = Tagger(TaggerConfig(**SMALL, vectors=str(path), vectors_vocab=0), settings)
    only_training.fit(DATA, DATA, progress=False)
    assert only_training.fixed_words == 0 and only_training.net.fixed is None
    assert only_training.encode([["Oslo"]]).words[0] == [only_training.words.unk_index]
    with pytest.raises(InputError, match="--vectors-vocab -1"):
        Tagger(TaggerConfig(**SMALL, vectors=str(path), vectors_vocab=-1)).check(DATA, DATA)
    with pytest.raises(InputError, match="fixed_words=99 does not fit"):
        Tagger.from_state({**state, "fixed_words": 99}, tagger.vocabularies(), weights, "c")


def test_vectors_reader_keeps_the_files_first_words(tmp_path):
    path = write_vectors(tmp_path / "v.vec", True, ["the 1 2 3", "of 0 0 1", "eu -1 0.5 2"])
    found = read_vectors(path, ["EU", "zebra"], top=2)
    assert list(found.frequent) == ["the", "of"] and found.frequent["of"].tolist() == [0, 0, 1]
    assert list(found.vectors) == ["EU"] and found.coverage == 0.5
    assert list(found.only(["EU"]).frequent) == ["the", "of"]
    assert list(read_vectors(path, [], top=10).frequent) == ["the", "of", "eu"]
    assert read_vectors(path, ["eu"]).frequent == {}


# ---- feature columns --------------------------------------------------------------------------

# the words say nothing: the tag of "x" is the one its feature (the second column) gives
FEATURE_WORDS = [["x", "x", "x"]] * 8
FEATURE_VALUES = [[["n"], ["v"], ["n"]], [["v"], ["n"], ["v"]]] * 4
FEATURE_TAGS = [["B-NP", "B-VP", "B-NP"], ["B-VP", "B-NP", "B-VP"]] * 4
FEATURED = TaggedSentences(FEATURE_WORDS, FEATURE_TAGS, list(range(8)), "train.txt",
                           features=FEATURE_VALUES)


def test_feature_vocabulary_comes_from_training_and_unseen_values_are_unknown():
    tagger = Tagger(TaggerConfig(feature_dim=3, **SMALL), TrainSettings(epochs=1))
    tagger.fit(FEATURED, FEATURED, progress=False)
    (vocab,) = tagger.features
    assert vocab.tokens == ["<pad>", "<unk>", "n", "v"]
    assert tagger.network.feature_vocab_sizes == [4]
    assert tagger.net.features[0].weight.shape == (4, 3)
    encoded = tagger.encode([["x", "x"]], [[["v"], ["JJ"]]])
    assert encoded.features == [[[vocab.index["v"]], [vocab.unk_index]]]
    assert tagger.vocabularies()["features"] == [vocab.to_dict()]


def test_the_tags_follow_the_feature_column_and_round_trip():
    tagger = Tagger(TaggerConfig(feature_dim=4, char_features="none", word_dropout=0.0,
                                 **SMALL), TrainSettings(epochs=15, lr=0.05, patience=None))
    tagger.fit(FEATURED, FEATURED, progress=False)
    words = [["x", "x"]]
    assert tagger.predict(words, features=[[["n"], ["v"]]]) == [["B-NP", "B-VP"]]
    assert tagger.predict(words, features=[[["v"], ["n"]]]) == [["B-VP", "B-NP"]]
    state = tagger.state()
    weights = {k: v.clone() for k, v in tagger.net.state_dict().items()}
    again = Tagger.from_state(state, tagger.vocabularies(), weights, "config.json")
    values = FEATURE_VALUES[:2]
    assert again.predict(FEATURE_WORDS[:2], features=values) == \
        tagger.predict(FEATURE_WORDS[:2], features=values) == FEATURE_TAGS[:2]
    assert again.gates(["x", "x"], features=[["n"], ["v"]])["f"].shape == (2, 2, 8)


def test_a_tagger_with_features_needs_them_and_train_and_dev_must_agree():
    tagger = Tagger(TaggerConfig(**SMALL), TrainSettings(epochs=1))
    tagger.fit(FEATURED, FEATURED, progress=False)
    with pytest.raises(InputError, match="reads 1 feature column"):
        tagger.predict([["x"]])
    with pytest.raises(InputError, match="sentence 1 has 2 tokens; each needs the values"):
        tagger.predict([["x", "x"]], features=[[["n"]]])
    plain = TaggedSentences(FEATURE_WORDS, FEATURE_TAGS, list(range(8)), "dev.txt")
    with pytest.raises(InputError, match="train.txt has 1 feature column.s. and dev.txt 0"):
        Tagger(TaggerConfig(**SMALL)).check(FEATURED, plain)
