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


def _caption_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    if not folder.exists():
        folder.mkdir()
        Image.new("RGB", (6, 4), (200, 10, 10)).save(folder / "a.jpg")
        (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return folder


CAPTION_LINES = st.lists(st.one_of(
    st.text(max_size=20),
    st.sampled_from(["a.jpg#0\tA red image .", "a.jpg\tred", "broken.png#1\tx", "b.jpg#0\ty",
                     "\t", "#0\tz", "a.jpg#0\t "])), max_size=6)


@FUZZ
@given(lines=CAPTION_LINES, data=st.binary(max_size=80))
def test_flickr_caption_files(tmp_path, lines, data):
    from rnnkit.data.captions import read_captions

    path = tmp_path / "tokens.txt"
    path.write_bytes("\n".join(lines).encode() + data)
    found = parses_or_refuses(read_captions, _caption_folder(tmp_path), path, (4, 4))
    if found is not None:
        assert len(found) == len(found.captions) > 0 and all(found.captions)


IDS = st.one_of(st.integers(0, 2), st.none(), st.text(max_size=2), st.lists(st.integers(0, 1),
                                                                         max_size=1))
COCO = st.fixed_dictionaries({
    "images": st.lists(st.fixed_dictionaries(
        {"id": IDS, "file_name": st.sampled_from(["a.jpg", "broken.png", "b.jpg", 3])}),
        max_size=3),
    "annotations": st.lists(st.fixed_dictionaries(
        {"image_id": IDS, "caption": st.one_of(st.text(max_size=8), st.integers(), st.none())}),
        max_size=3)})


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), COCO, st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(
                                ["images", "annotations", "id", "file_name", "image_id",
                                 "caption"]), inner, max_size=4)), max_leaves=12)))
def test_coco_caption_files(tmp_path, data):
    import json

    from rnnkit.data.captions import read_captions

    path = tmp_path / "captions.json"
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    found = parses_or_refuses(read_captions, _caption_folder(tmp_path), path, (4, 4))
    if found is not None:
        assert len(found) == len(found.captions) > 0
