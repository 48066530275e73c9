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
from rnnkit.train.module import TrainModule, call

for _name in ("lightning.pytorch", "lightning.fabric", "lightning"):
    logging.getLogger(_name).setLevel(logging.ERROR)  # no banners ("GPU available: ...")


@dataclass
class FitResult:
    """What training did: per-epoch mean losses, the epoch whose weights were kept, the time.

    ``best_epoch`` is 0 when the untrained model was best on validation (its weights kept),
    else the 1-based epoch; None without validation (the last weights are kept). The history
    has ``train_loss``, ``val_loss`` and, with a ``val_score``, ``val_score`` per epoch.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    seconds: float = 0.0
    stopped_early: bool = False


class _Tracker(pl.Callback):
    """Records epoch losses, keeps the best weights, stops early, checks for divergence,
    and draws one progress bar over epochs."""

    def __init__(self, epochs: int, patience: int | None, initial: float | None, progress: bool,
                 model: nn.Module, score: Callable[[nn.Module], float] | None,
                 higher_is_better: bool) -> None:
        self.result = FitResult(history={"train_loss": [], "val_loss": []})
        if score is not None:
            self.result.history["val_score"] = []
        self.patience = patience
        self.score = score
        self.sign = -1.0 if higher_is_better else 1.0  # internally lower is better
        self.best = None if initial is None else self.sign * initial
        self.best_state = copy.deepcopy(model.state_dict()) if initial is not None else None
        self.last_good = copy.deepcopy(model.state_dict())  # weights after the last whole epoch
        self.result.best_epoch = 0 if initial is not None else None
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs, desc="training", unit="epoch", file=sys.stderr,
                            dynamic_ncols=True, leave=False, mininterval=0.5)

    def on_train_epoch_end(self, trainer: pl.Trainer, module: TrainModule) -> None:
        epoch = trainer.current_epoch + 1
        train_loss = module.pop_epoch_mean("train_loss")
        self.result.history["train_loss"].append(math.nan if train_loss is None else train_loss)
        self.last_good = copy.deepcopy(module.model.state_dict())
        val_loss = module.pop_epoch_mean("val_loss")
        if val_loss is not None:
            self.result.history["val_loss"].append(val_loss)
        monitored = val_loss
        if self.score is not None:
            monitored = _score(self.score, module.model)
            self.result.history["val_score"].append(monitored)
        if monitored is not None:
            if self.best is None or self.sign * monitored < self.best:
                self.best, self.result.best_epoch = self.sign * monitored, epoch
                self.best_state = copy.deepcopy(module.model.state_dict())
            elif self.patience is not None and epoch - self.result.best_epoch >= self.patience:
                trainer.should_stop = True
                self.result.stopped_early = True
        if self.bar is not None:
            shown = {"loss": f"{train_loss:.4g}"}
            if val_loss is not None:
                shown["val"] = f"{val_loss:.4g}"
            if self.score is not None:
                shown["score"] = f"{monitored:.4g}"
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)

    def on_fit_end(self, trainer: pl.Trainer, module: TrainModule) -> None:
        if self.bar is not None:
            self.bar.close()


def _score(score: Callable[[nn.Module], float], model: nn.Module) -> float:
    """``score(model)`` in eval mode without gradients, then back to training mode."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        value = float(score(model))
    model.train(was_training)
    return value


def _to(device: torch.device, x: Tensor | tuple[Tensor, ...]) -> Tensor | tuple[Tensor, ...]:
    return tuple(t.to(device) for t in x) if isinstance(x, tuple | list) else x.to(device)


@torch.no_grad()
def evaluate_loss(
    model: nn.Module, loss: Callable[[Tensor, Tensor], Tensor], loader: DataLoader,
    device: torch.device,
) -> float:
    """Mean loss of ``model`` over a loader (eval mode)."""
    model.eval()
    total, count = 0.0, 0
    for x, y in loader:
        total += float(loss(call(model, _to(device, x)), y.to(device))) * len(y)
        count += len(y)
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
    val_score: Callable[[nn.Module], float] | None = None,
    higher_is_better: bool = False,
) -> FitResult:
    """Train ``model`` in place with Adam through Lightning and return its `FitResult`.

    With ``val``, the untrained model's validation loss is the first candidate, the weights of
    the best validation epoch are restored at the end, and ``patience`` (epochs without
    improvement) stops early. ``val_score(model)`` (e.g. dev accuracy or BLEU, computed in
    eval mode without gradients; ``higher_is_better`` says its direction) replaces the
    validation loss as what is monitored. ``clip`` clips the global gradient norm. Nothing is
    written to disk: no logger, no checkpoints, no ``lightning_logs/``.
    """
    if epochs < 1:
        raise ValueError(f"epochs={epochs}; expected at least 1")
    torch.manual_seed(seed)
    target = resolve_device(device)
    model.to(target)
    if val_score is not None:
        initial = _score(val_score, model)
    else:
        initial = evaluate_loss(model, loss, val, target) if val is not None else None
    model.train()
    module = TrainModule(model, loss, lr=lr, weight_decay=weight_decay)
    tracker = _Tracker(epochs, patience, initial, progress, model, val_score, higher_is_better)
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
        try:
            trainer.fit(module, train_dataloaders=train, val_dataloaders=val)
        except TrainingDiverged:
            if tracker.bar is not None:
                tracker.bar.close()
            model.load_state_dict(tracker.best_state or tracker.last_good)
            raise
        tracker.result.seconds = time.perf_counter() - start
    if tracker.best_state is not None:
        model.load_state_dict(tracker.best_state)
    model.to(target).eval()
    return tracker.result
