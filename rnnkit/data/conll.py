"""Tagged tokens: CoNLL column files, UD-style ``token<TAB>tag`` files and ``word/TAG``
sentences, read with the line of every problem; chunk tagging schemes (IOB1, IOB2, IOBES)
and the conversion between them.

Formats (``fmt``):

- ``conll``: one token per line, fields separated by spaces or by tabs (a line with a tab
  is split at tabs only, so a token may hold spaces), the word first; a blank line ends a
  sentence; ``-DOCSTART-`` lines end a document and are skipped; lines that start with
  ``#`` before a sentence's first token and either hold ``" = "`` (CoNLL-U's ``# text = ...``)
  or have another number of fields than the file are comments. The tag is the field
  ``column`` (0-based, the word being 0; default: the last); with one field there are no tags.
  Other fields can be read as inputs beside the word (``features``, e.g. the part-of-speech
  column of CoNLL-2000, as NCRF++ reads them); the tag column cannot be one.
  UD-style ``token<TAB>tag`` files (``$RNNKIT_DATA/ud_ewt``) are this format with two fields.
- ``slash``: one sentence per line, tokens separated by spaces, each ``word/TAG`` (split at
  the last ``/``, so ``1/2/CD`` is the word ``1/2``); no feature columns.
- ``auto``: ``slash`` when every token of the first lines has a ``/`` with text on both
  sides, else ``conll``.

Schemes: a chunk of type X is ``B-X I-X ...`` in IOB2; in IOB1 it starts with ``I-X``
unless it follows a chunk of the same type (then ``B-X``); in IOBES a one-token chunk is
``S-X`` and a longer one ``B-X I-X ... E-X``. Chunks are found with conlleval's rules
(`chunks`), so conversion keeps exactly the chunks that conlleval scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rnnkit.errors import InputError

FORMATS = ("auto", "conll", "slash")
SCHEMES = ("iob1", "iob2", "iobes")
DOCSTART = "-DOCSTART-"


@dataclass
class TaggedSentences:
    """Sentences of tokens (and their tags) read from ``source``.

    ``lines[k]`` is the file line of sentence k's first token; ``fields[k][t]`` every field of
    token t as read (conll format), so predictions can be written back beside them;
    ``column`` the tag field (0-based; None without tags); ``scheme`` the chunk scheme of the
    tags after conversion (None: tags kept as read); ``features[k][t]`` token t's values of
    the feature columns read as inputs, in the order they were asked for (None: none).
    """

    tokens: list[list[str]]
    tags: list[list[str]] | None
    lines: list[int]
    source: str
    fmt: str = "conll"
    fields: list[list[list[str]]] | None = None
    column: int | None = None
    scheme: str | None = None
    separator: str = " "  # between the fields of a conll file: a space or a tab
    features: list[list[list[str]]] | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def token_count(self) -> int:
        """Tokens in all sentences."""
        return sum(len(s) for s in self.tokens)

    def subset(self, index: Sequence[int], source: str | None = None) -> TaggedSentences:
        """The sentences at ``index``, in that order (e.g. a validation part carved from
        training), named ``source`` (default: this one's)."""

        def pick(values: list | None) -> list | None:
            return None if values is None else [values[k] for k in index]

        return replace(self, tokens=pick(self.tokens), tags=pick(self.tags),
                       lines=pick(self.lines), fields=pick(self.fields),
                       features=pick(self.features),
                       source=self.source if source is None else source)


# ---- schemes --------------------------------------------------------------------------------


def split_tag(tag: str) -> tuple[str, str]:
    """A tag's prefix and type as conlleval splits it: ``B-PER`` -> (``B``, ``PER``), ``O`` ->
    (``O``, ``""``); a tag without ``-`` is its own prefix with an empty type.

    >>> split_tag("I-MISC"), split_tag("O"), split_tag("B-a-b")
    (('I', 'MISC'), ('O', ''), ('B', 'a-b'))
    """
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def _ends(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    """conlleval's ``endOfChunk`` (with seqeval's rules for ``S``, which it lacks)."""
    if prev in ("E", "S", "[", "]"):
        return True
    if prev == "B" and tag in ("B", "S", "O"):
        return True
    if prev == "I" and tag in ("B", "S", "O"):
        return True
    return prev not in ("O", ".") and prev_type != kind


def _starts(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    """conlleval's ``startOfChunk`` (with seqeval's rules for ``S``, which it lacks)."""
    if tag in ("B", "S", "[", "]"):
        return True
    if prev in ("E", "S") and tag in ("E", "I"):
        return True
    if prev == "O" and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != kind


def chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The chunks of one sentence as ``(type, start, end)`` (end exclusive), found with
    conlleval's rules: any scheme (IOB1, IOB2, IOBES) and ill-formed sequences are read as
    conlleval reads them (an ``I-X`` after ``O`` starts a chunk; a change of type ends one).

    >>> chunks(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5), ('ORG', 5, 6)]
    """
    found: list[tuple[str, int, int]] = []
    prev, prev_type, start = "O", "", None
    for t, tag in enumerate([*tags, "O"]):  # a final O closes the last chunk
        prefix, kind = split_tag(tag)
        if start is not None and _ends(prev, prefix, prev_type, kind):
            found.append((prev_type, start, t))
            start = None
        if _starts(prev, prefix, prev_type, kind):
            start = t
        prev, prev_type = prefix, kind
    return found


def encode_chunks(chunk_list: Sequence[tuple[str, int, int]], length: int,
                  scheme: str) -> list[str]:
    """Tags of a sentence of ``length`` tokens holding ``chunk_list`` in ``scheme``.

    >>> encode_chunks([("PER", 0, 2), ("PER", 2, 3)], 4, "iob1")
    ['I-PER', 'I-PER', 'B-PER', 'O']
    >>> encode_chunks([("PER", 0, 2), ("PER", 2, 3)], 4, "iobes")
    ['B-PER', 'E-PER', 'S-PER', 'O']
    """
    tags = ["O"] * length
    last_end, last_type = -1, None
    for kind, start, end in sorted(chunk_list, key=lambda c: c[1]):
        for t in range(start, end):
            tags[t] = f"I-{kind}"
        if scheme == "iob2" or (scheme == "iob1" and last_end == start and last_type == kind):
            tags[start] = f"B-{kind}"
        elif scheme == "iobes":
            if end - start == 1:
                tags[start] = f"S-{kind}"
            else:
                tags[start], tags[end - 1] = f"B-{kind}", f"E-{kind}"
        last_end, last_type = end, kind
    return tags


def check_chunk_tags(tags: Sequence[str], where: str) -> None:
    """Raise `InputError` (naming ``where``) for a tag that is neither ``O`` nor
    ``B-``/``I-``/``E-``/``S-`` followed by a type."""
    for tag in tags:
        prefix, kind = split_tag(tag)
        if tag != "O" and (prefix not in ("B", "I", "E", "S") or not kind):
            raise InputError(f"{where}: tag {tag!r} is not a chunk tag (O, B-X, I-X, E-X or "
                             "S-X); leave --scheme out for tags such as part of speech")


def convert(tags: Sequence[str], scheme: str) -> list[str]:
    """One sentence's tags in ``scheme`` (``iob1``, ``iob2`` or ``iobes``), whatever chunk
    scheme they were in.

    >>> convert(["I-ORG", "I-ORG", "O", "I-PER", "B-PER"], "iob2")
    ['B-ORG', 'I-ORG', 'O', 'B-PER', 'B-PER']
    """
    if scheme not in SCHEMES:
        raise InputError(f"--scheme {scheme!r} is not known; choose one of {', '.join(SCHEMES)}")
    return encode_chunks(chunks(tags), len(tags), scheme)


def detect_scheme(sentences: Sequence[Sequence[str]]) -> str | None:
    """The chunk scheme of tagged sentences: ``iobes`` when ``E-``/``S-`` tags occur, ``iob1``
    when a chunk starts with ``I-`` (or ``B-`` only separates chunks of one type), ``iob2``
    for other ``B-``/``I-`` tags; None when the tags are not all chunk tags (e.g. POS)."""
    prefixes: set[str] = set()
    for tags in sentences:
        for tag in tags:
            prefix, kind = split_tag(tag)
            if tag != "O" and (prefix not in ("B", "I", "E", "S") or not kind):
                return None
            prefixes.add(prefix)
    if prefixes & {"E", "S"}:
        return "iobes"
    if not prefixes & {"B", "I"}:
        return None
    for tags in sentences:
        if list(tags) != encode_chunks(chunks(tags), len(tags), "iob2"):
            return "iob1"
    return "iob2"


# ---- reading --------------------------------------------------------------------------------


def _text(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{path}, line {line}: bytes that are not UTF-8 ({err.reason}); "
                         "save the file as UTF-8") from err
    if not text.strip():
        raise InputError(f"{path} is empty; it needs tagged sentences")
    return text.splitlines()


def _split(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split()


def _detect_format(lines: list[str]) -> str:
    content = [line for line in lines if line.strip() and not line.startswith("#")][:5]
    slashed = all(all(0 < token.rfind("/") < len(token) - 1 for token in line.split())
                  for line in content)
    return "slash" if content and slashed else "conll"


def check_features(features: Sequence[int], column: int | None) -> None:
    """Raise `InputError` for feature columns that are not fields after the word, repeat,
    or include the tag ``column``.

    >>> check_features([1, 3], column=2)
    >>> check_features([2], column=2)
    Traceback (most recent call last):
    rnnkit.errors.InputError: --features 2 and --column 2: the tag column cannot be a feature
    """
    for c in features:
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            raise InputError(f"--features {c!r}: feature columns are 0-based field numbers "
                             "after the word (the word is 0), e.g. --features 1")
        if c == column:
            raise InputError(f"--features {c} and --column {column}: the tag column cannot be "
                             "a feature")
    if len(set(features)) != len(features):
        raise InputError(f"--features {','.join(map(str, features))} repeats a column")


def _tag_column(path: Path, width: int, column: int | None, features: Sequence[int],
                tags: bool) -> int | None:
    """The tag field of a conll file with ``width`` fields per token line: ``column``, by
    default the last; None without one (a word-only file, or an untagged file whose last
    field is a feature column)."""
    if width == 1:
        return None
    tag_column = width - 1 if column is None else column
    if not 1 <= tag_column < width:
        raise InputError(f"--column {column}: {path} has {width} fields per token line "
                         f"(0 is the word); choose 1..{width - 1}")
    if tag_column not in features:
        return tag_column
    if column is None and not tags:
        return None  # the word and its features, no tags
    if width == 2:
        raise InputError(f"--features {tag_column}: {path} has two fields per token line, "
                         "the word and its tag; no column is left to read as a feature")
    raise InputError(f"--features {tag_column}: column {tag_column} of {path} is its tag "
                     "column; a feature column must be another one (--column picks the tag)")


def _read_conll(lines: list[str], path: Path, column: int | None, tags: bool,
                features: Sequence[int] = ()) -> TaggedSentences:
    line = next((x for x in lines if x.strip() and not x.startswith("#")
                 and not x.startswith(DOCSTART)), None)
    if line is None:
        raise InputError(f"{path} has no token lines; expected one token per line, e.g. "
                         "'EU NNP B-NP B-ORG'")
    width = len(_split(line))
    tag_column = _tag_column(path, width, column, features, tags)
    if tags and tag_column is None:
        raise InputError(f"{path} has one field per line (no tags); give 'word TAG' lines")
    result = TaggedSentences([], [] if tag_column is not None else None, [], str(path),
                             "conll", [], tag_column, separator="\t" if "\t" in line else " ",
                             features=[] if features else None)
    needed = max(features, default=0)
    sentence: list[list[str]] = []

    def close() -> None:
        if sentence:
            result.tokens.append([f[0] for f in sentence])
            if result.tags is not None:
                result.tags.append([f[tag_column] for f in sentence])
            result.fields.append(sentence.copy())
            if result.features is not None:
                result.features.append([[f[c] for c in features] for f in sentence])
            sentence.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            close()
            continue
        if line.startswith(DOCSTART):
            close()
            continue
        fields = _split(line.rstrip("\r\n"))
        if line.startswith("#") and not sentence and (" = " in line or len(fields) != width):
            continue  # a comment
        if len(fields) <= needed:
            missing = min(c for c in features if c >= len(fields))
            raise InputError(f"{path}, line {number} has {len(fields)} field(s) and no feature "
                             f"column {missing} (--features; 0 is the word): {line.strip()!r}")
        if len(fields) != width:
            raise InputError(f"{path}, line {number} has {len(fields)} field(s) where the "
                             f"file's first token line has {width}: {line.strip()!r}")
        if any(not f.strip() for f in fields):
            raise InputError(f"{path}, line {number} has an empty field (two separators in a "
                             f"row?): {line!r}")
        if not sentence:
            result.lines.append(number)
        sentence.append([f.strip() for f in fields])
    close()
    return result


def _read_slash(lines: list[str], path: Path, tags: bool) -> TaggedSentences:
    result = TaggedSentences([], [], [], str(path), "slash")
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        words, found = [], []
        for token in line.split():
            cut = token.rfind("/")
            if not 0 < cut < len(token) - 1:
                if tags:
                    raise InputError(f"{path}, line {number}: token {token!r} is not "
                                     "'word/TAG'")
                words.append(token)
                continue
            words.append(token[:cut])
            found.append(token[cut + 1 :])
        if found and len(found) != len(words):
            raise InputError(f"{path}, line {number}: some tokens have a /TAG and some not")
        result.tokens.append(words)
        result.tags.append(found)
        result.lines.append(number)
    if not result.tokens:
        raise InputError(f"{path} has no sentences; expected 'word/TAG word/TAG ...' lines")
    if not all(result.tags):
        if tags:
            raise InputError(f"{path}: some sentences have no tags")
        result.tags = None
    return result


def read_tagged(path: str | Path, fmt: str = "auto", column: int | None = None,
                scheme: str | None = None, tags: bool = True,
                features: Sequence[int] = ()) -> TaggedSentences:
    """Read a tagged file (see the module docstring for the formats) into `TaggedSentences`.

    ``column`` picks the tag field of a conll file (0-based, the word being 0; default: the
    last). ``scheme`` converts chunk tags to ``iob1``, ``iob2`` or ``iobes`` (None: keep them
    as read). With ``tags=False`` a file without tags (one token per line, or plain words)
    is read too; with ``features`` too, a file whose last field is a feature column has no
    tags. ``features`` are fields of a conll file (0-based) read as inputs into
    ``TaggedSentences.features``. Malformed lines are `InputError` s naming the file and the
    line.

    Example:
        >>> path = Path("ner.txt")  # in the current folder
        >>> _ = path.write_text("-DOCSTART- -X- -X- O\\n\\nEU NNP B-NP B-ORG\\n"
        ...                     "rejects VBZ B-VP O\\nGerman JJ B-NP B-MISC\\n")
        >>> data = read_tagged(path, scheme="iobes")
        >>> data.tokens, data.tags, data.lines
        ([['EU', 'rejects', 'German']], [['S-ORG', 'O', 'S-MISC']], [3])
        >>> read_tagged(path, column=2, features=[1]).features
        [[['NNP'], ['VBZ'], ['JJ']]]
    """
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r} is not known; choose one of {', '.join(FORMATS)}")
    if scheme is not None and scheme not in SCHEMES:
        raise InputError(f"--scheme {scheme!r} is not known; choose one of {', '.join(SCHEMES)}")
    check_features(features, column)
    path = Path(path)
    lines = _text(path)
    fmt = _detect_format(lines) if fmt == "auto" else fmt
    if fmt == "slash" and features:
        raise InputError(f"--features {','.join(map(str, features))}: {path} is in the slash "
                         "format (word/TAG), which has no columns; feature columns need a CoNLL "
                         "file (one token per line, its fields in columns)")
    result = _read_slash(lines, path, tags) if fmt == "slash" else \
        _read_conll(lines, path, column, tags, features)
    if not result.tokens:
        raise InputError(f"{path} has no sentences")
    if scheme is not None and result.tags is not None:
        for k, sentence in enumerate(result.tags):
            check_chunk_tags(sentence, f"{path}, sentence at line {result.lines[k]}")
        result.tags = [convert(sentence, scheme) for sentence in result.tags]
        result.scheme = scheme
    return result


def write_tagged(data: TaggedSentences, predicted: Sequence[Sequence[str]]) -> str:
    """The sentences with a predicted tag per token, in the format they were read in: conll
    files get the predicted tag as a new last field (``word ... gold predicted``, what
    conlleval reads; the gold field in the scheme it was converted to) and a blank line after
    each sentence; slash files ``word/PREDICTED``."""
    out: list[str] = []
    for k, words in enumerate(data.tokens):
        if data.fmt == "slash":
            out.append(" ".join(f"{w}/{p}" for w, p in zip(words, predicted[k], strict=True)))
            continue
        for t, (fields, tag) in enumerate(zip(data.fields[k], predicted[k], strict=True)):
            if data.tags is not None:  # the gold tag as read, in the scheme converted to
                fields = [*fields[: data.column], data.tags[k][t], *fields[data.column + 1 :]]
            out.append(data.separator.join([*fields, tag]))
        out.append("")
    return "\n".join(out) + "\n"
