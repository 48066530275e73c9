"""What every estimator shares: its settings (config dataclasses) to and from a run's
config.json. The contract itself, the same methods in the same order, is `check`, `fit`,
`predict`, `state` and `from_state` (see `rnnkit.models.forecaster.Forecaster`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar, Self

from rnnkit.configs import configs_from


class Estimator:
    """Base of the estimators: ``SETTINGS`` names each settings dataclass by its config.json
    key, its class and the attribute that holds it, in the constructor's order."""

    SETTINGS: ClassVar[tuple[tuple[str, type, str], ...]]

    def settings(self) -> dict[str, Any]:
        """What rebuilds this estimator untrained, JSON-ready: each settings dataclass by its
        key (the learned state is `state`'s)."""
        return {key: asdict(getattr(self, attribute)) for key, _, attribute in self.SETTINGS}

    @classmethod
    def from_settings(cls, entries: dict[str, Any], where: str) -> Self:
        """An untrained estimator with the settings `settings` wrote (``where`` names the file
        for messages)."""
        return cls(*configs_from(entries, where, **{key: kind for key, kind, _ in cls.SETTINGS}))
