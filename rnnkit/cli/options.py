"""What every training command shares: the options of how many processes train (Lightning's
DDP), and the set-up before training."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rnnkit.train.distributed import Parallel

DEVICES = typer.Option(1, help="Training processes per machine: GPUs, or CPU processes "
                               "(more than 1: distributed data-parallel, see README).")
STRATEGY = typer.Option("auto", help="auto or ddp (one process per device, gradients averaged).")
NUM_NODES = typer.Option(1, help="Machines taking part (each started by torchrun or SLURM).")
MAX_MINUTES = typer.Option(None, help="Time budget: no epoch starts that would end past it.")
LR_SCHEDULE = typer.Option(None, help="Learning-rate schedule (default: the group's): "
                                      "constant; cosine (to 0 over the epochs, or by the end "
                                      "of the time budget where there is one); halving (each "
                                      "epoch); decay (x0.8 per epoch after four).")


def start_training(device: str, threads: int, devices: int, strategy: str,
                   num_nodes: int) -> Parallel:
    """What every training command does first: check the device, set the CPU threads and
    check the process settings (`InputError` on a bad one); returns the `Parallel` to train
    with."""
    from rnnkit.train.device import resolve_device, set_cpu_threads
    from rnnkit.train.distributed import Parallel

    resolve_device(device)
    set_cpu_threads(threads)
    parallel = Parallel(devices, strategy, num_nodes)
    parallel.validate()
    return parallel


def settings_for(cls: type, given: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``given`` that are fields of the dataclass ``cls``."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in given.items() if k in names}
