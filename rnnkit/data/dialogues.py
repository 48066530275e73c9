"""Multi-turn dialogues for a chatbot: readers that validate, exact-duplicate and train/test
overlap removal, and (context, reply) pairs with the last k turns as context.

Two formats: DailyDialog's (Li et al. 2017), one dialogue per line with the turns separated by
``__eou__``; and JSON lines, one object per dialogue with a list of turns under ``"turns"``.

    train = deduplicate(read_dialogues("dialogues_train.txt"))
    test = remove_overlap(deduplicate(read_dialogues("dialogues_test.txt")), train)
    pairs = build_pairs(test, context_turns=3)
    pairs.source[0], pairs.target[0]   # "hi __eou__ hello , how are you ?", "fine , thanks ."

The turn token ``__eou__`` also separates the turns of a context, so the encoder sees where one
speaker stops (the word tokenizer keeps it one token).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rnnkit.data.parallel import read_sentences
from rnnkit.errors import InputError

TURN = "__eou__"


@dataclass
class Dialogues:
    """Dialogues (each a list of turns, in order) read from ``origin``; ``duplicates``: exact
    duplicates removed by `deduplicate`; ``overlap``: dialogues removed by `remove_overlap`
    because they were in the training set."""

    dialogues: list[list[str]]
    origin: str
    duplicates: int = 0
    overlap: int = 0

    def __len__(self) -> int:
        return len(self.dialogues)


def _clean(turn: str) -> str:
    """A turn with its whitespace collapsed."""
    return " ".join(turn.split())


def read_dialogues(path: str | Path) -> Dialogues:
    """Read dialogues: DailyDialog text (``__eou__`` between turns; any suffix but .jsonl),
    or JSON lines with a ``"turns"`` list per object (``.jsonl``/``.json``).

    Blank lines are skipped; a dialogue with fewer than two turns, a JSON line that is not
    an object with a list of texts under ``"turns"``, a file that is not UTF-8 or has no
    dialogue: `InputError` naming the file and line.
    """
    path = Path(path)
    json_lines = path.suffix.lower() in (".jsonl", ".json")
    dialogues = []
    for k, line in enumerate(read_sentences(path), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {k}"
        if json_lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{where}: not JSON ({err.msg}); give one object per "
                                 'dialogue: {"turns": ["...", "..."]}') from err
            turns = record.get("turns") if isinstance(record, dict) else None
            if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
                raise InputError(f'{where}: expected an object with a list of texts under '
                                 '"turns"')
        else:
            turns = line.split(TURN)
        turns = [_clean(t) for t in turns if t.strip()]
        if len(turns) < 2:
            raise InputError(f"{where}: a dialogue needs at least two turns; found "
                             f"{len(turns)} (separate turns with {TURN})")
        dialogues.append(turns)
    if not dialogues:
        raise InputError(f"{path} has no dialogues")
    return Dialogues(dialogues, str(path))


def _key(turns: Sequence[str]) -> tuple[str, ...]:
    """What makes two dialogues the same: their turns word for word (spacing ignored)."""
    return tuple(turns)


def deduplicate(data: Dialogues) -> Dialogues:
    """``data`` with every exact repeat of an earlier dialogue removed (counted in
    ``duplicates``); order kept."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for turns in data.dialogues:
        key = _key(turns)
        if key not in seen:
            seen.add(key)
            kept.append(turns)
    return replace(data, dialogues=kept, duplicates=data.duplicates + len(data) - len(kept))


def remove_overlap(data: Dialogues, train: Dialogues) -> Dialogues:
    """``data`` without the dialogues that ``train`` holds word for word (counted in
    ``overlap``). All removed is an `InputError`."""
    known = {_key(turns) for turns in train.dialogues}
    kept = [turns for turns in data.dialogues if _key(turns) not in known]
    if not kept:
        raise InputError(f"every dialogue of {data.origin} is also in {train.origin}; score on "
                         "held-out dialogues")
    return replace(data, dialogues=kept, overlap=data.overlap + len(data) - len(kept))


def context(turns: Sequence[str], context_turns: int) -> str:
    """The last ``context_turns`` turns joined by the turn token (what the encoder reads).

    Example:
        >>> context(["hi", "hello , how are you ?", "fine ."], 2)
        'hello , how are you ? __eou__ fine .'
    """
    return f" {TURN} ".join(turns[-context_turns:])


@dataclass
class DialoguePairs:
    """(context, reply) pairs: ``source[k]`` is the context of reply ``target[k]``."""

    source: list[str]
    target: list[str]

    def __len__(self) -> int:
        return len(self.source)


def build_pairs(data: Dialogues, context_turns: int) -> DialoguePairs:
    """One pair per turn after the first: the preceding ``context_turns`` turns and the
    turn itself."""
    if context_turns < 1:
        raise InputError(f"--context-turns {context_turns}; expected at least 1")
    pairs = DialoguePairs([], [])
    for turns in data.dialogues:
        for t in range(1, len(turns)):
            pairs.source.append(context(turns[:t], context_turns))
            pairs.target.append(turns[t])
    return pairs
