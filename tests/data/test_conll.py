import pytest

from rnnkit.data.conll import chunks, convert, detect_scheme, read_tagged, write_tagged
from rnnkit.errors import InputError

IOB1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "O", "I-ORG", "B-ORG", "I-ORG"]
IOB2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O", "B-ORG", "B-ORG", "I-ORG"]
IOBES = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O", "S-ORG", "B-ORG", "E-ORG"]


def test_schemes_round_trip_and_keep_the_chunks():
    for source in (IOB1, IOB2, IOBES):
        assert convert(source, "iob1") == IOB1
        assert convert(source, "iob2") == IOB2
        assert convert(source, "iobes") == IOBES
        assert chunks(source) == [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5), ("ORG", 6, 7),
                                  ("ORG", 7, 9)]
    assert convert(convert(convert(IOB1, "iobes"), "iob2"), "iob1") == IOB1
    assert [detect_scheme([s]) for s in (IOB1, IOB2, IOBES)] == ["iob1", "iob2", "iobes"]
    assert detect_scheme([["NOUN", "VERB"]]) is None


def test_conll_columns_docstart_comments_and_tabs(tmp_path):
    path = tmp_path / "ner.txt"
    path.write_text("-DOCSTART- -X- -X- O\n\n# sent_id = 1\nEU NNP B-NP B-ORG\n"
                    "rejects VBZ B-VP O\n\n\n# # B-NP O\nGerman JJ I-NP B-MISC\n")
    data = read_tagged(path)
    assert data.tokens == [["EU", "rejects"], ["#", "German"]]  # a '#' token is no comment
    assert data.tags == [["B-ORG", "O"], ["O", "B-MISC"]] and data.lines == [4, 8]
    chunk = read_tagged(path, column=2, scheme="iobes")
    assert chunk.tags == [["S-NP", "S-VP"], ["B-NP", "E-NP"]] and chunk.column == 2
    ud = tmp_path / "ud.tsv"
    ud.write_text("#\tSYM\nNew York\tPROPN\n\n# text = Hi\nHi\tINTJ\n")
    data = read_tagged(ud)
    assert data.tokens == [["#", "New York"], ["Hi"]] and data.tags == [["SYM", "PROPN"],
                                                                          ["INTJ"]]
    assert write_tagged(data, [["X", "Y"], ["Z"]]).splitlines()[1] == "New York\tPROPN\tY"


def test_slash_format_and_untagged_files(tmp_path):
    path = tmp_path / "pos.txt"
    path.write_text("The/DT 1/2/CD dogs/NNS\n\nrun/VB\n")
    data = read_tagged(path)
    assert data.fmt == "slash" and data.tokens == [["The", "1/2", "dogs"], ["run"]]
    assert data.tags == [["DT", "CD", "NNS"], ["VB"]] and data.lines == [1, 3]
    assert write_tagged(data, [["A", "B", "C"], ["D"]]) == "The/A 1/2/B dogs/C\nrun/D\n"
    words = tmp_path / "words.txt"
    words.write_text("EU\nrejects\n\nGerman\n")
    plain = read_tagged(words, fmt="conll", tags=False)
    assert plain.tags is None and plain.tokens == [["EU", "rejects"], ["German"]]


@pytest.mark.parametrize("content, kwargs, message", [
    ("EU B-ORG\nrejects O x\n", {}, "line 2 has 3 field(s) where the file's first token "
                                    "line has 2"),
    ("EU\tB-ORG\nrejects\t\n", {}, "line 2 has an empty field"),
    ("EU NNP B-ORG\n", {"column": 3}, "--column 3"),
    ("EU B-ORG\nis VERB\n", {"scheme": "iob2"}, "tag 'VERB' is not a chunk tag"),
    ("The/DT dog/NN\nruns VB\n", {"fmt": "slash"}, "line 2: token 'runs' is not 'word/TAG'"),
    ("\n\n", {}, "is empty"),
    ("EU\nis\n", {}, "one field per line (no tags)"),
])
def test_malformed_input_names_file_and_line(tmp_path, content, kwargs, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InputError, match="bad.txt") as err:
        read_tagged(path, **kwargs)
    assert message in str(err.value)


def test_subset_keeps_tokens_tags_lines_and_fields_together(tmp_path):
    path = tmp_path / "ner.txt"
    path.write_text("EU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\n\nBonn NNP B-LOC\n")
    data = read_tagged(path, "conll")
    part = data.subset([2, 0], "dev")
    assert part.tokens == [["Bonn"], ["EU", "rejects"]] and part.tags == [["B-LOC"], ["B-ORG", "O"]]
    assert part.lines == [6, 1] and part.fields[0] == [["Bonn", "NNP", "B-LOC"]]
    assert part.source == "dev" and len(data) == 3
