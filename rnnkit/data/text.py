"""Text for recurrent models: tokenizers, a vocabulary, batches with lengths, TSV/CSV files.

The pipeline is ``text -> tokenizer.tokenize -> Vocab.encode -> BucketSampler + TextBatches ->
(tokens (B, T), lengths (B,))``, which feeds `Recurrent`'s ``lengths`` (packed on the fast
path). Each piece is independent of the task: a classifier uses one tokenizer and vocabulary,
a translator one per side, and ``detokenize(vocab.decode(ids))`` turns ids back into text.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, Sampler

from rnnkit.data.series import SEPARATORS, check_sep, detect_sep, refuse_split_header
from rnnkit.errors import InputError

PAD, UNK = "<pad>", "<unk>"

#: Column names looked for, in this order, when no text or label column is named.
TEXT_COLUMNS = ("sentence", "text", "review", "document", "content")
LABEL_COLUMNS = ("label", "labels", "sentiment", "class", "category", "target")


# ---- tokenizers -----------------------------------------------------------------------------


class Tokenizer(Protocol):
    """What every tokenizer offers: text -> tokens, tokens -> text, a JSON-ready state."""

    kind: str

    def tokenize(self, text: str) -> list[str]:
        """Split a text into tokens."""

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Join tokens back into text."""

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild the tokenizer (see `tokenizer_from_dict`)."""


@functools.cache
def _extenders() -> str:
    """A regex character class body of what extends the character before it: every combining
    mark (Unicode category M*) and the emoji skin-tone modifiers.

    Python's ``\\w`` excludes marks, which would cut words of many scripts (Devanagari
    vowel signs, decomposed accents) apart. Marks beyond U+20000 are only in E0100-E01EF.
    """
    ranges: list[list[int]] = []
    for cp in [*range(0x20000), *range(0xE0100, 0xE01F0)]:
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    ranges.append([0x1F3FB, 0x1F3FF])
    return "".join(re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b)))
                   for a, b in ranges)


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    e = f"[{_extenders()}]"
    letter = rf"\w{e}*"
    clitic = r"(?i:s|re|ve|ll|d|m)"
    negation = r"[nN]['’][tT](?!\w)"
    return re.compile(
        rf"{negation}"  # Penn Treebank contractions: is n't, ca n't, it 's, we 're
        rf"|['’]{clitic}(?!\w)"
        rf"|(?:(?!{negation}){letter})+(?:(?:-|['’](?!(?:{clitic}|[tT])(?!\w)))(?:{letter})+)*"
        r"|\.{2,}|-{2,}|`{2,}|'{2,}"  # ... -- `` '' stay whole
        rf"|\S{e}*(?:\u200d\S{e}*)*"  # any other visible character (an emoji ZWJ sequence)
    )


# no space before these tokens, and none after the opening ones (detokenisation)
_CLOSING = frozenset(".,;:!?%)]}»”…") | {"'s", "'re", "'ve", "'ll", "'d", "'m", "n't"}
_OPENING = frozenset("([{«“¿¡$#")


class WordTokenizer:
    """Words and punctuation, Unicode-aware, as in the Penn Treebank; no training needed.

    Text is NFC-normalised first; a word is a run of letters, digits, underscores and
    combining marks, which may contain inner hyphens or apostrophes (``christmas-tree``,
    ``o'clock``). Contractions are split as in the Penn Treebank (``isn't`` -> ``is n't``,
    ``it's`` -> ``it 's``), so raw text meets the vocabulary of treebank-tokenised data
    (SST-2), whose tokens are kept as they are. ``...``, ``--``, ````` and ``''`` stay whole;
    any other visible character (with its marks; an emoji sequence) is one token.

    Example:
        >>> WordTokenizer(lowercase=True).tokenize("Naïve, isn't it? It's 2x-faster!")
        ['naïve', ',', 'is', "n't", 'it', '?', 'it', "'s", '2x-faster', '!']
    """

    kind = "word"

    def __init__(self, lowercase: bool = False) -> None:
        self.lowercase = lowercase
        self._pattern = _word_pattern()

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text``, in order."""
        text = unicodedata.normalize("NFC", text)
        if self.lowercase:
            text = text.lower()
        return self._pattern.findall(text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Tokens joined by spaces, except before closing and after opening punctuation."""
        parts: list[str] = []
        for k, token in enumerate(tokens):
            if k and token not in _CLOSING and tokens[k - 1] not in _OPENING:
                parts.append(" ")
            parts.append(token)
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "word", "lowercase": ...}``."""
        return {"kind": self.kind, "lowercase": self.lowercase}


class CharTokenizer:
    r"""Characters (NFC code points, spaces and line breaks included): the tokens of a
    character-level model (Karpathy's char-rnn, Graves 2013); no training needed.

    Example:
        >>> CharTokenizer().tokenize("Hi!\n")
        ['H', 'i', '!', '\n']
    """

    kind = "char"

    def __init__(self, lowercase: bool = False) -> None:
        self.lowercase = lowercase

    def tokenize(self, text: str) -> list[str]:
        """The characters of ``text``, in order."""
        text = unicodedata.normalize("NFC", text)
        return list(text.lower() if self.lowercase else text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        """The characters joined."""
        return "".join(tokens)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "char", "lowercase": ...}``."""
        return {"kind": self.kind, "lowercase": self.lowercase}


class BPETokenizer:
    """Subword byte-pair encoding (Sennrich et al. 2016) through Hugging Face ``tokenizers``.

    Text is NFC-normalised (and lower-cased if asked), split at spaces (kept as ``▁`` so
    detokenisation is exact) and punctuation, then into learned subwords: rare words become
    several known pieces instead of one unknown token. Characters never seen in training
    become ``<unk>``.

    Example:
        >>> bpe = BPETokenizer.train(["the movie was great", "a great film"], vocab_size=60)
        >>> bpe.detokenize(bpe.tokenize("the great movie"))
        'the great movie'
    """

    kind = "bpe"

    def __init__(self, model: Any) -> None:
        self.model = model

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 8000, lowercase: bool = False,
              min_frequency: int = 2) -> BPETokenizer:
        """Learn merges on ``texts`` until ``vocab_size`` subwords (or no pair is left that
        occurs ``min_frequency`` times)."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

        model = HFTokenizer(models.BPE(unk_token=UNK))
        steps = [normalizers.NFC(), *([normalizers.Lowercase()] if lowercase else [])]
        model.normalizer = normalizers.Sequence(steps)
        model.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()]
        )
        model.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                      special_tokens=[UNK], show_progress=False)
        model.train_from_iterator(texts, trainer=trainer)
        return cls(model)

    def tokenize(self, text: str) -> list[str]:
        """The subword tokens of ``text``."""
        return self.model.encode(text).tokens

    def detokenize(self, tokens: Sequence[str]) -> str:
        """The text the subwords spell (word boundaries come from their ``▁`` marks)."""
        return self.model.decoder.decode(list(tokens))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "bpe", "model": <the tokenizers library's own JSON>}``."""
        import json

        return {"kind": self.kind, "model": json.loads(self.model.to_str())}


TOKENIZERS = ("word", "bpe", "char")


def build_tokenizer(kind: str, texts: Sequence[str], lowercase: bool = False,
                    bpe_vocab_size: int = 8000) -> Tokenizer:
    """A tokenizer by name; ``bpe`` is trained on ``texts`` (the training texts only)."""
    if kind == "word":
        return WordTokenizer(lowercase)
    if kind == "char":
        return CharTokenizer(lowercase)
    if kind == "bpe":
        return BPETokenizer.train(texts, bpe_vocab_size, lowercase)
    raise InputError(f"--tokenizer {kind!r} is not known; choose one of {', '.join(TOKENIZERS)}")


def tokenizer_from_dict(data: Any, where: str) -> Tokenizer:
    """Rebuild a tokenizer from `Tokenizer.to_dict` output; anything else is an `InputError`."""
    if not isinstance(data, dict) or data.get("kind") not in TOKENIZERS:
        raise InputError(f"{where}: not a tokenizer written by rnnkit (no known 'kind')")
    if data["kind"] in ("word", "char"):
        if set(data) != {"kind", "lowercase"} or not isinstance(data["lowercase"], bool):
            raise InputError(f"{where}: a {data['kind']} tokenizer has exactly 'kind' and "
                             "'lowercase'")
        return (WordTokenizer if data["kind"] == "word" else CharTokenizer)(data["lowercase"])
    import json

    from tokenizers import Tokenizer as HFTokenizer

    if set(data) != {"kind", "model"}:
        raise InputError(f"{where}: a bpe tokenizer has exactly 'kind' and 'model'")
    try:
        return BPETokenizer(HFTokenizer.from_str(json.dumps(data["model"])))
    except Exception as err:  # the library raises its own exception type for bad JSON
        raise InputError(f"{where}: the bpe model cannot be read ({err})") from err


# ---- vocabulary -----------------------------------------------------------------------------


class Vocab:
    """Tokens <-> integer ids: ``<pad>`` is 0, ``<unk>`` is 1, then any extra special tokens,
    then the training tokens from most to least frequent (ties alphabetical).

    Unknown tokens map to ``<unk>``. Build it on the training texts only.

    Example:
        >>> v = Vocab.build([["a", "b", "a"], ["c"]], min_freq=2)
        >>> v.tokens, v.encode(["a", "zzz"])
        (['<pad>', '<unk>', 'a'], [2, 1])
    """

    pad_index = 0
    unk_index = 1

    def __init__(self, tokens: Sequence[str], n_specials: int = 2) -> None:
        self.tokens = list(tokens)
        self.n_specials = n_specials
        self.index = {token: k for k, token in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            duplicates = sorted(t for t, n in Counter(self.tokens).items() if n > 1)
            raise ValueError(f"the vocabulary repeats tokens {duplicates[:5]}")
        if self.tokens[:2] != [PAD, UNK] or not 2 <= n_specials <= len(self.tokens):
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {self.tokens[:2]}")

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_freq: int = 1,
              max_size: int | None = None, extra_specials: Sequence[str] = ()) -> Vocab:
        """Count tokens; keep those seen ``min_freq`` times or more, at most ``max_size``
        entries in all (specials included). ``extra_specials`` (e.g. ``<bos>``, ``<eos>`` for
        a decoder's side) follow pad and unk."""
        specials = [PAD, UNK, *extra_specials]
        if min_freq < 1:
            raise InputError(f"--min-freq {min_freq}; expected at least 1")
        if max_size is not None and max_size <= len(specials):
            raise InputError(f"--max-vocab {max_size}; expected more than {len(specials)} "
                             "(the special tokens)")
        counts = Counter(token for tokens in sequences for token in tokens)
        for special in specials:
            counts.pop(special, None)
        kept = sorted((t for t, n in counts.items() if n >= min_freq),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        return cls([*specials, *kept], len(specials))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids; unknown tokens get ``unk_index``."""
        return [self.index.get(token, self.unk_index) for token in tokens]

    def decode(self, ids: Iterable[int], skip_specials: bool = True) -> list[str]:
        """Tokens of ``ids``; special tokens other than ``<unk>`` are dropped by default."""
        tokens = [self.tokens[int(k)] for k in ids]
        if not skip_specials:
            return tokens
        dropped = set(self.tokens[: self.n_specials]) - {UNK}
        return [t for t in tokens if t not in dropped]

    def to_dict(self) -> dict[str, Any]:
        """``{"tokens": [...], "n_specials": n}``: the run's ``vocab.json``."""
        return {"tokens": self.tokens, "n_specials": self.n_specials}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Vocab:
        """Rebuild from `to_dict` output; anything malformed is an `InputError`."""
        if not isinstance(data, dict) or set(data) != {"tokens", "n_specials"}:
            raise InputError(f"{where}: a vocabulary has exactly 'tokens' and 'n_specials'")
        tokens, n = data["tokens"], data["n_specials"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) \
                or not isinstance(n, int):
            raise InputError(f"{where}: 'tokens' must be a list of strings, 'n_specials' an int")
        try:
            return cls(tokens, n)
        except ValueError as err:
            raise InputError(f"{where}: {err}") from err


# ---- batches --------------------------------------------------------------------------------


class BucketSampler(Sampler[list[int]]):
    """Batches of indices whose sequences have similar lengths, each index exactly once.

    Shuffled: every epoch, the indices are permuted, cut into pools of ``pool`` batches,
    each pool sorted by length and cut into batches, and the batches shuffled, so batches
    differ between epochs but carry little padding. Not shuffled: sorted by length
    (stable), longest first. Seeded by ``seed``: the same seed gives the same batches.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool, seed: int = 0,
                 pool: int = 50) -> None:
        if batch_size < 1:
            raise InputError(f"--batch-size {batch_size}; expected at least 1")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.pool = pool
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        n, size = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = torch.sort(self.lengths, descending=True, stable=True).indices
            yield from (chunk.tolist() for chunk in order.split(size))
            return
        order = torch.randperm(n, generator=self.generator)
        batches = []
        for block in order.split(size * self.pool):
            by_length = block[torch.sort(self.lengths[block], stable=True).indices]
            batches.extend(by_length.split(size))
        for k in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[k].tolist()


def pad_batch(sequences: Sequence[Tensor],
              pad_index: int = Vocab.pad_index) -> tuple[Tensor, Tensor]:
    """Token id tensors -> (tokens (B, T_max) long, padded with ``pad_index``; lengths (B,))."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    return pad_sequence(list(sequences), batch_first=True, padding_value=pad_index), lengths


class TextBatches(Dataset):
    """Token id sequences (and labels), indexed by a list of indices to give whole batches
    ``((tokens (B, T), lengths (B,)), labels (B,))``, padded to the batch's longest."""

    def __init__(self, sequences: Sequence[Sequence[int]], labels: Sequence[int],
                 pad_index: int = Vocab.pad_index) -> None:
        if len(sequences) != len(labels):
            raise ValueError(f"{len(sequences)} sequences but {len(labels)} labels")
        empty = [k for k, s in enumerate(sequences) if not len(s)]
        if empty:
            raise ValueError(f"sequence {empty[0]} has no tokens; every sequence needs one")
        self.sequences = [torch.as_tensor(s, dtype=torch.long) for s in sequences]
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.pad_index = pad_index

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: list[int]) -> tuple[tuple[Tensor, Tensor], Tensor]:
        batch = pad_batch([self.sequences[k] for k in index], self.pad_index)
        return batch, self.labels[index]


def text_loader(sequences: Sequence[Sequence[int]], labels: Sequence[int], batch_size: int,
                shuffle: bool, seed: int = 0, pad_index: int = Vocab.pad_index) -> DataLoader:
    """A DataLoader of length-bucketed batches ``((tokens, lengths), labels)``."""
    data = TextBatches(sequences, labels, pad_index)
    sampler = BucketSampler([len(s) for s in data.sequences], batch_size, shuffle, seed)
    return DataLoader(data, sampler=sampler, batch_size=None)


# ---- files ----------------------------------------------------------------------------------


@dataclass
class TextTable:
    """Texts (and labels) read from a file; ``lines[k]`` is the file line of row k."""

    texts: list[str]
    labels: list[str] | None
    lines: list[int]
    source: str
    text_column: str | None = None
    label_column: str | None = None

    def __len__(self) -> int:
        return len(self.texts)


def _decode(path: Path) -> str:
    """The file as text: UTF-8 (a byte-order mark is allowed); bad bytes name their line."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path} is empty; it needs texts, one per line (TSV/CSV: after a "
                         "header line)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        bad = data[err.start : err.end]
        raise InputError(
            f"{path}, line {line}: bytes {bad!r} are not UTF-8 ({err.reason}); save the file "
            "as UTF-8"
        ) from err


def _find_column(name: str | None, header: list[str], candidates: Sequence[str], what: str,
                 option: str, path: Path, sep: str) -> str:
    if name is not None and name in header:
        return name
    lowered = {h.lower(): h for h in header}
    found = next((lowered[c] for c in candidates if c in lowered), None)
    if name is None and found is not None:
        return found
    refuse_split_header(path, header, sep)  # a wrong separator is the likelier fault
    if name is not None:
        raise InputError(f"{path} has no {what} column {name!r}; available columns: "
                         f"{header}; name one with {option}")
    raise InputError(f"{path} has no {what} column (looked for {', '.join(candidates)}); "
                     f"available columns: {header}; name one with {option}")


def read_text_table(path: str | Path, text_column: str | None = None,
                    label_column: str | None = None, labels: bool = True,
                    sep: str | None = None) -> TextTable:
    """Read a TSV or CSV file with a header line into a `TextTable`.

    The separator is a tab, a comma or a semicolon, detected from the header and the first
    rows (`detect_sep`; a tie goes to the tab for ``.tsv``/``.tab`` files, else to the comma)
    unless ``sep`` names it. Tab-separated files are read without quoting (SST-2 as
    distributed), the others with standard CSV quoting. Columns are found by name
    (``sentence``, ``text``, ... and ``label``, ``sentiment``, ...) unless named. With
    ``labels=False`` the label column is read only if present.

    Empty files, missing columns (listed), blank lines, rows with the wrong number of
    fields, empty texts or labels and bytes that are not UTF-8 are `InputError` s naming
    the file and line.

    Example:
        >>> path = Path("dev.tsv")  # in the current folder
        >>> _ = path.write_text("sentence\\tlabel\\na charming film\\t1\\na dull film\\t0\\n")
        >>> table = read_text_table(path)
        >>> len(table), table.text_column, table.label_column, table.labels, table.lines
        (2, 'sentence', 'label', ['1', '0'], [2, 3])
    """
    sep = check_sep(sep)
    path = Path(path)
    text = _decode(path)
    sep = sep or detect_sep(text, "\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
    tab = sep == "\t"
    dialect = dict(delimiter=sep, quoting=csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL)
    try:
        rows = list(_rows(csv.reader(io.StringIO(text, newline=""), **dialect)))
    except csv.Error as err:
        raise InputError(f"{path} is not a readable {'TSV' if tab else 'CSV'} file: {err}") from err
    (_, header), body = rows[0], rows[1:]
    header = [h.strip() for h in header]
    text_name = _find_column(text_column, header, TEXT_COLUMNS, "text", "--text-column", path,
                             sep)
    if labels:
        label_name = _find_column(label_column, header, LABEL_COLUMNS, "label", "--label-column",
                                  path, sep)
    else:  # read the labels if they are there
        names = [label_column] if label_column else LABEL_COLUMNS
        label_name = next((h for n in names for h in header if h.lower() == n.lower()), None)
    if not body:
        raise InputError(f"{path} has a header but no rows; give at least one text")
    where = [header.index(text_name), None if label_name is None else header.index(label_name)]
    texts, found, lines = [], [], []
    for line, fields in body:
        if not fields:
            raise InputError(f"{path}, line {line} is empty; remove blank lines")
        if len(fields) != len(header):
            raise InputError(
                f"{path}, line {line} has {len(fields)} field(s); the header has {len(header)} "
                f"({header}); a stray {SEPARATORS[sep]}{'' if tab else ' or quote'} in the text?"
            )
        for column, value in ((text_name, fields[where[0]]),
                              (label_name, None if where[1] is None else fields[where[1]])):
            if value is not None and not value.strip():
                raise InputError(f"{path}, line {line}: the {column!r} field is empty; fill it "
                                 "or remove the line")
        texts.append(fields[where[0]].strip())
        if where[1] is not None:
            found.append(fields[where[1]].strip())
        lines.append(line)
    return TextTable(texts, found if label_name else None, lines, str(path), text_name,
                     label_name)


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of each record (a quoted CSV field may span lines)."""
    line = 1
    for fields in reader:
        yield line, fields
        line = reader.line_num + 1


def read_lines(path: str | Path) -> TextTable:
    """A plain text file with one text per line (no header); blank lines are errors."""
    path = Path(path)
    texts = _decode(path).splitlines()
    while texts and not texts[-1].strip():  # a final newline or trailing blank lines
        texts.pop()
    for line, text in enumerate(texts, start=1):
        if not text.strip():
            raise InputError(f"{path}, line {line} is empty; remove blank lines")
    return TextTable([t.strip() for t in texts], None, list(range(1, len(texts) + 1)),
                     str(path))


def label_classes(labels: Iterable[str]) -> list[str]:
    """The distinct labels, sorted numerically when all are integers, else alphabetically."""
    distinct = set(labels)
    if all(re.fullmatch(r"[+-]?\d+", label) for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def label_indices(table: TextTable, classes: Sequence[str]) -> list[int]:
    """Each row's label as an index into ``classes``; an unseen label names its line."""
    if table.labels is None:
        raise InputError(f"{table.source} has no label column; add one (looked for "
                         f"{', '.join(LABEL_COLUMNS)}) or name it with --label-column")
    index = {label: k for k, label in enumerate(classes)}
    for label, line in zip(table.labels, table.lines, strict=True):
        if label not in index:
            raise InputError(
                f"{table.source}, line {line}: label {label!r} was never seen in training; "
                f"the model knows {list(classes)}"
            )
    return [index[label] for label in table.labels]


def encode_texts(texts: Iterable[str], tokenizer: Tokenizer, vocab: Vocab) -> list[list[int]]:
    """Token ids of every text (unknown tokens -> ``<unk>``)."""
    return [vocab.encode(tokenizer.tokenize(text)) for text in texts]

