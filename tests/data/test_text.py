import json
import re

import pytest
import torch

from rnnkit.data.text import (
    BPETokenizer,
    BucketSampler,
    Vocab,
    WordTokenizer,
    build_tokenizer,
    label_classes,
    label_indices,
    read_lines,
    read_text_table,
    text_loader,
    tokenizer_from_dict,
)
from rnnkit.errors import InputError

TEXTS = [
    "Naïve, isn't it? It's a 2x-faster film -- not bad ...",
    "it 's a charming and often affecting journey . ",
    "do n't `` quote '' me ; o'clock rock'n'roll (really) $5 50%",
    "हिन्दी फ़िल्म अच्छी है 👍🏽 👨‍👩‍👧",
    "Ünïcödé  ÉCOLE\tcafe\u0301",
]


def test_word_tokenizer_follows_the_treebank_and_keeps_unicode_words_whole():
    tok = WordTokenizer()
    assert tok.tokenize(TEXTS[0]) == ["Naïve", ",", "is", "n't", "it", "?", "It", "'s", "a",
                                      "2x-faster", "film", "--", "not", "bad", "..."]
    # SST-2 is already treebank-tokenised: its tokens are kept as they are
    assert tok.tokenize(TEXTS[1]) == TEXTS[1].split()
    assert tok.tokenize(TEXTS[2])[:6] == ["do", "n't", "``", "quote", "''", "me"]
    hindi = tok.tokenize(TEXTS[3])
    assert hindi == ["हिन्दी", "फ़िल्म", "अच्छी", "है", "👍🏽", "👨\u200d👩\u200d👧"]
    # NFC: a decomposed accent becomes one character of one word
    assert tok.tokenize(TEXTS[4])[-1] == "café" and len(tok.tokenize(TEXTS[4])[-1]) == 4
    assert WordTokenizer(lowercase=True).tokenize("ÉCOLE It's") == ["école", "it", "'s"]


@pytest.mark.parametrize("text", TEXTS)
def test_word_detokenize_round_trips(text):
    tok = WordTokenizer()
    tokens = tok.tokenize(text)
    assert tok.tokenize(tok.detokenize(tokens)) == tokens


def test_word_detokenize_reads_naturally():
    tok = WordTokenizer()
    assert tok.detokenize(tok.tokenize("Isn't it (really) great? It's $5, 50%!")) == \
        "Isn't it (really) great? It's $5, 50%!"


def test_bpe_round_trips_and_reloads_from_json():
    corpus = [t for t in TEXTS for _ in range(3)]
    bpe = BPETokenizer.train(corpus, vocab_size=300, lowercase=False)
    for text in ["It's a charming film", "not bad ...", "हिन्दी फ़िल्म"]:
        tokens = bpe.tokenize(text)
        assert bpe.detokenize(tokens) == text
    assert bpe.tokenize("charmingly")[0] == "▁charming"  # an unseen word: known pieces
    assert bpe.tokenize("Ж") == ["▁", "<unk>"]  # an unseen character
    state = json.loads(json.dumps(bpe.to_dict()))
    again = tokenizer_from_dict(state, "x")
    assert again.tokenize(TEXTS[0]) == bpe.tokenize(TEXTS[0])
    lower = build_tokenizer("bpe", corpus, lowercase=True, bpe_vocab_size=300)
    assert lower.detokenize(lower.tokenize("ÉCOLE Film")) == "école film"


def test_tokenizer_state_errors():
    assert tokenizer_from_dict(WordTokenizer(True).to_dict(), "x").lowercase is True
    with pytest.raises(InputError, match="--tokenizer 'morpheme' is not known"):
        build_tokenizer("morpheme", [])
    char = tokenizer_from_dict(build_tokenizer("char", [], lowercase=True).to_dict(), "x")
    assert char.tokenize("Ab\n") == ["a", "b", "\n"] and char.detokenize(["a", "\n"]) == "a\n"
    with pytest.raises(InputError, match="t.json: not a tokenizer written by rnnkit"):
        tokenizer_from_dict({"kind": "pickle"}, "t.json")
    with pytest.raises(InputError, match="exactly 'kind' and 'lowercase'"):
        tokenizer_from_dict({"kind": "word", "lowercase": True, "exec": 1}, "t.json")
    with pytest.raises(InputError, match="the bpe model cannot be read"):
        tokenizer_from_dict({"kind": "bpe", "model": {"junk": 1}}, "t.json")


def test_vocab_counts_filters_and_round_trips():
    sequences = [["b", "a", "a"], ["c", "a", "b"], ["d"]]
    vocab = Vocab.build(sequences)
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c", "d"]  # by count, ties a-z
    assert Vocab.build(sequences, min_freq=2).tokens == ["<pad>", "<unk>", "a", "b"]
    assert Vocab.build(sequences, max_size=3).tokens == ["<pad>", "<unk>", "a"]
    assert vocab.encode(["a", "never", "d"]) == [2, 1, 5]
    assert vocab.decode([2, 1, 0, 5]) == ["a", "<unk>", "d"]
    assert vocab.decode([2, 0], skip_specials=False) == ["a", "<pad>"]
    again = Vocab.from_dict(json.loads(json.dumps(vocab.to_dict())), "v")
    assert again.tokens == vocab.tokens and "c" in again and "z" not in again
    sides = Vocab.build(sequences, extra_specials=("<bos>", "<eos>"))  # a decoder's side
    assert sides.tokens[:5] == ["<pad>", "<unk>", "<bos>", "<eos>", "a"]
    assert sides.decode(sides.encode(["<bos>", "a", "<eos>"])) == ["a"]


def test_vocab_errors():
    with pytest.raises(InputError, match="--min-freq 0"):
        Vocab.build([["a"]], min_freq=0)
    with pytest.raises(InputError, match="--max-vocab 2; expected more than 2"):
        Vocab.build([["a"]], max_size=2)
    with pytest.raises(InputError, match="v.json: a vocabulary has exactly"):
        Vocab.from_dict({"tokens": ["<pad>", "<unk>"], "n_specials": 2, "x": 1}, "v.json")
    with pytest.raises(InputError, match="starts with '<pad>', '<unk>'"):
        Vocab.from_dict({"tokens": ["a", "<unk>"], "n_specials": 2}, "v.json")
    with pytest.raises(InputError, match=r"repeats tokens \['a'\]"):
        Vocab.from_dict({"tokens": ["<pad>", "<unk>", "a", "a"], "n_specials": 2}, "v.json")


@pytest.mark.parametrize("shuffle", [False, True])
def test_bucketing_keeps_every_example_exactly_once(shuffle):
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 40, (1003,), generator=g).tolist()
    sampler = BucketSampler(lengths, batch_size=16, shuffle=shuffle, seed=3, pool=4)
    epochs = [list(sampler) for _ in range(2)]
    for batches in epochs:
        assert len(batches) == len(sampler) == 63
        flat = sorted(k for batch in batches for k in batch)
        assert flat == list(range(1003))
        assert all(len(b) <= 16 for b in batches)
    # buckets hold similar lengths: far less padding than batches in random order
    padding = sum(max(lengths[k] for k in b) * len(b) - sum(lengths[k] for k in b)
                  for b in epochs[0])
    assert padding < 0.25 * sum(lengths)
    if shuffle:
        assert epochs[0] != epochs[1]  # new batches every epoch
        again = BucketSampler(lengths, batch_size=16, shuffle=True, seed=3, pool=4)
        assert list(again) == epochs[0]  # ... from the seed
    else:
        assert epochs[0] == epochs[1]


def test_text_loader_pads_and_keeps_labels():
    sequences = [[5, 6, 7], [8], [9, 10], [11, 12, 13, 14]]
    loader = text_loader(sequences, [0, 1, 2, 3], batch_size=3, shuffle=False)
    batches = list(loader)
    (tokens, lengths), labels = batches[0]
    assert tokens.tolist() == [[11, 12, 13, 14], [5, 6, 7, 0], [9, 10, 0, 0]]
    assert lengths.tolist() == [4, 3, 2] and labels.tolist() == [3, 0, 2]
    assert batches[1][0][0].tolist() == [[8]]


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_read_tsv_as_sst2_and_csv_with_quotes(tmp_path):
    tsv = write(tmp_path / "a.tsv", "sentence\tlabel\nit 's fine . \t1\ndull , dull \t0\n")
    table = read_text_table(tsv)
    assert table.texts == ["it 's fine .", "dull , dull"] and table.labels == ["1", "0"]
    assert (table.text_column, table.label_column, table.lines) == ("sentence", "label", [2, 3])
    csv = write(tmp_path / "b.csv", '\ufeffid,Review,Sentiment\n1,"Good, really ""good""",pos\n'
                                    '2,"two\nlines",neg\n3,bad,neg\n')
    table = read_text_table(csv)
    assert table.texts == ['Good, really "good"', "two\nlines", "bad"]
    assert table.labels == ["pos", "neg", "neg"] and table.lines == [2, 3, 5]
    assert read_text_table(csv, "id", "Review").labels[0] == 'Good, really "good"'
    unlabelled = read_text_table(write(tmp_path / "c.tsv", "index\tsentence\n0\tok\n"),
                                 labels=False)
    assert unlabelled.labels is None and unlabelled.texts == ["ok"]
    assert read_text_table(tsv, labels=False).labels == ["1", "0"]


def test_semicolon_tables_keep_commas_in_the_text(tmp_path):
    content = "text;label\nGood, really good;pos\nbad, dull, long;neg\n\"a; b\";neg\n"
    for name in ("eu.csv", "eu.tsv", "eu.txt"):
        table = read_text_table(write(tmp_path / name, content))
        assert table.texts == ["Good, really good", "bad, dull, long", "a; b"], name
        assert table.labels == ["pos", "neg", "neg"] and table.lines == [2, 3, 4]
    explicit = read_text_table(write(tmp_path / "x.tsv", content), sep=";")
    assert explicit.texts[0] == "Good, really good"
    tab = read_text_table(write(tmp_path / "tab.csv", "text\tlabel\nGood; fine, ok\t1\n"))
    assert tab.texts == ["Good; fine, ok"]


def test_a_header_of_one_column_holding_a_separator_says_which_sep_to_pass(tmp_path):
    path = write(tmp_path / "eu.csv", "text;label\nGood, really good;pos\n")
    with pytest.raises(InputError, match=r"^" + re.escape(
            f"{path} has one column 'text;label': the file looks semicolon-separated; pass "
            "--sep ';'") + "$"):
        read_text_table(path, sep=",")
    with pytest.raises(InputError, match=re.escape("--sep ':' is not known")):
        read_text_table(path, sep=":")


@pytest.mark.parametrize("content,message", [
    ("", r"is empty; it needs texts, one per line \(TSV/CSV: after a header line\)"),
    ("\n  \n", "is empty"),
    ("sentence\tlabel\n", "has a header but no rows"),
    ("text\tstars\nok\t1\n", r"has no label column \(looked for label, labels, sentiment, "
                             r"class, category, target\); available columns: \['text', 'stars'\]"),
    ("review_body\tlabel\nok\t1\n", r"has no text column .*available columns: \['review_body', "
                                    r"'label'\]; name one with --text-column"),
    ("sentence\tlabel\nok\t1\n\nfine\t1\n", "line 3 is empty; remove blank lines"),
    ("sentence\tlabel\nok\t1\nfine\t1\t2\n", r"line 3 has 3 field\(s\); the header has 2"),
    ("sentence\tlabel\n  \t1\n", "line 2: the 'sentence' field is empty"),
    ("sentence\tlabel\nok\t \n", "line 2: the 'label' field is empty"),
    (b"sentence\tlabel\nok\t1\ncaf\xe9\t0\n", r"line 3: bytes b'\\xe9' are not UTF-8"),
])
def test_bad_files_name_the_problem_and_the_line(tmp_path, content, message):
    path = write(tmp_path / "bad.tsv", content)
    with pytest.raises(InputError, match=message):
        read_text_table(path)


def test_named_columns_must_exist(tmp_path):
    path = write(tmp_path / "a.tsv", "sentence\tlabel\nok\t1\n")
    with pytest.raises(InputError, match=r"no text column 'body'; available columns: "
                                         r"\['sentence', 'label'\]; name one with --text-column"):
        read_text_table(path, text_column="body")
    with pytest.raises(InputError, match=r"no label column 'y'"):
        read_text_table(path, label_column="y")
    with pytest.raises(InputError, match="no such file"):
        read_text_table(tmp_path / "missing.tsv")


def test_read_lines(tmp_path):
    table = read_lines(write(tmp_path / "a.txt", "a good film\nbad\n\n"))
    assert table.texts == ["a good film", "bad"] and table.labels is None
    with pytest.raises(InputError, match=r"a.txt, line 2 is empty"):
        read_lines(write(tmp_path / "a.txt", "a good film\n \nbad\n"))


def test_labels_sort_naturally_and_unseen_labels_name_their_line(tmp_path):
    assert label_classes(["10", "2", "-1", "2"]) == ["-1", "2", "10"]
    assert label_classes(["pos", "neg", "neutral"]) == ["neg", "neutral", "pos"]
    table = read_text_table(write(tmp_path / "a.tsv", "text\tlabel\nok\t1\nhm\t7\n"))
    with pytest.raises(InputError, match=r"line 3: label '7' was never seen in training; "
                                         r"the model knows \['0', '1'\]"):
        label_indices(table, ["0", "1"])
    assert label_indices(table, ["1", "7"]) == [0, 1]


@pytest.mark.slow
def test_sst2_files_read_as_documented(data_dir):
    train = read_text_table(data_dir / "sst2" / "train.tsv")
    dev = read_text_table(data_dir / "sst2" / "dev.tsv")
    assert (len(train), len(dev)) == (67349, 872)
    assert (train.labels.count("0"), dev.labels.count("1")) == (29780, 444)
    tok = WordTokenizer()
    same = sum(tok.tokenize(t) == t.split() for t in dev.texts)
    assert same >= 0.95 * len(dev)  # treebank tokens kept (`` '' -- ... included)
