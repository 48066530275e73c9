"""The one LightningModule: any ``nn.Module`` and a loss. Training wraps models, not the reverse."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from rnnkit.errors import TrainingDiverged


def call(model: nn.Module, x: Tensor | tuple[Tensor, ...]) -> Tensor:
    """``model(x)``, or ``model(*x)`` when a batch's inputs are a tuple."""
    return model(*x) if isinstance(x, tuple | list) else model(x)


def to_float32(output: Any) -> Any:
    """``output`` with every floating-point tensor in float32, through tuples (named ones
    too), lists and dicts: a network's outputs made ready for a float32 loss."""
    if isinstance(output, Tensor):
        return output.float() if output.is_floating_point() else output
    if isinstance(output, tuple) and hasattr(output, "_fields"):
        return type(output)(*(to_float32(o) for o in output))
    if isinstance(output, tuple | list):
        return type(output)(to_float32(o) for o in output)
    if isinstance(output, dict):
        return {k: to_float32(v) for k, v in output.items()}
    return output


def float32_loss(loss: Callable[[Any, Any], Tensor], output: Any, target: Any,
                 device_type: str) -> Tensor:
    """``loss(output, target)`` in float32 with autocast off on ``device_type`` ("cpu",
    "cuda"), whatever precision the network ran in: log-softmax over a vocabulary, CRF and
    likelihood terms and the sums of a loss lose too much in bfloat16 or float16
    (Micikevicius et al. 2018, mixed precision training)."""
    with torch.autocast(device_type, enabled=False):
        return loss(to_float32(output), target)


class TrainModule(pl.LightningModule):
    """Trains ``model`` on batches ``(x, y)`` to minimise ``loss(model(x), y)`` with Adam.

    ``x`` is a tensor or a tuple of tensors (then ``model(*x)``, e.g. tokens and lengths).

    Under a mixed precision (Lightning's plugin runs each step under autocast) the network's
    forward runs in the lower precision, the loss in float32 (`float32_loss`); validation
    runs in float32, like the untrained model's validation loss it is compared with.
    ``fused=False`` keeps Adam off its fused kernel, which Lightning will not clip gradients
    for under a mixed precision (the kernel unscales gradients itself).

    Losses are summed as tensors and read once per epoch with `pop_epoch_mean` (logging every
    step through Lightning costs more than a small model's step).
    """

    def __init__(
        self,
        model: nn.Module,
        loss: Callable[[Tensor, Tensor], Tensor],
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        fused: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        self.loss = loss
        self.lr = lr
        self.weight_decay = weight_decay
        self.fused = fused
        self._sums: dict[str, list[Tensor | int]] = {}

    def forward(self, x: Tensor | tuple[Tensor, ...]) -> Tensor:
        """The wrapped model's forward on one batch's inputs."""
        return call(self.model, x)

    def _accumulate(self, stage: str, loss: Tensor, n: int) -> None:
        total = self._sums.setdefault(stage, [torch.zeros((), device=loss.device), 0])
        total[0] = total[0] + loss.detach() * n
        total[1] += n

    def _world_size(self) -> int:
        return self._trainer.world_size if self._trainer is not None else 1

    def pop_epoch_mean(self, stage: str) -> float | None:
        """Mean loss of ``stage`` ("train_loss" or "val_loss") since the last call, or None.

        With several processes (DDP) it is the mean over all of them; every process must
        call it (it sums the totals across processes)."""
        total, count = self._sums.pop(stage, (None, 0))
        if self._world_size() > 1:
            both = torch.tensor([0.0 if total is None else float(total), count],
                                dtype=torch.float64, device=self.device)
            total, count = self.trainer.strategy.reduce(both, reduce_op="sum").tolist()
        return float(total) / count if count else None

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """Loss on one training batch."""
        x, y = batch
        loss = float32_loss(self.loss, call(self.model, x), y, self.device.type)
        finite = bool(torch.isfinite(loss))  # one scalar check: cheap beside a recurrent step
        if self._world_size() > 1:  # all processes stop together, or the others would wait
            finite = self.trainer.strategy.reduce_boolean_decision(finite, all=True)
        if not finite:
            raise TrainingDiverged(
                f"training loss became {float(loss.detach())} in epoch "
                f"{self.current_epoch + 1}, step {batch_idx + 1}; the weights of the last good "
                "epoch are kept. Lower --lr or clip gradients"
            )
        self._accumulate("train_loss", loss, len(y))
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Accumulate the loss on one validation batch."""
        x, y = batch
        with torch.autocast(self.device.type, enabled=False):
            self._accumulate("val_loss", self.loss(call(self.model, x), y), len(y))

    def configure_optimizers(self) -> Any:
        """Adam (Kingma & Ba 2015), the tutorial's optimiser (see `adam`)."""
        return adam(self.model.parameters(), self.lr, self.weight_decay, self.fused)


#: Devices with torch's fused Adam kernel: one kernel updates every parameter, instead of a
#: loop of small operations per parameter tensor.
FUSED_ADAM_DEVICES = ("cpu", "cuda")


def adam(params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0,
         fused: bool = True) -> torch.optim.Adam:
    """Adam over ``params``, with the fused kernel (unless ``fused`` is False) where every
    parameter is a floating-point tensor on a device that has it (the same update as the loop,
    up to rounding)."""
    params = list(params)
    fused = fused and bool(params) and all(
        p.is_floating_point() and p.device.type in FUSED_ADAM_DEVICES for p in params)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused or None)
