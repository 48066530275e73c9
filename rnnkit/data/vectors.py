"""Pretrained word vectors (GloVe, word2vec, fastText text files) for a vocabulary, and the
embedding initialised from them.

The file is streamed once and only the vocabulary's vectors are kept, so memory holds
``len(vocab) x dim`` numbers whatever the file's size (GloVe 6B has 400,000 words), plus, when
asked, the file's first ``top`` words: GloVe, word2vec and fastText files list the most frequent
words first, so these are the words a model is likeliest to meet after training (Lample et al.
2016 give every word with a pretrained vector a row). rnnkit never downloads vectors: users
bring the file (``$RNNKIT_DATA/glove`` has GloVe 6B 50d).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from rnnkit.errors import InputError


@dataclass
class Vectors:
    """The vectors found for some words: ``vectors[word]`` (dim,) float32, keyed by the
    asked word; ``lowercased`` whether the file had no upper-case words (then words were
    matched case-insensitively); ``missing`` the asked words without a vector; ``frequent``
    the file's first words (the most frequent) with their vectors, in the file's order,
    when `read_vectors` was asked for them."""

    dim: int
    vectors: dict[str, np.ndarray]
    asked: int
    lowercased: bool
    source: str
    missing: list[str] = field(default_factory=list)
    frequent: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        """The share of the asked words that have a vector."""
        return len(self.vectors) / max(self.asked, 1)

    def only(self, words: Sequence[str]) -> Vectors:
        """These vectors for ``words`` alone (a part of the asked words): the coverage and
        the missing words then count ``words``.

        >>> v = Vectors(1, {"eu": np.ones(1, np.float32)}, 3, True, "", ["0th", "10th"])
        >>> part = v.only(["eu", "0th"])
        >>> part.coverage, part.missing
        (0.5, ['0th'])
        """
        words = list(dict.fromkeys(words))
        return Vectors(self.dim, {w: self.vectors[w] for w in words if w in self.vectors},
                       len(words), self.lowercased, self.source,
                       [w for w in words if w not in self.vectors], self.frequent)

    def report(self) -> dict[str, Any]:
        """JSON-ready facts: file, dimension, coverage and a few missing words."""
        return {"file": self.source, "dim": self.dim, "words": self.asked,
                "found": len(self.vectors), "coverage": self.coverage,
                "lowercased": self.lowercased, "missing_examples": self.missing[:10]}


def coverage_line(report: dict[str, Any]) -> str:
    """The line a command prints about its vectors, from a `Vectors.report` (with ``added``,
    the words taken from the file beyond the training words, when there were any).

    >>> coverage_line({"file": "glove.txt", "words": 4, "found": 3, "coverage": 0.75})
    'vectors: 3 of 4 words (75.0%) from glove.txt'
    """
    line = (f"vectors: {report['found']} of {report['words']} words ({report['coverage']:.1%}) "
            f"from {report['file']}")
    if report.get("added"):
        line += f"; {report['added']} more words of the file have a row"
    return line


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="strict") as handle:
            yield from handle
    except (OSError, EOFError) as err:  # a damaged gzip stream
        raise InputError(f"--vectors {path}: cannot be read ({err})") from err
    except UnicodeDecodeError as err:
        raise InputError(f"--vectors {path}: not UTF-8 text ({err.reason}); give a text "
                         "file of vectors (the binary word2vec format is not read)") from err


def vector_size(path: str | Path) -> int:
    """Numbers per word in the vectors file at ``path``, read from its header or first line
    only; a missing file is an `InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--vectors {path}: no such file")
    first = next(_lines(path), "").rstrip("\r\n").rstrip(" ").split(" ")
    return int(first[1]) if len(first) == 2 and all(f.isdigit() for f in first) \
        else len(first) - 1


def check_dimension(path: str | Path, dim: int) -> None:
    """Raise `InputError` unless the vectors file at ``path`` fits an embedding of ``dim``
    numbers per word: at most ``dim`` (`vector_size`, so settings are checked before
    training; `init_embedding` trains the dimensions beyond the vectors' from random)."""
    found = vector_size(path)
    if found > dim:
        raise InputError(dimension_error(str(path), found, dim))


def dimension_error(source: str, found: int, dim: int) -> str:
    """The message for vectors of ``found`` dimensions given to an embedding of ``dim``."""
    return (f"--vectors {source} has {found} dimensions but the embedding {dim}; set "
            f"--embedding-dim to at least {found} (dimensions beyond the vectors' are trained "
            "from random)")


def read_vectors(path: str | Path, words: Sequence[str], top: int = 0) -> Vectors:
    """The vectors of ``words`` from a text file of vectors, gzipped (``.gz``) or not, and
    of the file's first ``top`` words (`Vectors.frequent`, keyed as in the file).

    Each line is a word and its numbers separated by spaces (GloVe); a first line of two
    integers (count and dimension, word2vec and fastText ``.vec``) is skipped. A word is
    matched exactly, or, when the file has no upper-case word (GloVe is lower-cased), by
    its lower-case form. Lines with another number of values than the first are
    `InputError` s naming the line.

    Example:
        >>> path = Path("tiny.vec")  # in the current folder
        >>> _ = path.write_text("2 3\\nthe 0.1 0.2 0.3\\neu 1 0 -1\\n")
        >>> found = read_vectors(path, ["EU", "the", "zebra"])
        >>> sorted(found.vectors), found.coverage, found.missing
        (['EU', 'the'], 0.6666666666666666, ['zebra'])
        >>> list(read_vectors(path, [], top=1).frequent)
        ['the']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--vectors {path}: no such file")
    wanted: dict[str, list[str]] = {}
    for word in dict.fromkeys(words):
        for key in dict.fromkeys((word, word.lower())):
            wanted.setdefault(key, []).append(word)
    if top < 0:
        raise InputError(f"--vectors-vocab {top}; expected 0 (no words beyond the asked ones) "
                         "or more")
    exact: dict[str, np.ndarray] = {}
    frequent: dict[str, np.ndarray] = {}
    dim, lowercased = None, True
    for number, line in enumerate(_lines(path), start=1):
        word, _, rest = line.rstrip("\r\n").rstrip(" ").partition(" ")
        if number == 1 and word.isdigit() and rest.strip().isdigit():
            dim = int(rest)
            continue
        if not rest:
            raise InputError(f"--vectors {path}, line {number}: a word without numbers")
        if dim is None:
            dim = len(rest.split(" "))
        if lowercased and word != word.lower():
            lowercased = False
        if word in wanted or len(frequent) < top:
            try:
                values = np.array(rest.split(" "), dtype=np.float32)
            except ValueError as err:
                raise InputError(f"--vectors {path}, line {number}: not numbers ({err})") from err
            if len(values) != dim:
                raise InputError(f"--vectors {path}, line {number} has {len(values)} values "
                                 f"where the file has {dim}")
            if word in wanted:
                exact[word] = values
            if len(frequent) < top:
                frequent.setdefault(word, values)
    if dim is None:
        raise InputError(f"--vectors {path} holds no vectors")
    found: dict[str, np.ndarray] = {}
    missing = []
    for word in dict.fromkeys(words):
        vector = exact.get(word)
        if vector is None and lowercased:
            vector = exact.get(word.lower())
        if vector is None:
            missing.append(word)
        else:
            found[word] = vector
    return Vectors(dim, found, len(dict.fromkeys(words)), lowercased, str(path), missing,
                   frequent)


class KeepPretrained(nn.Module):
    """A `torch.nn.utils.parametrize` parametrization of an embedding table: the entries
    where ``mask`` is set read ``values`` whatever the trained tensor holds, so they take no
    gradient and no optimiser step moves them (weight decay included)."""

    def __init__(self, mask: torch.Tensor, values: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask, persistent=False)  # (V, E) bool
        self.register_buffer("values", values, persistent=False)  # (V, E)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        """The table (V, E) with the kept entries put back."""
        return torch.where(self.mask, self.values, weight)


def _plain_state_dict(module: nn.Module, state: dict[str, Any], prefix: str,
                      metadata: Any) -> None:
    """State dict hook: the table as ``weight``, as a plain `nn.Embedding` stores it."""
    state.pop(prefix + "parametrizations.weight.original")
    state[prefix + "weight"] = module.weight.detach()


def _load_plain_state_dict(module: nn.Module, state: dict[str, Any], prefix: str,
                           *args: Any) -> None:
    """Load state dict pre-hook: a plain ``weight`` into the parametrized table."""
    if prefix + "weight" in state:
        state[prefix + "parametrizations.weight.original"] = state.pop(prefix + "weight")


def freeze_entries(embedding: nn.Embedding, mask: torch.Tensor) -> None:
    """Keep the entries of ``embedding.weight`` where ``mask`` (V, E) is set at their present
    values in training (`KeepPretrained`); the others train. Its state dict keeps the plain
    ``weight`` key, so checkpoints and saved runs load into an `nn.Embedding` and back."""
    values = embedding.weight.detach().clone()
    parametrize.register_parametrization(embedding, "weight", KeepPretrained(mask, values))
    embedding.register_state_dict_post_hook(_plain_state_dict)
    embedding.register_load_state_dict_pre_hook(_load_plain_state_dict)


def init_embedding(embedding: nn.Embedding, words: Sequence[str], vectors: Vectors,
                   freeze: bool = False, seed: int = 0) -> int:
    """Start ``embedding`` (V, E) from ``vectors`` of d <= E dimensions: the first d columns
    of row k hold the vector of ``words[k]`` where there is one; those of the other rows (but
    the padding row) are drawn from a normal distribution with the found vectors' standard
    deviation, so known and unknown words start on one scale. Columns d..E keep the
    embedding's own (random) initialisation and are always trained. ``freeze`` keeps the
    pretrained entries (the first d columns of the rows given a vector) fixed in training
    (`freeze_entries`); every other entry trains. Returns the rows set from vectors.

    >>> table = nn.Embedding(3, 4, padding_idx=0)
    >>> v = Vectors(2, {"eu": np.array([1.0, 2.0], dtype=np.float32)}, 2, True, "")
    >>> init_embedding(table, ["<pad>", "eu", "zebra"], v), table.weight[1, :2].tolist()
    (1, [1.0, 2.0])
    """
    d = vectors.dim
    if embedding.embedding_dim < d:
        raise InputError(dimension_error(vectors.source, d, embedding.embedding_dim))
    rows = [k for k, w in enumerate(words) if w in vectors.vectors]
    if not rows:
        return 0
    with torch.no_grad():
        table = np.stack([vectors.vectors[words[k]] for k in rows])
        generator = torch.Generator().manual_seed(seed)
        std = float(table.std()) or 1.0
        weight = torch.randn(embedding.num_embeddings, d, generator=generator) * std
        weight[rows] = torch.from_numpy(table)
        if embedding.padding_idx is not None:
            weight[embedding.padding_idx] = 0
        embedding.weight[:, :d].copy_(weight)
    if freeze:
        mask = torch.zeros(embedding.weight.shape, dtype=torch.bool, device=embedding.weight.device)
        mask[rows, :d] = True
        freeze_entries(embedding, mask)
    return len(rows)
