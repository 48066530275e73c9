"""Checks shared by every group's training settings (their ``TrainConfig.validate``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rnnkit.errors import InputError

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
