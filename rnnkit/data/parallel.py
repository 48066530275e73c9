"""Parallel corpora for translation: line-aligned source/target files, one tokenizer and
vocabulary per side (or one shared), ``<bos>``/``<eos>``, and the way back from ids to text
(batches of encoded pairs: `rnnkit.data.summaries.copy_loader`).

Built on `rnnkit.data.text` by composition: its tokenizers (word or BPE), `Vocab` (with
``<bos>``, ``<eos>`` as extra specials).

    corpus = read_parallel("train.de.gz", "train.en.gz")
    src, tgt = build_sides(corpus, CorpusConfig())
    tgt.decode([5, 9, tgt.eos_index])  # -> "A dog."
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.checks import check_choice, check_counts
from rnnkit.data.text import (
    TOKENIZERS,
    Tokenizer,
    Vocab,
    build_tokenizer,
    tokenizer_from_dict,
)
from rnnkit.errors import InputError

BOS, EOS = "<bos>", "<eos>"


@dataclass
class CorpusConfig:
    """How sentences become ids (stored in a run's config.json)."""

    tokenizer: str = "word"  # "word" (Penn Treebank-like words) or "bpe" (subwords)
    lowercase: bool = False  # lower-case both sides first (BLEU is then scored on lower case)
    min_freq: int = 3  # rarer training tokens become <unk>
    max_vocab: int | None = None  # per side, specials included
    bpe_vocab_size: int = 8000  # subwords learned per side (or shared) by "bpe"
    shared_vocab: bool = False  # one tokenizer and vocabulary for both sides
    max_length: int = 50  # tokens per sentence: longer training pairs are dropped, longer
    #                       inputs to a trained model are truncated (with a warning)

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        check_choice("tokenizer", self.tokenizer, TOKENIZERS)
        check_counts(self, ("min_freq", "max_length", "bpe_vocab_size"))
        if self.max_vocab is not None and self.max_vocab <= 4:
            raise InputError(f"--max-vocab {self.max_vocab}; expected more than 4 (the specials "
                             "<pad>, <unk>, <bos>, <eos>)")


# ---- files ------------------------------------------------------------------------------------


def read_sentences(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file, plain or gzip-compressed (recognised by its bytes).

    Lines end at ``\\n`` only (a ``\\r`` before it is dropped), so characters that other
    splitters treat as line breaks cannot shift a line-aligned corpus. A missing, empty or
    non-gzip ``.gz`` file and bytes that are not UTF-8 are `InputError` s naming file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise InputError(f"{path} is a damaged gzip file ({err}); recompress it") from err
    elif path.suffix == ".gz":
        raise InputError(f"{path} ends in .gz but is not gzip-compressed; rename or compress it")
    if not data.strip():
        raise InputError(f"{path} is empty; give a file with one sentence per line")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{path}, line {line}: bytes {data[err.start:err.end]!r} are not UTF-8 "
                         f"({err.reason}); save the file as UTF-8") from err
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline
    return [line.removesuffix("\r") for line in lines]


@dataclass
class ParallelCorpus:
    """Sentence pairs: ``source[k]`` translates to ``target[k]``; ``lines[k]`` is their line
    in the files; ``dropped_empty`` counts pairs left out because a side was blank."""

    source: list[str]
    target: list[str]
    lines: list[int]
    origin: str
    dropped_empty: int = 0

    def __len__(self) -> int:
        return len(self.source)


def read_parallel(source: str | Path, target: str | Path) -> ParallelCorpus:
    """Read line-aligned source and target files (plain or .gz) into a `ParallelCorpus`.

    Different line counts are an `InputError` giving both; pairs with a blank side are
    dropped and counted (``dropped_empty``); no pair left is an `InputError`.
    """
    src, tgt = read_sentences(source), read_sentences(target)
    if len(src) != len(tgt):
        raise InputError(f"{source} has {len(src)} lines but {target} has {len(tgt)}; line k of "
                         "one must be the translation of line k of the other")
    kept = [k for k, (s, t) in enumerate(zip(src, tgt, strict=True)) if s.strip() and t.strip()]
    if not kept:
        raise InputError(f"{source} and {target} have no pair where both sides have text")
    return ParallelCorpus([src[k].strip() for k in kept], [tgt[k].strip() for k in kept],
                          [k + 1 for k in kept], f"{source} -> {target}", len(src) - len(kept))


# ---- one side: tokenizer + vocabulary ---------------------------------------------------------


class Side:
    """One language of a corpus: its tokenizer and its vocabulary (with ``<bos>``, ``<eos>``).

    Example:
        >>> side = Side.build(["A dog runs.", "A cat sleeps."], CorpusConfig(min_freq=1))
        >>> ids = side.encode("A dog sleeps.")
        >>> side.decode([*ids, side.eos_index, 7])  # stops at <eos>
        'A dog sleeps.'
    """

    def __init__(self, tokenizer: Tokenizer, vocab: Vocab) -> None:
        missing = [t for t in (BOS, EOS) if t not in vocab]
        if missing:
            raise InputError(f"the vocabulary lacks {missing}; build it with Side.build")
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.bos_index = vocab.index[BOS]
        self.eos_index = vocab.index[EOS]

    @classmethod
    def build(cls, texts: Sequence[str], config: CorpusConfig) -> Side:
        """Train the tokenizer (BPE) and count the vocabulary on ``texts`` (training only)."""
        tokenizer = build_tokenizer(config.tokenizer, texts, config.lowercase,
                                    config.bpe_vocab_size)
        vocab = Vocab.build((tokenizer.tokenize(t) for t in texts), config.min_freq,
                            config.max_vocab, extra_specials=(BOS, EOS))
        return cls(tokenizer, vocab)

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text``."""
        return self.tokenizer.tokenize(text)

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``'s tokens (no ``<bos>``/``<eos>``; unknown -> ``<unk>``)."""
        return self.vocab.encode(self.tokens(text))

    def decode(self, ids: Sequence[int]) -> str:
        """Text from ids: cut at the first ``<eos>``, specials dropped, detokenised."""
        ids = list(ids)
        if self.eos_index in ids:
            ids = ids[: ids.index(self.eos_index)]
        return self.tokenizer.detokenize(self.vocab.decode(ids))

    def to_dict(self) -> dict[str, Any]:
        """``{"tokenizer": ..., "vocab": ...}``, JSON-ready."""
        return {"tokenizer": self.tokenizer.to_dict(), "vocab": self.vocab.to_dict()}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Side:
        """Rebuild from `to_dict` output; anything malformed is an `InputError`."""
        if not isinstance(data, dict) or set(data) != {"tokenizer", "vocab"}:
            raise InputError(f"{where}: a side has exactly 'tokenizer' and 'vocab'")
        return cls(tokenizer_from_dict(data["tokenizer"], f"{where}: tokenizer"),
                   Vocab.from_dict(data["vocab"], f"{where}: vocabulary"))


def read_sides(data: Any, names: Sequence[str], where: str) -> list[Side]:
    """The `Side` s of a run's ``vocab.json``, which holds exactly ``names`` (each a
    `Side.to_dict`); anything else is an `InputError`.

    >>> side = Side.build(["a dog"], CorpusConfig(min_freq=1))
    >>> [len(s.vocab) for s in read_sides({"shared": side.to_dict()}, ["shared"], "here")]
    [6]
    """
    if not isinstance(data, dict) or set(data) != set(names):
        raise InputError(f"{where}: vocab.json has exactly "
                         + " and ".join(f"'{name}'" for name in names))
    return [Side.from_dict(data[name], f"{where}: {name} side") for name in names]


def build_sides(corpus: ParallelCorpus, config: CorpusConfig) -> tuple[Side, Side]:
    """Source and target `Side` s from the training corpus; with ``shared_vocab`` both are
    one side built on the sentences of both languages."""
    config.validate()
    if config.shared_vocab:
        side = Side.build([*corpus.source, *corpus.target], config)
        return side, side
    return Side.build(corpus.source, config), Side.build(corpus.target, config)
