"""What every estimator shares: its settings (config dataclasses) to and from a run's
config.json, and the refusal to predict before it is trained. The contract itself, the same
methods in the same order, is `check`, `fit`, `predict`, `state` and `from_state` (see
`rnnkit.models.forecaster.Forecaster`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar, Self

from torch import nn

from rnnkit.configs import configs_from
from rnnkit.errors import InputError


class Estimator:
    """Base of the estimators: ``SETTINGS`` names each settings dataclass by its config.json
    key, its class and the attribute that holds it, in the constructor's order; ``NAME`` is
    what messages call the estimator. What `fit` learns is declared on the class with its
    untrained value; ``net``, the network, is set last, so an estimator with a ``net`` is
    trained."""

    SETTINGS: ClassVar[tuple[tuple[str, type, str], ...]]
    NAME: ClassVar[str]
    net: nn.Module | None = None

    def __init__(self, *settings: Any) -> None:
        """Hold each settings dataclass, in ``SETTINGS``' order."""
        for (_, _, attribute), given in zip(self.SETTINGS, settings, strict=True):
            setattr(self, attribute, given)

    def settings(self) -> dict[str, Any]:
        """What rebuilds this estimator untrained, JSON-ready: each settings dataclass by its
        key (the learned state is `state`'s)."""
        return {key: asdict(getattr(self, attribute)) for key, _, attribute in self.SETTINGS}

    @classmethod
    def from_settings(cls, entries: dict[str, Any], where: str) -> Self:
        """An untrained estimator with the settings `settings` wrote (``where`` names the file
        for messages)."""
        return cls(*configs_from(entries, where, **{key: kind for key, kind, _ in cls.SETTINGS}))

    def check_trained(self) -> None:
        """Raise `InputError` unless `fit` or `from_state` has given this estimator its
        network."""
        if self.net is None:
            raise InputError(f"this {self.NAME} is not trained yet; call fit() or load a run")
