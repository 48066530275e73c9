"""Training checkpoints for resuming: tensors in safetensors, the rest in JSON; no pickle.

A checkpoint holds everything the next epoch depends on: the weights, the optimiser's state,
the best weights so far, the history, the loss scaler's state (float16 mixed precision), and
the random states (torch's global generator, which drives dropout, and the sampler's
generator, which orders the batches). Restoring all of them makes a resumed run continue
exactly as the uninterrupted one would have (bit-identical on CPU). It is written at each
epoch end: the tensors to a new file, then ``checkpoint.json`` (atomically) naming it, which
is the commit point; older tensor files are then removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnkit.errors import InputError
from rnnkit.io.files import read_json, write_bytes, write_json

INDEX = "checkpoint.json"


@dataclass
class Checkpoint:
    """The state of a training run after ``epoch`` whole epochs."""

    epoch: int
    model: dict[str, Tensor]
    optimizer: dict[str, Any]
    rng: dict[str, Tensor]
    best_state: dict[str, Tensor] | None = None
    tracker: dict[str, Any] = field(default_factory=dict)
    average: dict[str, Tensor] | None = None  # moving average of the weights (fit's ``ema``)
    precision: dict[str, Any] = field(default_factory=dict)  # the loss scaler's (16-mixed)


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    tensors, scalars = {}, {"param_groups": state["param_groups"], "state": {}}
    for index, slots in state["state"].items():
        scalars["state"][str(index)] = {}
        for name, value in slots.items():
            if isinstance(value, Tensor):
                tensors[f"optim.{index}.{name}"] = value
            else:
                scalars["state"][str(index)][name] = value
    return tensors, scalars


def _unflatten_optimizer(tensors: dict[str, Tensor], scalars: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in scalars["state"].items()}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": scalars["param_groups"]}


def save_checkpoint(folder: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` into ``folder`` (see the module docstring for the protocol)."""
    from safetensors.torch import save

    folder = Path(folder)
    optim_tensors, optim_scalars = _flatten_optimizer(checkpoint.optimizer)
    tensors = {f"model.{k}": v for k, v in checkpoint.model.items()}
    tensors.update(optim_tensors)
    tensors.update({f"rng.{k}": v for k, v in checkpoint.rng.items()})
    if checkpoint.best_state is not None:
        tensors.update({f"best.{k}": v for k, v in checkpoint.best_state.items()})
    if checkpoint.average is not None:
        tensors.update({f"average.{k}": v for k, v in checkpoint.average.items()})
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    name = f"state-{checkpoint.epoch:05d}.safetensors"
    write_bytes(folder / name, save(tensors))
    write_json(folder / INDEX, {"epoch": checkpoint.epoch, "tensors": name,
                                "optimizer": optim_scalars, "tracker": checkpoint.tracker,
                                "precision": checkpoint.precision})
    for old in folder.glob("state-*.safetensors"):
        if old.name != name:
            old.unlink()


def load_checkpoint(folder: Path) -> Checkpoint:
    """Read the checkpoint in ``folder``; a missing or damaged one is an `InputError`."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    folder = Path(folder)
    index = read_json(folder / INDEX)
    try:
        tensors = load((folder / index["tensors"]).read_bytes())
    except (KeyError, OSError, SafetensorError) as err:
        raise InputError(f"{folder}: the checkpoint is damaged ({err}); cannot resume") from err

    def part(prefix: str) -> dict[str, Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    best, average = part("best."), part("average.")
    return Checkpoint(
        epoch=int(index["epoch"]), model=part("model."),
        optimizer=_unflatten_optimizer(tensors, index["optimizer"]), rng=part("rng."),
        best_state=best or None, tracker=index.get("tracker", {}), average=average or None,
        precision=index.get("precision", {}),
    )


def has_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` holds a checkpoint to resume from."""
    return (Path(folder) / INDEX).is_file()


def member_folder(folder: Path, k: int) -> Path:
    """Where member ``k`` of networks trained in turn (an ensemble) keeps its checkpoints."""
    return Path(folder) / f"member{k}"


def has_any_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` holds a checkpoint, its own or its first member's (networks trained
    in turn checkpoint each in `member_folder`)."""
    return has_checkpoint(folder) or has_checkpoint(member_folder(folder, 0))


def rng_state(sampler_generator: torch.Generator | None) -> dict[str, Tensor]:
    """The random states a resumed run needs: torch's (and CUDA's) and the batch order's."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    if sampler_generator is not None:
        state["sampler"] = sampler_generator.get_state()
    return state


def set_rng_state(state: dict[str, Tensor], sampler_generator: torch.Generator | None) -> None:
    """Restore what `rng_state` saved."""
    torch.set_rng_state(state["torch"])
    cuda = [state[k] for k in sorted(state) if k.startswith("cuda")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    if sampler_generator is not None and "sampler" in state:
        sampler_generator.set_state(state["sampler"])
