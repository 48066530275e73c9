"""The training settings every estimator shares (`TrainSettings`), and their checks."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rnnkit.errors import InputError
from rnnkit.train.device import resolve_device, training_precision

#: Schedules that set the rate once per epoch: epoch (0-based) -> factor on ``lr``.
EPOCH_FACTORS: dict[str, Callable[[int], float]] = {
    # the rate halves after every epoch: epoch k gets lr * 0.5**k (the LTSF codebases'
    # "type1" halves one epoch later: lr for epochs 0 and 1, then lr * 0.5**(k-1) for k >= 1)
    "halving": lambda epoch: 0.5 ** epoch,
    # epoch k gets lr * 0.8**max(0, k-3): lr for four epochs, then x0.8 after each; exactly
    # SegRNN's "type3" (Lin et al. 2023), whose loop gives epoch k lr if k < 3 else lr * 0.8**(k-3)
    "decay": lambda epoch: 0.8 ** max(0, epoch - 3),
}
#: What `rnnkit.train.fit.fit` can follow: constant, cosine (step by step) and the above.
LR_SCHEDULES = ("constant", "cosine", *EPOCH_FACTORS)


def check_lr_schedule(name: str) -> None:
    """Raise `InputError` unless ``name`` is one of `LR_SCHEDULES`."""
    if name not in LR_SCHEDULES:
        raise InputError(f"--lr-schedule {name!r} is not known; choose one of "
                         f"{', '.join(LR_SCHEDULES)}")


def check_training_settings(settings: object, counts: Sequence[str]) -> None:
    """Raise `InputError` naming the first bad common setting of ``settings``: any of the
    ``counts`` (e.g. epochs, batch_size) below 1, a learning rate ``lr`` that is not
    positive, or a time budget ``max_minutes`` or learning-rate schedule ``lr_schedule``
    (when the settings have one) that is not valid."""
    for name in counts:
        if getattr(settings, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} {getattr(settings, name)}; "
                             "expected at least 1")
    if settings.lr <= 0:
        raise InputError(f"--lr {settings.lr}; expected a positive learning rate")
    budget = getattr(settings, "max_minutes", None)
    if budget is not None and budget <= 0:
        raise InputError(f"--max-minutes {budget}; expected a positive time")
    if hasattr(settings, "lr_schedule"):
        check_lr_schedule(settings.lr_schedule)


#: Where a run's per-epoch metrics go besides metrics.json: Lightning's loggers.
LOGGERS = ("csv", "tensorboard", "none")
#: Lightning's precision plugins that training can use: float32, or mixed precision (the
#: forward and backward under autocast, the weights, losses and optimiser state in float32).
PRECISIONS = ("32", "bf16-mixed", "16-mixed")


@dataclass
class TrainSettings:
    """How a network is trained: the settings every estimator shares (each group has its own
    defaults, e.g. `rnnkit.models.forecaster.TRAINING`), stored in a run's config.json.

    Example:
        >>> TrainSettings(epochs=5, lr=2e-3).validate()
        >>> TrainSettings(epochs=0).validate()
        Traceback (most recent call last):
        ...
        rnnkit.errors.InputError: --epochs 0; expected at least 1
    """

    epochs: int = 10  # upper bound: early stopping and the time budget may end sooner
    batch_size: int = 32
    lr: float = 1e-3  # Adam's learning rate (Kingma & Ba 2015)
    weight_decay: float = 0.0
    clip: float | None = 1.0  # max global gradient norm (None: no clipping; Pascanu et al. 2013)
    patience: int | None = 3  # epochs without a better validation result before stopping
    lr_schedule: str = "constant"  # one of LR_SCHEDULES
    ema: float | None = None  # decay of a moving average of the weights that is kept instead
    max_minutes: float | None = None  # time budget: no epoch starts that would end past it
    seed: int = 0
    device: str = "auto"  # auto, cpu or cuda
    logger: str = "csv"  # one of LOGGERS, written into the run folder
    precision: str = "32"  # one of PRECISIONS (see rnnkit.train.device.training_precision)

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting (``16-mixed`` without a CUDA
        device among them)."""
        check_training_settings(self, ("epochs", "batch_size"))
        if self.patience is not None and self.patience < 1:
            raise InputError(f"--patience {self.patience}; expected at least 1")
        if self.ema is not None and not 0 < self.ema < 1:
            raise InputError(f"--ema {self.ema}; expected a decay between 0 and 1, e.g. 0.998")
        if self.clip is not None and self.clip <= 0:
            raise InputError(f"--clip {self.clip}; expected a positive gradient norm")
        if self.precision not in PRECISIONS:
            raise InputError(f"--precision {self.precision!r} is not known; choose one of "
                             f"{', '.join(PRECISIONS)}")
        if self.precision == "16-mixed":  # refused before anything is written
            training_precision(self.precision, resolve_device(self.device))
        if self.logger not in LOGGERS:
            raise InputError(f"--logger {self.logger!r} is not known; choose one of "
                             f"{', '.join(LOGGERS)}")
        if self.logger == "tensorboard" and not any(
                importlib.util.find_spec(name) for name in ("tensorboard", "tensorboardX")):
            raise InputError("--logger tensorboard needs the tensorboard package: pip install "
                             "tensorboard (or use --logger csv)")

    @property
    def max_seconds(self) -> float | None:
        """The time budget in seconds (None: none)."""
        return None if self.max_minutes is None else 60 * self.max_minutes
