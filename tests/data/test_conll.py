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


def test_feature_columns_are_read_beside_the_word_and_kept_by_subset(tmp_path):
    path = tmp_path / "chunk.txt"
    path.write_text("He PRP B-NP\nruns VBZ B-VP\n\nDogs NNS B-NP\n")
    data = read_tagged(path, features=[1])
    assert data.features == [[["PRP"], ["VBZ"]], [["NNS"]]] and data.column == 2
    assert data.subset([1]).features == [[["NNS"]]]
    assert read_tagged(path).features is None
    untagged = tmp_path / "words-and-pos.txt"  # the last field is the feature: no tags
    untagged.write_text("He PRP\nruns VBZ\n")
    plain = read_tagged(untagged, features=[1], tags=False)
    assert plain.tags is None and plain.features == [[["PRP"], ["VBZ"]]]


@pytest.mark.parametrize("content, kwargs, message", [
    ("He PRP B-NP\nruns VBZ B-VP\n", {"features": [2]},
     "--features 2: column 2 of {path} is its tag column"),
    ("He PRP B-NP\n", {"features": [2], "column": 2},
     "--features 2 and --column 2: the tag column cannot be a feature"),
    ("He\tPRON\nruns\tVERB\n", {"features": [1]},
     "--features 1: {path} has two fields per token line, the word and its tag"),
    ("He PRP NP B-NP\n\nruns VBZ\n", {"features": [1, 2], "column": 3, "tags": False},
     "{path}, line 3 has 2 field(s) and no feature column 2"),
    ("He/PRP runs/VBZ\n", {"features": [1]}, "--features 1: {path} is in the slash format"),
    ("He PRP B-NP\n", {"features": [0]}, "--features 0: feature columns are 0-based field"),
    ("He PRP NP B-NP\n", {"features": [1, 2, 1]}, "--features 1,2,1 repeats a column"),
])
def test_bad_feature_columns_name_the_file_line_and_column(tmp_path, content, kwargs, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_tagged(path, **kwargs)
    assert message.format(path=path) in str(err.value)
