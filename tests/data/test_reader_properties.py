"""Bad bytes never crash the text readers: each parses or raises rnnkit's InputError."""

import gzip
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.parallel import read_parallel, read_sentences
from rnnkit.data.text import read_lines, read_text_table
from rnnkit.errors import InputError

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
LINES = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(["", "\t", "a\t1", '"', "x,y"])),
                 max_size=8)


def parses_or_refuses(read, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read(*args)
        except InputError as err:
            assert str(err)
            return None


@FUZZ
@given(data=st.binary(max_size=300), header=st.sampled_from([b"sentence\tlabel\n", b"text,y\n",
                                                           b""]))
def test_classification_files(tmp_path, data, header):
    path = tmp_path / "fuzz.tsv"
    path.write_bytes(header + data)
    table = parses_or_refuses(read_text_table, path)
    if table is not None:
        assert len(table.texts) == len(table.labels) > 0
    parses_or_refuses(read_lines, path)


@FUZZ
@given(lines=LINES, data=st.binary(max_size=120), compress=st.booleans())
def test_parallel_corpora(tmp_path, lines, data, compress):
    source, target = tmp_path / "s.txt", tmp_path / "t.txt"
    text = "\n".join(lines).encode() + data
    if compress:
        source, target = tmp_path / "s.txt.gz", tmp_path / "t.txt.gz"
        source.write_bytes(gzip.compress(text))
        target.write_bytes(gzip.compress("\n".join(reversed(lines)).encode()))
    else:
        source.write_bytes(text)
        target.write_bytes("\n".join(reversed(lines)).encode())
    parses_or_refuses(read_sentences, source)
    corpus = parses_or_refuses(read_parallel, source, target)
    if corpus is not None:
        assert len(corpus.source) == len(corpus.target)
