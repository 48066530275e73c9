"""What the ``predict`` commands read: texts given on the command line, or a file."""

from __future__ import annotations

from collections.abc import Sequence

from rnnkit.errors import InputError


def command_line(texts: Sequence[str], file: str | None, what: str, noun: str,
                 option: str = "--file") -> list[str] | None:
    """The texts given on the command line, or None where they come from ``file``.

    `InputError` when both or neither are given, or when a text is blank; ``what`` and
    ``noun`` name them in the messages ("sentences to tag", "sentence"), ``option`` the file's.

    Example:
        >>> command_line(["a fine film", "dull"], None, "texts to classify", "text")
        ['a fine film', 'dull']
        >>> command_line([], "reviews.tsv", "texts to classify", "text") is None
        True
        >>> command_line(["ok", " "], None, "texts to classify", "text")
        Traceback (most recent call last):
        rnnkit.errors.InputError: text 2 of the command line is empty; give some words
    """
    if bool(texts) == (file is not None):
        raise InputError(f"give the {what} as arguments or {option} FILE, not both and not "
                         "neither")
    if file is not None:
        return None
    for k, text in enumerate(texts, start=1):
        if not text.strip():
            raise InputError(f"{noun} {k} of the command line is empty; give some words")
    return list(texts)
