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
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from torch import Tensor, nn
from torch.utils.data import DataLoader

from rnnkit.errors import InputError, TrainingDiverged
from rnnkit.train.checkpoint import (
    Checkpoint,
    has_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from rnnkit.train.device import resolve_device, training_precision
from rnnkit.train.distributed import (
    Parallel,
    epoch_seed,
    is_main_process,
    local_rank,
    shard_loader,
)
from rnnkit.train.module import TrainModule, call
from rnnkit.train.settings import EPOCH_FACTORS, TrainSettings

for _name in ("lightning.pytorch", "lightning.fabric", "lightning"):
    logging.getLogger(_name).setLevel(logging.ERROR)  # no banners ("GPU available: ...")


@dataclass
class FitResult:
    """What training did: per-epoch mean losses, the epoch whose weights were kept, the time.

    ``best_epoch`` is 0 when the untrained model was best on validation (its weights kept),
    else the 1-based epoch; None without validation (the last weights are kept). The history
    has ``train_loss``, ``val_loss`` and, with a ``val_score``, ``val_score`` per epoch.

    Networks trained one after another (an ensemble's members, see `FitResult.of_members`)
    have one result each in ``members``; the whole has no epochs of its own (empty history,
    no best epoch), its time is theirs summed.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    seconds: float = 0.0
    stopped_early: bool = False
    out_of_time: bool = False  # stopped because another epoch would pass ``max_seconds``
    members: list[FitResult] = field(default_factory=list)
    precision: str = "32"  # the Lightning precision trained with (see `training_precision`)
    precision_note: str | None = None  # why it differs from the one asked for, if it does

    @classmethod
    def of_members(cls, results: list[FitResult]) -> FitResult:
        """One result for networks trained in turn, each with its own `FitResult`."""
        return cls(history={"train_loss": [], "val_loss": []},
                   seconds=sum(r.seconds for r in results),
                   stopped_early=all(r.stopped_early for r in results),
                   out_of_time=any(r.out_of_time for r in results), members=list(results),
                   precision=results[0].precision if results else "32",
                   precision_note=results[0].precision_note if results else None)

    @property
    def epochs_run(self) -> int:
        """Epochs trained (summed over the members for an ensemble)."""
        if self.members:
            return sum(r.epochs_run for r in self.members)
        return len(self.history.get("train_loss", []))

    def report(self) -> dict[str, Any]:
        """JSON-ready facts: seconds, epochs run, the kept epoch, whether it stopped early, the
        precision trained with (and why, where it is not the one asked for), the history;
        with members, each member's."""
        facts: dict[str, Any] = {"seconds": self.seconds, "epochs_run": self.epochs_run,
                                 "best_epoch": self.best_epoch,
                                 "stopped_early": self.stopped_early,
                                 "precision": self.precision, "history": self.history}
        if self.precision_note is not None:
            facts["precision_note"] = self.precision_note
        if self.members:
            facts["members"] = [r.report() for r in self.members]
        return facts


# Custom rather than Lightning's EarlyStopping + ModelCheckpoint: the kept weights stay in
# memory (no pickled .ckpt), the untrained model is the first candidate, and the resume
# checkpoint must hold the random states too, for a bit-identical resume after SIGKILL.
# The learning rate is set here rather than by a scheduler from configure_optimizers: the
# cosine horizon is re-planned by the time budget after every epoch. One bar over epochs
# replaces Lightning's per-batch bars (a small model's epoch is a fraction of a second).
class _Tracker(pl.Callback):
    """Records epoch losses, keeps the best weights, stops early, checks for divergence,
    and draws one progress bar over epochs; optionally keeps an exponential moving average
    of the weights (validated, kept and returned instead of the raw weights) and sets the
    learning rate of every step (cosine schedule)."""

    def __init__(self, epochs: int, patience: int | None, initial: float | None, progress: bool,
                 model: nn.Module, score: Callable[[nn.Module], float] | None,
                 higher_is_better: bool, checkpoint_dir: Path | None = None,
                 sampler_generator: torch.Generator | None = None, average: float | None = None,
                 schedule: str = "constant", seed: int = 0) -> None:
        self.average, self.schedule = average, schedule
        self.shadow: list[Tensor] | None = None  # the averaged weights (with ``average``)
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
        self.checkpoint_dir = checkpoint_dir
        self.sampler_generator = sampler_generator
        self.seed = seed  # with several processes: their dropout seeds per epoch
        self.done = 0  # epochs completed before this fit call (resume)
        self.pending_optimizer: dict | None = None
        self.pending_precision: dict | None = None  # the loss scaler's state (16-mixed)
        self.epochs, self.progress, self.bar = epochs, progress, None
        self.horizon = epochs  # epochs the cosine schedule spans (a time budget may cut it)

    def resume(self, checkpoint: Checkpoint, model: nn.Module) -> None:
        """Continue from ``checkpoint``: weights, best weights, history, random states."""
        model.load_state_dict(checkpoint.model)
        self.last_good = copy.deepcopy(model.state_dict())
        self.best_state = checkpoint.best_state
        t = checkpoint.tracker
        self.result.history = t["history"]
        self.best, self.result.best_epoch = t["best"], t["best_epoch"]
        self.result.stopped_early = t["stopped_early"]
        self.done = checkpoint.epoch
        self.pending_optimizer = checkpoint.optimizer
        self.pending_precision = checkpoint.precision
        if self.average is not None and checkpoint.average is not None:
            named = dict(model.named_parameters())
            self.shadow = [checkpoint.average[k].to(named[k].device).clone() for k in named]
        set_rng_state(checkpoint.rng, self.sampler_generator)

    @staticmethod
    def _log(trainer: pl.Trainer, epoch: int, values: dict[str, float | None]) -> None:
        """One epoch's row for Lightning's loggers (they write on rank 0 only)."""
        for logger in trainer.loggers:
            logger.log_metrics({k: v for k, v in values.items() if v is not None}, step=epoch)

    def on_train_start(self, trainer: pl.Trainer, module: TrainModule) -> None:
        history = self.result.history
        for epoch in range(1, self.done + 1):  # a resumed run's log starts anew: its epochs so far
            self._log(trainer, epoch, {name: values[epoch - 1] if epoch <= len(values) else None
                                       for name, values in history.items()})
        if self.pending_optimizer is not None:
            trainer.optimizers[0].load_state_dict(self.pending_optimizer)
            self.pending_optimizer = None
        if self.pending_precision:
            trainer.precision_plugin.load_state_dict(self.pending_precision)
            self.pending_precision = None
        if self.average is not None and self.shadow is None:
            self.shadow = [p.detach().clone() for p in module.model.parameters()]
        if self.progress and trainer.is_global_zero:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.epochs, initial=self.done, desc="training", unit="epoch",
                            file=sys.stderr, dynamic_ncols=True, leave=False, mininterval=0.5)

    def _step(self, trainer: pl.Trainer, batch_idx: int) -> int:
        """Optimiser steps taken before this batch, over all epochs (resumed ones too)."""
        return (self.done + trainer.current_epoch) * trainer.num_training_batches + batch_idx

    def on_train_batch_start(self, trainer: pl.Trainer, module: TrainModule, batch: object,
                             batch_idx: int) -> None:
        if self.schedule == "cosine":  # from lr down to 0 over the planned epochs, step by step
            total = self.horizon * trainer.num_training_batches
            progress = min(1.0, self._step(trainer, batch_idx) / total)
            for group in trainer.optimizers[0].param_groups:
                group["lr"] = module.lr * 0.5 * (1 + math.cos(math.pi * progress))
        elif self.schedule in EPOCH_FACTORS and batch_idx == 0:  # per epoch
            factor = EPOCH_FACTORS[self.schedule](self.done + trainer.current_epoch)
            for group in trainer.optimizers[0].param_groups:
                group["lr"] = module.lr * factor

    def on_train_batch_end(self, trainer: pl.Trainer, module: TrainModule, outputs: object,
                           batch: object, batch_idx: int) -> None:
        if self.shadow is not None:  # early steps average faster (the TensorFlow warm-up)
            step = self._step(trainer, batch_idx) + 1
            weight = 1 - min(self.average, (1 + step) / (10 + step))
            with torch.no_grad():
                for s, p in zip(self.shadow, module.model.parameters(), strict=True):
                    s.lerp_(p.detach(), weight)

    def swap(self, model: nn.Module) -> None:
        """Exchange the model's weights with the averaged ones (no-op without averaging)."""
        if self.shadow is not None:
            with torch.no_grad():
                for s, p in zip(self.shadow, model.parameters(), strict=True):
                    raw = p.detach().clone()
                    p.copy_(s)
                    s.copy_(raw)

    def on_validation_epoch_start(self, trainer: pl.Trainer, module: TrainModule) -> None:
        self.swap(module.model)  # the validation loss of the averaged weights

    def on_validation_epoch_end(self, trainer: pl.Trainer, module: TrainModule) -> None:
        self.swap(module.model)

    def on_train_epoch_start(self, trainer: pl.Trainer, module: TrainModule) -> None:
        if trainer.world_size > 1:  # each process its own dropout draws, reproducible on resume
            epoch = self.done + trainer.current_epoch + 1
            torch.manual_seed(epoch_seed(self.seed, epoch, trainer.global_rank))

    def _save(self, trainer: pl.Trainer, module: TrainModule, epoch: int) -> None:
        tracker = {"history": self.result.history, "best": self.best,
                   "best_epoch": self.result.best_epoch,
                   "stopped_early": self.result.stopped_early}
        save_checkpoint(self.checkpoint_dir, Checkpoint(
            epoch=epoch, model=module.model.state_dict(),
            optimizer=trainer.optimizers[0].state_dict(),
            rng=rng_state(self.sampler_generator), best_state=self.best_state, tracker=tracker,
            precision=trainer.precision_plugin.state_dict(),
            average=None if self.shadow is None else dict(zip(
                (k for k, _ in module.model.named_parameters()), self.shadow, strict=True)),
        ))

    def on_train_epoch_end(self, trainer: pl.Trainer, module: TrainModule) -> None:
        epoch = self.done + trainer.current_epoch + 1
        train_loss = module.pop_epoch_mean("train_loss")
        self.result.history["train_loss"].append(math.nan if train_loss is None else train_loss)
        self.last_good = copy.deepcopy(module.model.state_dict())
        val_loss = module.pop_epoch_mean("val_loss")
        if val_loss is not None:
            self.result.history["val_loss"].append(val_loss)
        monitored = val_loss
        self.swap(module.model)  # scored and kept: the averaged weights, if any
        if self.score is not None:
            monitored = _score(self.score, module.model)
            self.result.history["val_score"].append(monitored)
        if trainer.world_size > 1:  # one decision for all processes: rank 0's
            monitored = trainer.strategy.broadcast(monitored)
        if monitored is not None:
            if self.best is None or self.sign * monitored < self.best:
                self.best, self.result.best_epoch = self.sign * monitored, epoch
                self.best_state = copy.deepcopy(module.model.state_dict())
            elif self.patience is not None and epoch - self.result.best_epoch >= self.patience:
                trainer.should_stop = True
                self.result.stopped_early = True
        self.swap(module.model)  # back to the raw weights to train on
        self._log(trainer, epoch, {"train_loss": train_loss, "val_loss": val_loss,
                                   "val_score": monitored if self.score is not None else None,
                                   "lr": trainer.optimizers[0].param_groups[0]["lr"]})
        if self.bar is not None:
            shown = {"loss": f"{train_loss:.4g}"}
            if val_loss is not None:
                shown["val"] = f"{val_loss:.4g}"
            if self.score is not None:
                shown["score"] = f"{monitored:.4g}"
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        if self.checkpoint_dir is not None and trainer.is_global_zero:
            self._save(trainer, module, epoch)

    def on_fit_end(self, trainer: pl.Trainer, module: TrainModule) -> None:
        if self.bar is not None:
            self.bar.close()


# Custom rather than Lightning's Timer, which stops mid-epoch or after the epoch that
# overran: this one lets no epoch start that would end past the budget.
class _Budget(pl.Callback):
    """Stops training after the epoch when another epoch as long as the longest so far would
    end past ``seconds`` since training started: a time budget that is overrun only when an
    epoch takes longer than every one before it (e.g. on a CPU that got busier).

    After every epoch it also tells the tracker how many epochs will fit in all (at most its
    ``epochs``), so that a cosine schedule reaches 0 when the budget ends."""

    def __init__(self, seconds: float, tracker: _Tracker) -> None:
        self.seconds, self.tracker = seconds, tracker
        self.start = self.last = time.perf_counter()
        self.longest = 0.0

    def on_train_start(self, trainer: pl.Trainer, module: TrainModule) -> None:
        self.start = self.last = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, module: TrainModule) -> None:
        now = time.perf_counter()
        self.longest, self.last = max(self.longest, now - self.last), now
        elapsed = now - self.start
        over = elapsed + self.longest > self.seconds
        fit_more = max(0, math.floor((self.seconds - elapsed) / max(self.longest, 1e-9)))
        horizon = min(self.tracker.epochs,
                      self.tracker.done + trainer.current_epoch + 1 + fit_more)
        if trainer.world_size > 1:  # one decision for all processes: rank 0's
            over, horizon = trainer.strategy.broadcast((over, horizon))
        self.tracker.horizon = horizon
        if over and not trainer.should_stop:
            trainer.should_stop = True
            self.tracker.result.out_of_time = True


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
    settings: TrainSettings | None = None,
    *,
    val_score: Callable[[nn.Module], float] | None = None,
    higher_is_better: bool = False,
    progress: bool = True,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    parallel: Parallel | None = None,
    log_dir: Path | None = None,
) -> FitResult:
    """Train ``model`` in place with Adam through Lightning and return its `FitResult`.

    ``settings`` (`TrainSettings`, its defaults when None) says how: epochs, learning rate,
    clipping, patience, schedule, weight averaging, time budget, seed, device, logger.
    With ``val``, the untrained model's validation loss is the first candidate, the weights of
    the best validation epoch are restored at the end, and ``patience`` (epochs without
    improvement) stops early. ``val_score(model)`` (e.g. dev accuracy or BLEU, computed in
    eval mode without gradients; ``higher_is_better`` says its direction) replaces the
    validation loss as what is monitored. ``clip`` clips the global gradient norm.

    ``ema`` (a decay in (0, 1), e.g. 0.999) keeps an exponential moving average of the
    weights, updated after every step (decay ``min(ema, (1 + t) / (10 + t))`` at step t): the
    averaged weights are the ones validated, kept as the best and returned (without ``val``,
    the final average is returned). ``lr_schedule`` ``"cosine"`` lowers the learning rate
    from ``lr`` to 0 along a half cosine over the ``epochs`` (step by step; with a time
    budget, over the epochs that fit in it, re-planned after each epoch from the longest
    epoch so far, so the rate reaches 0 when the budget ends); ``"halving"`` halves it after
    every epoch (0-based epoch k trains at ``lr / 2**k``); ``"decay"`` keeps it for four
    epochs, then multiplies it by 0.8 after each (``lr * 0.8**max(0, k - 3)``); ``"constant"``
    keeps it (see `rnnkit.train.settings.EPOCH_FACTORS`).

    With ``checkpoint_dir``, a checkpoint is written there at each epoch end (see
    `rnnkit.train.checkpoint`); ``resume`` continues from it and reaches the same weights as an
    uninterrupted run. With ``log_dir`` the per-epoch losses and scores also go to the
    Lightning logger that ``settings.logger`` names (``csv``: ``log_dir/logs/metrics.csv``);
    nothing else is written: no Lightning checkpoints, no ``lightning_logs/``.

    ``parallel`` trains with several processes (Lightning's DDP, see
    `rnnkit.train.distributed`): each takes its share of every batch and the gradients are
    averaged, so the steps are those of one process with the same batch size. Every process
    calls `fit` and returns the same weights and result; only rank 0 writes checkpoints.

    A time budget (``settings.max_minutes``) stops training after the epoch when one more
    epoch, as long as the longest so far, would end past it (``FitResult.out_of_time``); the
    best epoch so far is kept as usual.

    ``settings.precision`` is Lightning's precision plugin: ``"32"``, or ``"bf16-mixed"`` /
    ``"16-mixed"`` (each training step's forward and backward under autocast; the weights,
    the optimiser state, the loss (see `rnnkit.train.module.float32_loss`), validation and
    the scores stay float32). Without native bfloat16 on the device, ``bf16-mixed`` falls
    back to ``"32"`` with a note on stderr (see `rnnkit.train.device.training_precision`);
    ``FitResult.precision`` says what was used.
    """
    s = settings or TrainSettings()
    s.validate()
    epochs, seed = s.epochs, s.seed
    parallel = parallel or Parallel()
    parallel.validate()
    torch.manual_seed(seed)
    target = resolve_device(s.device)
    if target.type == "cuda" and parallel.world_size > 1:
        target = torch.device("cuda", local_rank())  # one GPU per process
    model.to(target)
    precision, note = training_precision(s.precision, target)
    if note is not None and is_main_process():
        print(note, file=sys.stderr)
    checkpoint = None
    if resume:
        if checkpoint_dir is None or not has_checkpoint(checkpoint_dir):
            raise InputError(f"nothing to resume: no checkpoint in {checkpoint_dir}")
        checkpoint = load_checkpoint(checkpoint_dir)
    if checkpoint is not None:
        initial = None  # restored with the tracker
    elif val_score is not None:
        initial = _score(val_score, model)
    else:
        initial = evaluate_loss(model, loss, val, target) if val is not None else None
    model.train()
    module = TrainModule(model, loss, lr=s.lr, weight_decay=s.weight_decay,
                         fused=precision == "32" or s.clip is None)
    tracker = _Tracker(epochs, s.patience, initial, progress, model, val_score,
                       higher_is_better, checkpoint_dir, _sampler_generator(train), s.ema,
                       s.lr_schedule, seed)
    tracker.result.precision, tracker.result.precision_note = precision, note
    if checkpoint is not None:
        tracker.resume(checkpoint, model)
        if tracker.done >= epochs or tracker.result.stopped_early:
            return _finish(model, tracker, target)
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        warnings.filterwarnings("ignore", message=".*(GPU|TPU|HPU) available.*")
        warnings.filterwarnings("ignore", message=".*have no `val_dataloader`.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        warnings.filterwarnings("ignore", message=".*Experiment logs directory.*")
        if parallel.world_size > 1:
            train, val = shard_loader(train), None if val is None else shard_loader(val)
        trainer = pl.Trainer(
            max_epochs=epochs - tracker.done,
            accelerator="gpu" if target.type == "cuda" else "cpu",
            devices=parallel.devices,
            num_nodes=parallel.num_nodes,
            strategy=parallel.lightning_strategy,
            use_distributed_sampler=False,  # shard_loader splits every batch instead
            logger=_logger(s.logger, log_dir),
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            gradient_clip_val=s.clip,
            precision=precision,
            callbacks=[tracker] if s.max_seconds is None else [
                tracker, _Budget(s.max_seconds, tracker)],
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
    return _finish(model, tracker, target)


def _logger(name: str, log_dir: Path | None) -> Logger | bool:
    """Lightning's logger ``name`` writing into ``log_dir/logs`` (False: none)."""
    if log_dir is None or name == "none":
        return False
    if name == "tensorboard":  # its package is checked by TrainSettings.validate
        return TensorBoardLogger(log_dir, name="logs", version="", default_hp_metric=False)
    return CSVLogger(log_dir, name="logs", version="")


def _finish(model: nn.Module, tracker: _Tracker, target: torch.device) -> FitResult:
    if tracker.best_state is not None:
        model.load_state_dict(tracker.best_state)
    else:
        tracker.swap(model)  # no validation: the final average, if any
    model.to(target).eval()
    return tracker.result


def _sampler_generator(loader: DataLoader) -> torch.Generator | None:
    """The generator that orders a loader's batches (to save and restore it), if any."""
    sampler = getattr(loader, "batch_sampler", None) or getattr(loader, "sampler", None)
    for _ in range(3):  # BatchSampler -> RandomSampler -> generator
        if sampler is None:
            return None
        generator = getattr(sampler, "generator", None)
        if isinstance(generator, torch.Generator):
            return generator
        sampler = getattr(sampler, "sampler", None)
    return None
