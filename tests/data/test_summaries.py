import json

import pytest

from rnnkit.data.parallel import CorpusConfig, Side
from rnnkit.data.summaries import (
    copy_loader,
    decode_extended,
    encode_example,
    extend_source,
    read_summaries,
)
from rnnkit.errors import InputError


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_json_lines_with_named_fields_and_several_references(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [
        {"body": "Meeting  on\nFriday at 10.", "subject": "meeting friday"},
        {"body": "Call me.", "subject": ["call", "phone call"]},
    ])
    corpus = read_summaries(path, "body", "subject")
    assert corpus.source == ["Meeting on Friday at 10.", "Call me."]
    assert corpus.target == ["meeting friday", "call"]
    assert corpus.references == [["meeting friday"], ["call", "phone call"]]
    assert read_summaries(path, "body", None).target == []


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t")])
def test_csv_and_tsv(tmp_path, suffix, sep):
    path = tmp_path / f"d{suffix}"
    path.write_text(f"text{sep}summary\nthe long text{sep}short\n")
    corpus = read_summaries(path, "text", "summary")
    assert corpus.source == ["the long text"] and corpus.references == [["short"]]


def test_the_aeslc_layout(tmp_path):
    (tmp_path / "a.subject").write_text("Hi,\nthe body.\n\n@subject\nOriginal\n\n@ann0\none\n\n"
                                        "@ann1\ntwo\n\n@ann2\nthree")
    (tmp_path / "b.subject").write_text("Another body.\n@subject\nOnly subject\n")
    corpus = read_summaries(tmp_path)
    assert corpus.source == ["Hi, the body.", "Another body."]
    assert corpus.target == ["Original", "Only subject"]
    assert corpus.references == [["one", "two", "three"], ["Only subject"]]


@pytest.mark.parametrize("records, message", [
    ([{"body": "x"}], "line 1: no field 'subject'"),
    ([{"body": "x", "subject": "y"}, {"body": "  ", "subject": "y"}],
     "line 2: field 'body' is empty"),
    ([{"body": 3, "subject": "y"}], "must be text"),
])
def test_bad_records_name_the_line(tmp_path, records, message):
    with pytest.raises(InputError, match=message):
        read_summaries(_jsonl(tmp_path / "d.jsonl", records), "body", "subject")


def test_undecodable_unknown_and_missing_files(tmp_path):
    bad = tmp_path / "d.jsonl"
    bad.write_bytes(b'{"body": "caf\xe9"}\n')
    with pytest.raises(InputError, match="not UTF-8"):
        read_summaries(bad, "body", None)
    other = tmp_path / "d.xml"
    other.write_text("<x/>")
    with pytest.raises(InputError, match="cannot tell the format"):
        read_summaries(other)
    with pytest.raises(InputError, match="no such file"):
        read_summaries(tmp_path / "none.jsonl")
    with pytest.raises(InputError, match="no .subject files"):
        read_summaries(tmp_path / "..")


def test_extended_vocabulary_makes_source_oovs_copyable():
    assert extend_source([5, 1, 6, 1, 1], ["a", "Enron", "b", "Lay", "Enron"], 10) == (
        [5, 10, 6, 11, 10], ["Enron", "Lay"])
    side = Side.build(["meeting on friday", "call on friday"], CorpusConfig(min_freq=1))
    V = len(side.vocab)
    e = encode_example(side, "meeting Skilling on monday", 3, "Skilling monday meeting", 5)
    assert e.tokens == ["meeting", "Skilling", "on"] and e.truncated
    assert e.extended[1] == V and e.oov == ["Skilling"]
    assert e.target == [V, side.vocab.unk_index, side.vocab.index["meeting"]]
    assert decode_extended(side, [*e.target, side.eos_index, 5], e.oov) == [
        "Skilling", "<unk>", "meeting"]
    (source, lengths, target_in, extended), target_out = next(iter(
        copy_loader([e], side, 4, shuffle=False)))
    assert target_in.tolist() == [[side.bos_index, 1, 1, side.vocab.index["meeting"]]]
    assert target_out.tolist() == [[*e.target, side.eos_index]]
    assert extended.tolist() == [e.extended] and lengths.tolist() == [3]
