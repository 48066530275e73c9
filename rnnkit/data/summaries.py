"""Texts paired with their summaries (or replies): readers that validate, and the batches of a
decoder that copies.

Readers take JSON lines, CSV or TSV with named source and target fields, and the AESLC layout
(Zhang & Tetreault 2019): a folder of files, one email each, its body, then ``@subject`` and
the subject line, and in dev/test three human subjects after ``@ann0``, ``@ann1``, ``@ann2``.

    corpus = read_summaries("train.jsonl", source_field="body", target_field="subject")
    corpus = read_summaries("$RNNKIT_DATA/aeslc/enron_subject_line/dev")   # the folder
    corpus.source[0], corpus.target[0], corpus.references[0]   # text, summary, all references

A target field may hold one string or a list of strings (several references: the first is
the training target; scores use them all).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from rnnkit.data.parallel import Side, read_sentences
from rnnkit.data.text import BucketSampler, pad_batch
from rnnkit.errors import InputError

FORMATS = ("jsonl", "csv", "tsv", "aeslc")


@dataclass
class SummaryCorpus:
    """Source texts with their target (``target[k]``, what training imitates) and every
    reference (``references[k]``, what scores compare with; the target first unless the
    data names others, as AESLC's annotated subjects); ``origin`` names the file."""

    source: list[str]
    target: list[str]
    references: list[list[str]]
    origin: str
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.source)


def _format(path: Path) -> str:
    """The format of ``path``: a folder is AESLC; else by the file's suffix."""
    if path.is_dir():
        return "aeslc"
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    kind = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}.get(
        suffixes[-1] if suffixes else "")
    if kind is None:
        raise InputError(f"{path}: cannot tell the format from the name; give a .jsonl, .csv "
                         "or .tsv file, or an AESLC folder of .subject files")
    return kind


def _text(value: Any, where: str, name: str) -> list[str]:
    """A field's value as a list of non-empty strings (one string or a list of them)."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InputError(f"{where}: field {name!r} must be text or a list of texts; got "
                         f"{type(value).__name__}")
    values = [v.strip() for v in values if v.strip()]
    if not values:
        raise InputError(f"{where}: field {name!r} is empty; every record needs some text")
    return values


def _records(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) of each row of a JSON lines, CSV or TSV file."""
    text = "\n".join(read_sentences(path))
    if kind == "jsonl":
        rows = []
        for k, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}, line {k}: not JSON ({err.msg}); give one JSON object "
                                 "per line") from err
            if not isinstance(record, dict):
                raise InputError(f"{path}, line {k}: expected a JSON object with named fields")
            rows.append((f"{path}, line {k}", record))
        return rows
    reader = csv.DictReader(io.StringIO(text), delimiter="\t" if kind == "tsv" else ",")
    return [(f"{path}, row {k}", row) for k, row in enumerate(reader, start=2)]


def read_aeslc(folder: str | Path) -> SummaryCorpus:
    """An AESLC split: every ``*.subject`` file of ``folder`` (sorted by name). The target is
    the original subject; the references are the annotated subjects (``@ann0..2``) where the
    file has them, else the subject."""
    folder = Path(folder)
    files = sorted(folder.glob("*.subject"))
    if not files:
        raise InputError(f"{folder}: no .subject files; give an AESLC split folder (one file "
                         "per email: body, @subject, subject)")
    corpus = SummaryCorpus([], [], [], str(folder))
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")
        body, found, rest = text.partition("\n@subject\n")
        if not found:
            raise InputError(f"{path}: no '@subject' line; an AESLC file is the body, then "
                             "'@subject' and the subject line")
        parts = rest.split("\n@ann")
        subject = parts[0].strip()
        annotations = [p.split("\n", 1)[1].strip() for p in parts[1:] if "\n" in p]
        if not body.strip() or not subject:
            raise InputError(f"{path}: the body or the subject is empty")
        corpus.source.append(" ".join(body.split()))
        corpus.target.append(subject)
        corpus.references.append([a for a in annotations if a] or [subject])
        corpus.names.append(path.name)
    return corpus


def read_summaries(path: str | Path, source_field: str = "source",
                   target_field: str | None = "target") -> SummaryCorpus:
    """Read texts and their summaries from JSON lines, CSV, TSV (fields by name) or an AESLC
    folder (the fields are then its own).

    ``target_field`` None reads sources only (to summarise; the targets are then empty). A
    missing file or field, an empty source or target, a file that is not UTF-8: `InputError`
    naming the file and the record.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    kind = _format(path)
    if kind == "aeslc":
        return read_aeslc(path)
    corpus = SummaryCorpus([], [], [], str(path))
    for where, record in _records(path, kind):
        for name in (source_field, target_field):
            if name is not None and record.get(name) is None:
                raise InputError(f"{where}: no field {name!r} (it has {sorted(record)}); name "
                                 "the fields with --source-field and --target-field")
        source = _text(record[source_field], where, source_field)
        corpus.source.append(" ".join(" ".join(source).split()))
        if target_field is not None:
            references = _text(record[target_field], where, target_field)
            corpus.target.append(references[0])
            corpus.references.append(references)
    if not corpus.source:
        raise InputError(f"{path} has no records; give one text per record")
    return corpus


# ---- ids with an extended vocabulary, and batches ------------------------------------------


def extend_source(ids: Sequence[int], tokens: Sequence[str], vocab_size: int,
                  unk: int = 1) -> tuple[list[int], list[str]]:
    """A source's ids in the extended vocabulary, and its own out-of-vocabulary words.

    Each ``<unk>`` (``unk``) of ``ids`` whose token (``tokens``, aligned with ``ids``) is new
    becomes ``vocab_size + k`` for the k-th distinct such word; a word seen again gets the
    same id (See et al. 2017, sec. 2.2).

    Example:
        >>> extend_source([5, 1, 6, 1, 1], ["a", "Enron", "b", "Lay", "Enron"], 10)
        ([5, 10, 6, 11, 10], ['Enron', 'Lay'])
    """
    oov: dict[str, int] = {}
    extended = []
    for k, token in zip(ids, tokens, strict=True):
        if k == unk:
            k = vocab_size + oov.setdefault(token, len(oov))
        extended.append(k)
    return extended, list(oov)


@dataclass
class Encoded:
    """One source (and its target) as ids: ``source`` in the vocabulary (``<unk>`` for
    unknown words), ``extended`` with each unknown source word its own id ``V + k``
    (``oov[k]``), ``target`` in the extended vocabulary (a target word that is unknown but in
    the source is copyable); ``truncated``: the source had more than the limit."""

    source: list[int]
    extended: list[int]
    oov: list[str]
    tokens: list[str]
    target: list[int]
    truncated: bool


def encode_example(side: Side, text: str, max_source: int, target: str | None = None,
                   max_target: int = 0, target_side: Side | None = None,
                   copy: bool = True, keep_last: bool = False) -> Encoded:
    """`Encoded` ids of ``text`` (cut to its first ``max_source`` tokens, or with
    ``keep_last`` its last: a dialogue's latest turns) and of ``target`` (cut to
    ``max_target`` tokens; none: an empty target).

    ``target_side`` (default ``side``) is the output's vocabulary: the extended ids are the
    source tokens looked up there, so a copied word is the same word in the output (a
    translator's two sides). Without ``copy`` a target word outside the vocabulary is
    ``<unk>`` (nothing can copy it).

    Example:
        >>> from rnnkit.data.parallel import CorpusConfig
        >>> de = Side.build(["ein hund", "ein hund"], CorpusConfig(min_freq=1))
        >>> en = Side.build(["a dog", "a dog"], CorpusConfig(min_freq=1))
        >>> e = encode_example(de, "ein Rex", 10, "a Rex", 10, en)
        >>> e.oov, e.target[1] - len(en.vocab)  # "Rex" copyable into the English output
        (['ein', 'Rex'], 1)
    """
    out_side = target_side or side
    tokens = side.tokens(text)
    kept = tokens[-max_source:] if keep_last else tokens[:max_source]
    ids = side.vocab.encode(kept)
    V, unk = len(out_side.vocab), out_side.vocab.unk_index
    in_output = ids if out_side is side else out_side.vocab.encode(kept)
    extended, oov = extend_source(in_output, kept, V, unk)
    out = []
    if target is not None:
        where = {word: V + k for k, word in enumerate(oov)} if copy else {}
        words = out_side.tokens(target)[:max_target]
        out = [where.get(w, unk) if k == unk else k
               for w, k in zip(words, out_side.vocab.encode(words), strict=True)]
    return Encoded(ids, extended, oov, kept, out, len(tokens) > max_source)


def decode_extended(side: Side, ids: Sequence[int], oov: Sequence[str]) -> list[str]:
    """Tokens of output ids in the extended vocabulary, cut at ``<eos>``, specials dropped."""
    V = len(side.vocab)
    ids = list(ids)
    if side.eos_index in ids:
        ids = ids[: ids.index(side.eos_index)]
    return [oov[k - V] if k >= V else side.vocab.tokens[k] for k in ids
            if k >= V or k >= side.vocab.n_specials or k == side.vocab.unk_index]


class CopyBatches(Dataset):
    """Examples indexed by a list of indices, giving whole batches for teacher forcing:
    ``((source, lengths, target_in, extended), target_out)``; ``target_in`` is
    ``<bos> y_1 .. y_n`` (unknown words as ``<unk>``), ``target_out`` is ``y_1 .. y_n <eos>``
    in the extended vocabulary; padding is 0."""

    def __init__(self, examples: Sequence[Encoded], side: Side) -> None:
        V, unk = len(side.vocab), side.vocab.unk_index
        self.source = [torch.as_tensor(e.source) for e in examples]
        self.extended = [torch.as_tensor(e.extended) for e in examples]
        self.target_in = [torch.as_tensor([side.bos_index, *(unk if k >= V else k
                                                              for k in e.target)])
                          for e in examples]
        self.target_out = [torch.as_tensor([*e.target, side.eos_index]) for e in examples]

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: list[int]) -> tuple[tuple[Tensor, ...], Tensor]:
        source, lengths = pad_batch([self.source[k] for k in index])
        extended, _ = pad_batch([self.extended[k] for k in index])
        target_in, _ = pad_batch([self.target_in[k] for k in index])
        target_out, _ = pad_batch([self.target_out[k] for k in index])
        return (source, lengths, target_in, extended), target_out


def copy_loader(examples: Sequence[Encoded], side: Side, batch_size: int, shuffle: bool,
                seed: int = 0) -> DataLoader:
    """A DataLoader of `CopyBatches`, bucketed by source length."""
    sampler = BucketSampler([len(e.source) for e in examples], batch_size, shuffle, seed)
    return DataLoader(CopyBatches(examples, side), sampler=sampler, batch_size=None)
