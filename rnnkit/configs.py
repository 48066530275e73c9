"""Config dataclasses to and from JSON: what a run's config.json is rebuilt with."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from rnnkit.errors import InputError


def config_from_dict(cls: type, data: Any, where: str) -> Any:
    """Rebuild the config dataclass ``cls`` from a JSON object, refusing anything else and
    unknown keys (a tampered or foreign file); ``where`` names the file in the message."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object for {cls.__name__}, got {data!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{where}: unknown {cls.__name__} keys {unknown}; known: {sorted(known)}")
    return cls(**data)


def split_settings(given: dict[str, Any], *classes: type) -> list[dict[str, Any]]:
    """``given`` split by which dataclass of ``classes`` has each key as a field (the first
    that has it); a key none of them has is an `InputError`."""
    parts: list[dict[str, Any]] = [{} for _ in classes]
    for key, value in given.items():
        for part, cls in zip(parts, classes, strict=True):
            if key in {f.name for f in fields(cls)}:
                part[key] = value
                break
        else:
            raise InputError(f"unknown setting {key!r}")
    return parts


def configs_from(entries: dict[str, Any], where: str, /, **classes: type) -> list[Any]:
    """The config dataclasses named by ``classes`` (e.g. ``model=ForecasterConfig,
    train=TrainSettings``), each rebuilt from its entry of ``entries`` (a run's config.json),
    in that order; a missing or malformed entry is an `InputError` naming it."""
    configs = []
    for key, cls in classes.items():
        if key not in entries:
            raise InputError(f"{where}: missing entry {key!r}; the file was not written by "
                             "this version of rnnkit")
        try:
            configs.append(config_from_dict(cls, entries[key], where))
        except TypeError as err:
            raise InputError(f"{where}: malformed entry {key!r} ({err})") from err
    return configs
