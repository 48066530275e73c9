"""The checks that the settings dataclasses share: each raises `InputError` with a message that
names the option, the value given and what the option takes."""

from __future__ import annotations

from collections.abc import Sequence

from rnnkit.errors import InputError


def check_choice(option: str, value: str, choices: Sequence[str]) -> None:
    """Raise `InputError` unless ``value`` (of ``--option``) is one of ``choices``.

    >>> check_choice("pooling", "sum", ("last", "max"))
    Traceback (most recent call last):
    rnnkit.errors.InputError: --pooling 'sum' is not known; choose one of last, max
    """
    if value not in choices:
        raise InputError(f"--{option} {value!r} is not known; choose one of "
                         f"{', '.join(choices)}")


def check_counts(settings: object, names: Sequence[str]) -> None:
    """Raise `InputError` naming the first field of ``names`` in ``settings`` that is below 1
    (each a count: layers, units, tokens, ...)."""
    for name in names:
        if getattr(settings, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} {getattr(settings, name)}; "
                             "expected at least 1")


def check_fractions(settings: object, names: Sequence[str]) -> None:
    """Raise `InputError` naming the first field of ``names`` in ``settings`` outside [0, 1)
    (each a rate such as a dropout probability).

    >>> from types import SimpleNamespace
    >>> check_fractions(SimpleNamespace(dropout=1.0), ("dropout",))
    Traceback (most recent call last):
    rnnkit.errors.InputError: dropout=1.0; expected a value in [0, 1)
    """
    for name in names:
        if not 0 <= getattr(settings, name) < 1:
            raise InputError(f"{name}={getattr(settings, name)}; expected a value in [0, 1)")
