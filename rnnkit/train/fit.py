"""`fit`: train a model through Lightning with sane defaults and nothing left in the working dir."""

from __future__ import annotations

import copy
import logging
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from rnnkit.errors import TrainingDiverged
from rnnkit.train.device import resolve_device
from rnnkit.train.module import TrainModule

for _name in ("lightning.pytorch", "lightning.fabric", "lightning"):
    logging.getLogger(_name).setLevel(logging.ERROR)  # no banners ("GPU available: ...")


@dataclass
class FitResult:
    """What training did: per-epoch mean losses, the epoch whose weights were kept, the time.

    ``best_epoch`` is 0 when the untrained model was best on validation (its weights kept),
    else the 1-based epoch; None without validation (the last weights are kept).
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    seconds: float = 0.0
    stopped_early: bool = False


class _Tracker(pl.Callback):
    """Records epoch losses, keeps the best weights, stops early, checks for divergence,
    and draws one progress bar over epochs."""

    def __init__(self, epochs: int, patience: int | None, initial: float | None, progress: bool,
                 model: nn.Module) -> None:
        self.result = FitResult(history={"train_loss": [], "val_loss": []})
        self.patience = patience
        self.best = initial
        self.best_state = copy.deepcopy(model.state_dict()) if initial is not None else None
        self.result.best_epoch = 0 if initial is not None else None
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs, desc="training", unit="epoch", file=sys.stderr,
                            dynamic_ncols=True, leave=False, mininterval=0.5)

    def on_train_epoch_end(self, trainer: pl.Trainer, module: TrainModule) -> None:
        epoch = trainer.current_epoch + 1
        train_loss = module.pop_epoch_mean("train_loss")
        train_loss = math.nan if train_loss is None else train_loss
        if not math.isfinite(train_loss):
            raise TrainingDiverged(
                f"training loss became {train_loss} in epoch {epoch}; lower --lr or enable "
                "gradient clipping"
            )
        self.result.history["train_loss"].append(train_loss)
        val_loss = module.pop_epoch_mean("val_loss")
        if val_loss is not None:
            self.result.history["val_loss"].append(val_loss)
            if self.best is None or val_loss < self.best:
                self.best, self.result.best_epoch = val_loss, epoch
                self.best_state = copy.deepcopy(module.model.state_dict())
            elif self.patience is not None and epoch - self.result.best_epoch >= self.patience:
                trainer.should_stop = True
                self.result.stopped_early = True
        if self.bar is not None:
            shown = {"loss": f"{train_loss:.4g}"}
            if val_loss is not None:
                shown["val"] = f"{val_loss:.4g}"
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)

    def on_fit_end(self, trainer: pl.Trainer, module: TrainModule) -> None:
        if self.bar is not None:
            self.bar.close()


@torch.no_grad()
def evaluate_loss(
    model: nn.Module, loss: Callable[[Tensor, Tensor], Tensor], loader: DataLoader,
    device: torch.device,
) -> float:
    """Mean loss of ``model`` over a loader (eval mode)."""
    model.eval()
    total, count = 0.0, 0
    for x, y in loader:
        total += float(loss(model(x.to(device)), y.to(device))) * len(x)
        count += len(x)
    return total / max(count, 1)


def fit(
    model: nn.Module,
    loss: Callable[[Tensor, Tensor], Tensor],
    train: DataLoader,
    val: DataLoader | None = None,
    *,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    clip: float | None = None,
    patience: int | None = None,
    device: str = "auto",
    seed: int = 0,
    progress: bool = True,
) -> FitResult:
    """Train ``model`` in place with Adam through Lightning and return its `FitResult`.

    With ``val``, the untrained model's validation loss is the first candidate, the weights of
    the best validation epoch are restored at the end, and ``patience`` (epochs without
    improvement) stops early. ``clip`` clips the global gradient norm. Nothing is written to
    disk: no logger, no checkpoints, no ``lightning_logs/``.
    """
    if epochs < 1:
        raise ValueError(f"epochs={epochs}; expected at least 1")
    torch.manual_seed(seed)
    target = resolve_device(device)
    model.to(target)
    initial = evaluate_loss(model, loss, val, target) if val is not None else None
    model.train()
    module = TrainModule(model, loss, lr=lr, weight_decay=weight_decay)
    tracker = _Tracker(epochs, patience, initial, progress, model)
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        warnings.filterwarnings("ignore", message=".*(GPU|TPU|HPU) available.*")
        warnings.filterwarnings("ignore", message=".*have no `val_dataloader`.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        trainer = pl.Trainer(
            max_epochs=epochs,
            accelerator="gpu" if target.type == "cuda" else "cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            gradient_clip_val=clip,
            callbacks=[tracker],
            default_root_dir=scratch,
        )
        start = time.perf_counter()
        trainer.fit(module, train_dataloaders=train, val_dataloaders=val)
        tracker.result.seconds = time.perf_counter() - start
    if tracker.best_state is not None:
        model.load_state_dict(tracker.best_state)
    model.to(target).eval()
    return tracker.result
