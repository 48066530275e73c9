import gzip

import pytest

from rnnkit.data.parallel import (
    BOS,
    EOS,
    CorpusConfig,
    Side,
    build_sides,
    read_parallel,
    read_sentences,
)
from rnnkit.errors import InputError


def write(path, lines, gz=False):
    data = "".join(f"{line}\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_reads_plain_and_gz_alike_and_drops_empty_pairs(tmp_path):
    src = ["Ein Hund.", "", "Zwei Katzen schlafen.", "Ein Mann\u2028läuft."]
    tgt = ["A dog.", "Nothing", "Two cats sleep.", "A man runs."]
    plain = read_parallel(write(tmp_path / "a.de", src), write(tmp_path / "a.en", tgt))
    packed = read_parallel(write(tmp_path / "b.de.gz", src, gz=True),
                           write(tmp_path / "b.en.gz", tgt, gz=True))
    for corpus in (plain, packed):
        assert corpus.source == ["Ein Hund.", "Zwei Katzen schlafen.", "Ein Mann\u2028läuft."]
        assert corpus.target == ["A dog.", "Two cats sleep.", "A man runs."]
        assert corpus.lines == [1, 3, 4] and corpus.dropped_empty == 1


def test_bad_files_name_what_where_and_how(tmp_path):
    de = write(tmp_path / "x.de", ["a", "b", "c"])
    with pytest.raises(InputError, match=r"x.de has 3 lines but .*x.en has 2"):
        read_parallel(de, write(tmp_path / "x.en", ["a", "b"]))
    (tmp_path / "bad.en").write_bytes(b"fine\nbroken \xff here\n")
    with pytest.raises(InputError, match=r"bad.en, line 2: bytes b'\\xff' are not UTF-8"):
        read_sentences(tmp_path / "bad.en")
    (tmp_path / "empty.en").write_bytes(b"\n\n")
    with pytest.raises(InputError, match="empty.en is empty"):
        read_sentences(tmp_path / "empty.en")
    (tmp_path / "fake.en.gz").write_bytes(b"not gzip\n")
    with pytest.raises(InputError, match="is not gzip-compressed"):
        read_sentences(tmp_path / "fake.en.gz")
    with pytest.raises(InputError, match="no pair where both sides have text"):
        read_parallel(write(tmp_path / "e.de", ["a", " "]), write(tmp_path / "e.en", ["", "b"]))


def test_sides_vocab_json_round_trip_and_detokenisation(tmp_path):
    corpus = read_parallel(write(tmp_path / "t.de", ["Ein Hund rennt.", "Ein Hund schläft."]),
                           write(tmp_path / "t.en", ["A dog runs.", "A dog isn't here."]))
    src, tgt = build_sides(corpus, CorpusConfig(min_freq=1, lowercase=True))
    assert src.vocab.tokens[:4] == ["<pad>", "<unk>", BOS, EOS] and "hund" in src.vocab
    assert "hund" not in tgt.vocab
    again = Side.from_dict(tgt.to_dict(), "vocab.json")
    ids = again.encode("A dog isn't here.")
    assert again.decode([*ids, again.eos_index, ids[0]]) == "a dog isn't here."
    shared_src, shared_tgt = build_sides(corpus, CorpusConfig(min_freq=1, shared_vocab=True))
    assert shared_src is shared_tgt and {"Hund", "dog"} <= set(shared_src.vocab.tokens)
    with pytest.raises(InputError, match="a side has exactly 'tokenizer' and 'vocab'"):
        Side.from_dict({"vocab": {}}, "vocab.json")


def test_config_validation():
    with pytest.raises(InputError, match="--tokenizer 'chars' is not known"):
        CorpusConfig(tokenizer="chars").validate()
    with pytest.raises(InputError, match="--max-length 0; expected at least 1"):
        CorpusConfig(max_length=0).validate()
